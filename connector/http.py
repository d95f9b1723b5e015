"""One HTTP layer for every vendor: transport, auth, time-outs, retries, rate limit and clean errors.

A :class:`VendorClient` is built per action run from a connection and a vendor. It sends the
token only in the Authorization header (scheme from the vendor), retries what is worth retrying
with exponential backoff and jitter (honouring ``Retry-After``), holds to the connection's rate
limit, and turns every failure into one of the :mod:`connector.errors` classes with a one-line
message built from the method, the path and the vendor's own words, never from headers.

Writes are retried only where a retry cannot apply them twice: after a 429 (the vendor refused
before doing anything) or a connection that never opened; a POST that only reads (a search, an
aggregate) says ``read_only=True`` and is treated like a GET. Clients of one connection share
its rate limit within an event loop, so actions run at once (a playbook's ``for_each``) hold to
it together; a plugin may give a limiter shared further (the ``rate_limiter`` hook: the task
queue's, through Redis). Paged reads go through :meth:`VendorClient.pages` (:mod:`connector.walk`).

The client knows nothing of the run it serves beyond its id and its :class:`Counts`: mapping,
dry runs, resume points and output belong to the run context (:mod:`connector.context`).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connector import heap
from connector.clients import new_client
from connector.connections import Connection
from connector.errors import AuthError, BadInput, BadVendorAnswer, RetriableError, VendorError
from connector.paging import Paging
from connector.vendor import Vendor
from connector.walk import Walk

if TYPE_CHECKING:
    from connector.pool import ClientPool

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRY_AFTER_S = 60.0
Sleep = Callable[[float], Awaitable[None]]
Decode = Callable[[bytes], Any]
"""Reads a JSON body: ``orjson.loads``, or a vendor's reading of a page it knows."""


def is_safe(method: str, read_only: bool = False) -> bool:
    """Whether a request changes nothing: a GET-like method, or a POST that only reads (a search)."""
    return method.upper() in SAFE_METHODS or read_only


class Limiter(Protocol):
    """Waits for the next request slot of a connection (aiolimiter's AsyncLimiter, or a shared one)."""

    async def acquire(self) -> None:
        """Return once a request may go."""


@dataclass
class Counts:
    """What one action run cost so far: requests sent, retries, pages read."""

    requests: int = 0
    retries: int = 0
    pages: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as the envelope's meta spells them."""
        return {"requests": self.requests, "retries": self.retries, "pages": self.pages}


class Events(Protocol):
    """The lifecycle hooks the HTTP layer fires (pluggy's hook relay satisfies it).

    What a run cost is counted in the client's :class:`Counts`; the events let plugins observe it.
    """

    request_sent: Callable[..., Any]
    response_received: Callable[..., Any]
    retry_scheduled: Callable[..., Any]
    page_fetched: Callable[..., Any]
    total_known: Callable[..., Any]
    record_emitted: Callable[..., Any]
    items_processed: Callable[..., Any]
    rate_limiter: Callable[..., Any]


@dataclass
class VendorClient:
    """An authenticated, retrying, rate-limited client for one connection during one run."""

    connection: Connection
    vendor: Vendor
    events: Events
    transport: httpx.AsyncBaseTransport | None = None
    sleep: Sleep = asyncio.sleep
    run_id: str = ""
    """The run the events belong to (the runner sets it; a client used on its own has none)."""
    counts: Counts = field(default_factory=Counts)
    """Requests, retries and pages of this client, for the envelope's meta."""

    pool: ClientPool | None = None
    """Clients kept between runs (a server's): this run borrows its connection's and leaves it open."""

    def __post_init__(self) -> None:
        self.connection.check_transport_security()
        self._auth = {"Authorization": f"{self.vendor.auth_scheme} {self.connection.token()}"}
        if self.pool is None:
            self._http = new_client(self.connection, self.transport)
        else:
            self._http = self.pool.client(self.connection, self.transport)
        self._base_url = str(self._http.base_url).removesuffix("/")
        limit = self.connection.rate_limit
        self._rate = (limit.requests, limit.per_seconds) if limit else self.vendor.rate_limit

    def page_fetched(self, path: str, page: int, records: int) -> None:
        """Count and announce one page of a paged read (``page`` from 1); bindings paging by hand call it too."""
        self.counts.pages += 1
        self.events.page_fetched(run_id=self.run_id, vendor=self.vendor.name, path=path, page=page, records=records)

    async def aclose(self) -> None:
        """Close the client's connections, unless the client is a pool's."""
        if self.pool is None:
            await self._http.aclose()

    async def __aenter__(self) -> VendorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        raw: bool = False,
        read_only: bool = False,
        decode: Decode = orjson.loads,
    ) -> Any:
        """Send one request with retries; the decoded JSON answer (``raw``: the response itself).

        ``decode`` reads the body (a vendor's own reading of a page it knows, see :meth:`pages`);
        invalid JSON must raise ``orjson.JSONDecodeError`` from it, as ``orjson.loads`` does.
        ``read_only`` marks a POST that changes nothing (a search): retried like a GET.
        """
        method = method.upper()
        safe = is_safe(method, read_only)
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: _worth_retrying(exc, safe)),
            stop=stop_after_attempt(self.connection.retries + 1),
            wait=_backoff,
            sleep=self.sleep,
            before_sleep=lambda state: self._note_retry(method, path, state),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                return await self._send_once(method, path, params, json, raw, safe, number, decode)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def pages(
        self, path: str, params: dict[str, Any], paging: Paging, *, max_records: int | None = None,
        decode: Decode = orjson.loads,
    ) -> Walk:
        """Every page of a paged read, until the vendor says there are no more (or ``max_records`` were read).

        See :class:`connector.walk.Walk`: the next pages are fetched ahead; ``decode`` reads each
        page's body (see :meth:`request`).
        """

        async def fetch(query: dict[str, Any]) -> Any:
            return await self.request("GET", path, params=query, decode=decode)

        return Walk(
            fetch, f"{self.vendor.name}: GET {path}", params, paging, max_records=max_records,
            announce=lambda number, records: self.page_fetched(path, number, records),
        )

    def _limiter(self) -> Limiter:
        assert self._rate is not None
        shared = self.events.rate_limiter(connection=self.connection.name, base_url=self.connection.base_url,
                                          rate=self._rate)
        return shared if shared is not None else _loop_limiter(self.connection, self._rate)

    def _note_retry(self, method: str, path: str, state: RetryCallState) -> None:
        self.counts.retries += 1
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self.events.retry_scheduled(
            run_id=self.run_id,
            vendor=self.vendor.name,
            method=method,
            path=path,
            attempt=state.attempt_number,
            delay_s=delay,
            reason=str(error),
        )

    async def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        raw: bool,
        safe: bool,
        attempt: int,
        decode: Decode,
    ) -> Any:
        if self._rate is not None:
            await self._limiter().acquire()
        where = f"{self.vendor.name}: {method} {path}"
        self.counts.requests += 1
        self.events.request_sent(run_id=self.run_id, vendor=self.vendor.name, method=method, path=path, attempt=attempt)
        # The whole URL at once: joining the base and merging the query, httpx would parse it three times.
        query = f"?{httpx.QueryParams(params)}" if params else ""
        url = f"{self._base_url}/{path.lstrip('/')}{query}"
        started = time.perf_counter()
        try:
            response = await self._http.request(method, url, json=json, headers=self._auth)
        except httpx.InvalidURL as exc:
            # httpx caps a URL at 64 KiB: the input asked for a query no vendor would read.
            raise BadInput(f"{where}: the request cannot be sent: {exc}, its query {len(query):,} characters "
                           "(narrow the input)") from None
        except httpx.ConnectError as exc:
            raise _NotSent(f"{where}: cannot connect ({_reason(exc)})") from None
        except httpx.TimeoutException:
            raise RetriableError(f"{where}: timed out") from None
        except httpx.ProtocolError as exc:
            # h11 quotes the offending header or line ("Illegal header value b'...'"): only its kind is told.
            raise RetriableError(f"{where}: connection failed ({_protocol_reason(exc)})") from None
        except httpx.TransportError as exc:
            raise RetriableError(f"{where}: connection failed ({_reason(exc)})") from None
        # httpx binds a response and its (read, closed) byte stream to each other: that reference
        # cycle would keep each page's bytes alive until the next full garbage collection.
        response.stream = httpx.ByteStream(response.content)
        heap.body_read(len(response.content))
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.events.response_received(
            run_id=self.run_id,
            vendor=self.vendor.name,
            method=method,
            path=path,
            status=response.status_code,
            elapsed_ms=elapsed_ms,
            attempt=attempt,
        )
        self._raise_for_status(where, response)
        if raw:
            return response
        return self._decode(where, response, safe, decode)

    def _raise_for_status(self, where: str, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = self._detail(response)
        message = f"{where}: {status} {response.reason_phrase}" + (f": {detail}" if detail else "")
        if status == 429:
            raise _Refused(message, status, _retry_after(response))
        if status >= 500:
            raise RetriableError(message, status, _retry_after(response))
        if status in (401, 403):
            raise AuthError(message, status)
        raise VendorError(message, status)

    def _detail(self, response: httpx.Response) -> str | None:
        if _is_html(response):
            return "answered with an HTML page"
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            text = response.text.strip().splitlines()
            return text[0][:200] if text else None
        detail = self.vendor.error_detail(body)
        return detail[:300] if detail else None

    def _decode(self, where: str, response: httpx.Response, safe: bool, decode: Decode) -> Any:
        broken = RetriableError if safe else BadVendorAnswer
        if response.status_code == 204 or not response.content:
            return None
        if _is_html(response):
            raise broken(f"{where}: {response.status_code}: answered with an HTML page instead of JSON")
        try:
            return decode(response.content)
        except orjson.JSONDecodeError:
            raise broken(f"{where}: {response.status_code}: answered with invalid JSON (truncated body?)") from None


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], AsyncLimiter]] = (
    weakref.WeakKeyDictionary()
)


def _loop_limiter(connection: Connection, rate: tuple[float, float]) -> AsyncLimiter:
    # One limiter per connection and rate in each event loop: a limiter's waiters belong to the
    # loop that made them, and a later asyncio.run gets a fresh one.
    per_loop = _limiters.setdefault(asyncio.get_running_loop(), {})
    key = (connection.name, connection.base_url, rate)
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = AsyncLimiter(*rate)
    return limiter


class _Refused(RetriableError):
    """A 429: the vendor did nothing, so even a write may be sent again."""


class _NotSent(RetriableError):
    """The connection never opened, so even a write may be sent again."""


def _worth_retrying(error: BaseException, safe: bool) -> bool:
    if isinstance(error, _Refused | _NotSent):
        return True
    return safe and isinstance(error, RetriableError)


_exponential = wait_exponential_jitter(multiplier=0.5, max=20.0, jitter=0.5)


def _backoff(state: RetryCallState) -> float:
    """The vendor's Retry-After when it gave one, else exponential backoff with jitter."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, RetriableError) and error.retry_after is not None:
        return min(error.retry_after, MAX_RETRY_AFTER_S)
    return float(_exponential(state))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        # The HTTP-date form: fall back to backoff rather than parse calendars for a hint.
        return None


def _is_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def _protocol_reason(error: httpx.ProtocolError) -> str:
    side = "we sent" if isinstance(error, httpx.LocalProtocolError) else "the vendor sent"
    return f"{type(error).__name__}: {side} something that is not valid HTTP"


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:120] if text else type(error).__name__
