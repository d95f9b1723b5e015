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
it together; with ``$CONNECTOR_LIMITS_URL`` every process does, through Redis (Celery workers).
Paged reads go through :meth:`VendorClient.pages`, which yields one page at a time so memory
stays flat.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import ssl
import time
import weakref
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connector import __version__, hygiene
from connector.connections import Connection
from connector.envelope import ErrorItem
from connector.errors import AuthError, BadInput, BadVendorAnswer, ConnectorError, RetriableError, VendorError
from connector.vendor import Vendor

if TYPE_CHECKING:
    from connector.jobs.limits import RedisLimiter

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRY_AFTER_S = 60.0
CONCURRENCY = 4
"""Pages of one read in flight at once when their queries are known ahead; the rate limit still holds."""
records_log = logging.getLogger("connector.records")
Sleep = Callable[[float], Awaitable[None]]
Decode = Callable[[bytes], Any]
"""Reads a JSON body: ``orjson.loads``, or a vendor's reading of a page it knows."""


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
    """One page of a paged read: its records, the decoded body for totals and the like, its number.

    The first page is always yielded, even empty, so that its totals can be read.
    """

    records: list[Any]
    """Objects as a rule; anything else a vendor put in the list is refused when mapped, alone."""
    body: Any
    number: int = 1


def query_value(value: Any) -> str | int:
    """A filter value as vendors read it in a query string: lists comma-separated, booleans true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return value if isinstance(value, int) else str(value)


class Paging(Protocol):
    """A paging style: where the records are in a page, and how to ask for the next one."""

    def records(self, body: Any) -> list[Any]:
        """The records of one decoded page (objects, unless the vendor sent something else)."""

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query for the next page, or None when this page was the last."""

    @property
    def resume_key(self) -> str:
        """The query parameter that says where a walk stands (cursor, offset, page)."""

    def resumed(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` made fit to start from a resume point."""

    def plan(self, body: Any, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Every query after the first page, when the first page tells how many there are."""


class Events(Protocol):
    """The lifecycle hooks the HTTP layer fires (pluggy's hook relay satisfies it).

    What a run cost (requests, retries, pages) is counted from these events by the built-in
    :mod:`connector.events.counters` plugin, not here; records are counted by :meth:`VendorClient.emit`.
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
    """Extra keys for the envelope's meta (``existed``, vendor totals, ``skipped``, ``resume``...)."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Output fields a records binding sets beside its records (``total``...)."""
    strict: bool = False
    """Whether the first record that cannot be mapped fails the run (else it is skipped and reported)."""
    resume_from: dict[str, Any] | None = None
    """Where a resumable paged read starts (the ``meta.resume`` of a failed run)."""
    emitted: int = 0
    """Records announced with :meth:`emit` (the envelope's ``meta.records``)."""
    _mapped: int = 0

    def __post_init__(self) -> None:
        self.connection.check_transport_security()
        timeout = self.connection.timeout
        # Plain http (loopback only, or allowed insecure) has no TLS to verify, and redirects are not
        # followed: loading the CA bundle would only cost start-up time.
        plain = self.connection.base_url.startswith("http://") and not str(self.connection.proxy or "").startswith(
            "https://"
        )
        self._http = httpx.AsyncClient(
            base_url=self.connection.base_url,
            headers={
                "Authorization": f"{self.vendor.auth_scheme} {self.connection.token()}",
                "Accept": "application/json",
                "User-Agent": f"connector/{__version__}",
            },
            timeout=httpx.Timeout(timeout.read, connect=timeout.connect),
            verify=_tls_context(False if plain else self.connection.verify_tls),
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
        """Count one output record and announce it to the lifecycle hooks; returns it for chaining.

        The hook is fired only when a plugin implements it: a read emits every record, and a
        hook call each would cost more than writing the record out.
        """
        self.emitted += 1
        hook = self.events.record_emitted
        if _subscribed(hook):
            hook(run_id=self.run_id, action=self.action, record=record)
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
        decode: Decode = orjson.loads,
    ) -> Any:
        """Send one request with retries; the decoded JSON answer (``raw``: the response itself).

        ``decode`` reads the body (a vendor's own reading of a page it knows, see :meth:`pages`);
        invalid JSON must raise ``orjson.JSONDecodeError`` from it, as ``orjson.loads`` does.

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
                return await self._send_once(method, path, params, json, raw, safe, number, decode)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def pages(
        self,
        path: str,
        params: dict[str, Any],
        paging: Paging,
        *,
        max_records: int | None = None,
        resumable: bool = False,
        decode: Decode = orjson.loads,
    ) -> AsyncGenerator[Page, None]:
        """Yield page by page until the vendor says there are no more (or ``max_records`` were read).

        The next page is fetched while the caller handles the current one; when the first page
        tells how many there are (offset or page numbers with a total), the rest are fetched
        :data:`CONCURRENCY` at a time and yielded in order. So at most that many pages, plus the
        one in hand, are in memory. A ``resumable`` walk starts where :attr:`resume_from` says,
        and when a page fails after its retries it leaves ``meta.resume``: where to go on from.
        ``decode`` reads each page's body (see :meth:`request`).
        """
        if self.resume_from is not None and not resumable:
            raise BadInput("input.resume: this read cannot resume (it merges or sorts what it reads): run it whole")
        query = self._start(params, paging) if resumable else dict(params)
        remaining = max_records
        walk = _Walk(self, path, paging, decode)
        fetch: asyncio.Future[Any] | None = walk.first(query)
        number = 0
        try:
            while fetch is not None:
                try:
                    body = await fetch
                except VendorError:
                    if resumable and paging.resume_key in query:
                        self.meta["resume"] = {paging.resume_key: query[paging.resume_key]}
                    raise
                records = paging.records(body)
                number += 1
                self.page_fetched(path, number, len(records))
                if number == 1:
                    walk.plan(_enough(paging.plan(body, query), remaining, len(records)))
                if remaining is not None:
                    records = records[:remaining]
                    remaining -= len(records)
                # Asked for before the caller handles this page: the next one arrives meanwhile.
                fetch, query = walk.following(body, query) if remaining != 0 else (None, query)
                if records or number == 1:
                    yield Page(records, body, number)
        finally:
            await walk.cancel()

    def _start(self, params: dict[str, Any], paging: Paging) -> dict[str, Any]:
        if not self.resume_from:
            return dict(params)
        resume, self.resume_from = self.resume_from, None
        unknown = sorted(set(resume) - {paging.resume_key})
        if unknown:
            raise BadInput(
                f"input.resume: {unknown[0]!r} is not where this read resumes from (it takes {paging.resume_key!r})"
            )
        return {**paging.resumed(params), **resume}

    def map_record(self, mapper: Callable[..., dict[str, Any]], raw: Any, **options: Any) -> dict[str, Any] | None:
        """``mapper(raw, **options)``, or None when this one record cannot be mapped.

        A record that fails is reported as an error item (its vendor id, or ``#<index>`` among the
        records read) and skipped, so one odd record never costs the others; with :attr:`strict`
        it fails the run instead. Values the mapper dropped are counted in ``meta.dropped_values``.
        """
        index = self._mapped
        self._mapped += 1
        with hygiene.recording() as drops:
            try:
                record = mapper(raw, **options)
            # Isolation is the point: whatever one record does to the mapper stays with that record.
            except Exception as exc:
                self._skip(raw, index, exc)
                return None
        if drops:
            self._note_drops(raw, index, drops)
        return record

    def _skip(self, raw: Any, index: int, error: Exception) -> None:
        item = _record_id(raw) or f"#{index}"
        if isinstance(error, ConnectorError):
            message = error.message
        else:
            message = f"{self.vendor.name}: record {item} cannot be mapped ({type(error).__name__}: {error})"
        message = message.splitlines()[0][:300] if message else type(error).__name__
        if self.strict:
            raise BadVendorAnswer(f"{message} (--strict stops at the first bad record)") from None
        self.item_failed(item, BadVendorAnswer.kind, message)
        self.meta["skipped"] = self.meta.get("skipped", 0) + 1

    def _note_drops(self, raw: Any, index: int, drops: list[hygiene.Dropped]) -> None:
        counted: dict[str, int] = self.meta.setdefault("dropped_values", {})
        for dropped in drops:
            counted[dropped.field] = counted.get(dropped.field, 0) + 1
        if records_log.isEnabledFor(logging.INFO):
            item = _record_id(raw) or f"#{index}"
            for dropped in drops:
                records_log.info("%s: record %s: dropped %s (%s)", self.vendor.name, item, dropped.field, dropped.rule)

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
        # httpx binds a response and its (read, closed) byte stream to each other: that reference
        # cycle would keep each page's bytes alive until the next full garbage collection.
        response.stream = httpx.ByteStream(response.content)
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


class _Walk:
    """The requests of one paged read: the next page asked for ahead, or a window of planned pages."""

    def __init__(self, client: VendorClient, path: str, paging: Paging, decode: Decode) -> None:
        self._client, self._path, self._paging, self._decode = client, path, paging, decode
        self._seen: set[bytes] = set()
        self._planned: deque[dict[str, Any]] | None = None
        self._in_flight: deque[tuple[dict[str, Any], asyncio.Future[Any]]] = deque()
        self._ahead: asyncio.Future[Any] | None = None

    def first(self, query: dict[str, Any]) -> asyncio.Future[Any]:
        """Ask for the first page."""
        self._ahead = self._fetch(query)
        return self._ahead

    def plan(self, queries: list[dict[str, Any]] | None) -> None:
        """Every query still to send, known from the first page: they go out CONCURRENCY at a time."""
        if queries is not None:
            self._planned = deque(queries)
            self._top_up()

    def following(self, body: Any, query: dict[str, Any]) -> tuple[asyncio.Future[Any] | None, dict[str, Any]]:
        """The next page's answer to await, with its query; None after the last page."""
        if self._planned is not None:
            if not self._in_flight:
                return None, query
            following, fetch = self._in_flight.popleft()
            self._top_up()
            return fetch, following
        after = self._paging.next_params(body, query)
        if after is None:
            return None, query
        self._ahead = self._fetch(after)
        return self._ahead, after

    async def cancel(self) -> None:
        """Stop the requests still in flight (the caller stopped early, or a page failed)."""
        asked = [fetch for _, fetch in self._in_flight] + ([self._ahead] if self._ahead else [])
        self._in_flight.clear()
        for fetch in asked:
            fetch.cancel()
        # Gathered even when already done, so that no failure is left unretrieved.
        await asyncio.gather(*asked, return_exceptions=True)

    def _top_up(self) -> None:
        assert self._planned is not None
        while self._planned and len(self._in_flight) < CONCURRENCY:
            query = self._planned.popleft()
            self._in_flight.append((query, self._fetch(query)))

    def _fetch(self, query: dict[str, Any]) -> asyncio.Future[Any]:
        fingerprint = orjson.dumps(query, option=orjson.OPT_SORT_KEYS)
        if fingerprint in self._seen:
            raise BadVendorAnswer(
                f"{self._client.vendor.name}: GET {self._path}: the vendor sent the same page twice (paging loop)"
            )
        self._seen.add(fingerprint)
        return asyncio.ensure_future(self._client.request("GET", self._path, params=query, decode=self._decode))


def _enough(planned: list[dict[str, Any]] | None, remaining: int | None, served: int) -> list[dict[str, Any]] | None:
    """The planned queries that ``remaining`` records need, when the first page served ``served``."""
    if planned is None or remaining is None:
        return planned
    needed = 0 if remaining <= served else -(-(remaining - served) // max(served, 1))
    return planned[:needed]


def _subscribed(hook: Callable[..., Any]) -> bool:
    """Whether a plugin implements ``hook`` (a stand-in for pluggy's hook relay always counts as one)."""
    implementations = getattr(hook, "get_hookimpls", None)
    return implementations is None or bool(implementations())


def _record_id(raw: Any) -> str | None:
    """A raw record's own id, to name it in an error line (None when it has none worth quoting: a
    masked or redacted id names nothing, and the record is then named by its place)."""
    if isinstance(raw, dict):
        for key in ("id", "uuid", "uid"):
            value = raw.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and _ID.match(str(value)):
                return str(value)
    return None


_ID = re.compile(r"^[\w.:@-]{1,80}$")


@functools.cache
def _tls_context(verify: bool | str) -> ssl.SSLContext:
    # Loading the CA bundle costs ~35 ms of CPU, more than a whole small action: built once per
    # setting and shared (a client-side SSLContext is safe to share between threads and loops).
    return httpx.create_ssl_context(verify=verify)


LIMITS_ENV = "CONNECTOR_LIMITS_URL"
"""A Redis URL: rate limits are then shared by every process using it (see :mod:`connector.jobs.limits`)."""

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], AsyncLimiter]] = (
    weakref.WeakKeyDictionary()
)


def _shared_limiter(connection: Connection, rate: tuple[float, float]) -> AsyncLimiter | RedisLimiter:
    shared = os.environ.get(LIMITS_ENV)
    if shared:
        # Several processes (Celery workers) on one connection: the limit holds across all of them.
        from connector.jobs.limits import redis_limiter

        return redis_limiter(shared, connection.name, connection.base_url, rate)
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
