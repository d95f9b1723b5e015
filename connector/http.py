"""One HTTP layer for every vendor: auth, time-outs, retries, rate limit, paging and clean errors.

A :class:`VendorClient` is built per action run from a connection and a vendor. It sends the
token only in the Authorization header (scheme from the vendor), retries what is worth retrying
with exponential backoff and jitter (honouring ``Retry-After``), holds to the connection's rate
limit, and turns every failure into one of the :mod:`connector.errors` classes with a one-line
message built from the method, the path and the vendor's own words, never from headers.

Writes are retried only where a retry cannot apply them twice: after a 429 (the vendor refused
before doing anything) or a connection that never opened; a POST that only reads (a search, an
aggregate) says ``read_only=True`` and is treated like a GET. Clients of one connection share
its rate limit within an event loop, so actions run at once (a playbook's ``for_each``) hold to
it together. Paged reads go through
:meth:`VendorClient.pages`, which yields one page at a time so memory stays flat.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connector import __version__
from connector.connections import Connection
from connector.envelope import ErrorItem
from connector.errors import AuthError, BadInput, BadVendorAnswer, RetriableError, VendorError
from connector.vendor import Vendor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRY_AFTER_S = 60.0
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class PlannedRequest:
    """A write that a dry run would have sent (the token is never part of it)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The request as plain data for the envelope, headers shown redacted."""
        return {
            "method": self.method,
            "path": self.path,
            "params": self.params or {},
            "json": self.json,
            "headers": {"Authorization": "***"},
        }


@dataclass(frozen=True)
class Page:
    """One page of a paged read: its records, and the decoded body for totals and the like."""

    records: list[dict[str, Any]]
    body: Any


def query_value(value: Any) -> str | int:
    """A filter value as vendors read it in a query string: lists comma-separated, booleans true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return value if isinstance(value, int) else str(value)


class Paging(Protocol):
    """A paging style: where the records are in a page, and how to ask for the next one."""

    def records(self, body: Any) -> list[dict[str, Any]]:
        """The records of one decoded page."""

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query for the next page, or None when this page was the last."""


class Events(Protocol):
    """The lifecycle hooks the HTTP layer fires (pluggy's hook relay satisfies it).

    What a run cost (requests, retries, pages, records) is counted from these events by the
    built-in :mod:`connector.events.counters` plugin, not here.
    """

    request_sent: Callable[..., Any]
    response_received: Callable[..., Any]
    retry_scheduled: Callable[..., Any]
    page_fetched: Callable[..., Any]
    record_emitted: Callable[..., Any]
    items_processed: Callable[..., Any]


@dataclass
class VendorClient:
    """An authenticated, retrying, rate-limited client for one connection during one run."""

    connection: Connection
    vendor: Vendor
    events: Events
    transport: httpx.AsyncBaseTransport | None = None
    sleep: Sleep = asyncio.sleep
    dry_run: bool = False
    action: str = ""
    run_id: str = ""
    """The run the events belong to (the runner sets it; a client used on its own has none)."""
    planned: list[PlannedRequest] = field(default_factory=list)
    item_errors: list[ErrorItem] = field(default_factory=list)
    """Per-item failures of a bulk operation; any makes the envelope ``partial``."""
    nothing_succeeded: bool = False
    """Set by a bulk binding when every item failed, which makes the envelope ``failed``."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Extra keys for the envelope's meta (``existed``, vendor totals...)."""

    def __post_init__(self) -> None:
        self.connection.check_transport_security()
        timeout = self.connection.timeout
        self._http = httpx.AsyncClient(
            base_url=self.connection.base_url,
            headers={
                "Authorization": f"{self.vendor.auth_scheme} {self.connection.token()}",
                "Accept": "application/json",
                "User-Agent": f"connector/{__version__}",
            },
            timeout=httpx.Timeout(timeout.read, connect=timeout.connect),
            verify=self.connection.verify_tls,
            proxy=self.connection.proxy,
            transport=self.transport,
            follow_redirects=False,
        )
        limit = self.connection.rate_limit
        self._rate = (limit.requests, limit.per_seconds) if limit else self.vendor.rate_limit

    @property
    def option(self) -> dict[str, Any]:
        """Vendor options: the vendor's defaults overridden by the connection's ``options``."""
        return {**self.vendor.options, **self.connection.options}

    def emit(self, record: dict[str, Any]) -> dict[str, Any]:
        """Announce one output record to the lifecycle hooks; returns it for chaining."""
        self.events.record_emitted(run_id=self.run_id, action=self.action, record=record)
        return record

    def page_fetched(self, path: str, page: int, records: int) -> None:
        """Announce one page of a paged read (``page`` from 1): :meth:`pages` does, and bindings paging by hand."""
        self.events.page_fetched(run_id=self.run_id, vendor=self.vendor.name, path=path, page=page, records=records)

    def items_processed(self, *, succeeded: int, failed: int) -> None:
        """Announce ids of a bulk change settled (see :class:`connector.bulk.BulkReport`)."""
        self.events.items_processed(run_id=self.run_id, action=self.action, succeeded=succeeded, failed=failed)

    def item_failed(self, item: str, kind: str, message: str) -> None:
        """Record that one item of a bulk operation failed, keeping the others going."""
        self.item_errors.append(ErrorItem(type=kind, message=message, item=item))

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
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
    ) -> Any:
        """Send one request with retries; the decoded JSON answer (``raw``: the response itself).

        In a dry run a write is recorded in :attr:`planned` and not sent; None is returned.
        ``read_only`` marks a POST that changes nothing (a search): sent in dry runs, retried like a GET.
        """
        method = method.upper()
        safe = method in SAFE_METHODS or read_only
        if self.dry_run and not safe:
            self.planned.append(PlannedRequest(method, path, params, json))
            return None
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
                return await self._send_once(method, path, params, json, raw, safe, number)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def pages(
        self, path: str, params: dict[str, Any], paging: Paging, *, max_records: int | None = None
    ) -> AsyncGenerator[Page, None]:
        """Yield page by page until the vendor says there are no more (or ``max_records`` were read)."""
        seen_queries: set[bytes] = set()
        remaining = max_records
        query: dict[str, Any] | None = dict(params)
        page_number = 0
        while query is not None:
            fingerprint = orjson.dumps(query, option=orjson.OPT_SORT_KEYS)
            if fingerprint in seen_queries:
                raise BadVendorAnswer(
                    f"{self.vendor.name}: GET {path}: the vendor sent the same page twice (paging loop)"
                )
            seen_queries.add(fingerprint)
            body = await self.request("GET", path, params=query)
            records = paging.records(body)
            page_number += 1
            self.page_fetched(path, page_number, len(records))
            if remaining is not None:
                records = records[:remaining]
                remaining -= len(records)
            if records:
                yield Page(records, body)
            if remaining == 0:
                return
            query = paging.next_params(body, query)

    def _note_retry(self, method: str, path: str, state: RetryCallState) -> None:
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
        self, method: str, path: str, params: dict[str, Any] | None, json: Any, raw: bool, safe: bool, attempt: int
    ) -> Any:
        if self._rate is not None:
            await _shared_limiter(self.connection, self._rate).acquire()
        where = f"{self.vendor.name}: {method} {path}"
        self.events.request_sent(run_id=self.run_id, vendor=self.vendor.name, method=method, path=path, attempt=attempt)
        started = time.perf_counter()
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.InvalidURL as exc:
            # httpx caps each URL part at 64 KiB: the input asked for a query no vendor would read.
            raise BadInput(f"{where}: the request cannot be sent: {exc} (narrow the input)") from None
        except httpx.ConnectError as exc:
            raise _NotSent(f"{where}: cannot connect ({_reason(exc)})") from None
        except httpx.TimeoutException:
            raise RetriableError(f"{where}: timed out") from None
        except httpx.ProtocolError as exc:
            # h11 quotes the offending header or line ("Illegal header value b'...'"): only its kind is told.
            raise RetriableError(f"{where}: connection failed ({_protocol_reason(exc)})") from None
        except httpx.TransportError as exc:
            raise RetriableError(f"{where}: connection failed ({_reason(exc)})") from None
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
        return self._decode(where, response, safe)

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

    def _decode(self, where: str, response: httpx.Response, safe: bool) -> Any:
        broken = RetriableError if safe else BadVendorAnswer
        if response.status_code == 204 or not response.content:
            return None
        if _is_html(response):
            raise broken(f"{where}: {response.status_code}: answered with an HTML page instead of JSON")
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise broken(f"{where}: {response.status_code}: answered with invalid JSON (truncated body?)") from None


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], AsyncLimiter]] = (
    weakref.WeakKeyDictionary()
)


def _shared_limiter(connection: Connection, rate: tuple[float, float]) -> AsyncLimiter:
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
