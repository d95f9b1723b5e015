"""The HTTP layer: paging, retries with Retry-After, clean errors, no retry of unsafe writes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.connections import Connection
from connector.context import RunContext
from connector.errors import AuthError, BadInput, BadVendorAnswer, RetriableError, VendorError
from connector.http import VendorClient
from connector.paging import CursorPaging, OffsetPaging, PageNumberPaging
from connector.plugins import default_host
from connector.vendors.sentinelone import error_detail

TOKEN = "s1-token-abcdef123456"


class Recorder:
    """Stands in for asyncio.sleep and the hook relay: records instead of waiting or firing."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda **kwargs: self.events.append((name, kwargs))


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], recorder: Recorder, **connection: Any
) -> VendorClient:
    vendor = default_host().vendor("sentinelone")
    settings = {
        "name": "s1",
        "vendor": "sentinelone",
        "base_url": "https://s1.example",
        "secret": "env:S1_TEST",
        **connection,
    }
    return VendorClient(
        connection=Connection(**settings),
        vendor=vendor,
        events=recorder,
        transport=httpx.MockTransport(handler),
        sleep=recorder.sleep,
    )


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S1_TEST", TOKEN)


def collect(client: VendorClient, path: str, params: dict[str, Any], paging: Any, **kw: Any) -> list[Any]:
    async def go() -> list[Any]:
        async with client:
            return [
                record
                for page in [p async for p in client.pages(path, params, paging, **kw)]
                for record in page.records
            ]

    return asyncio.run(go())


def test_three_page_cursor_walk_sends_each_cursor_once() -> None:
    pages = {None: ("c1", [1, 2]), "c1": ("c2", [3, 4]), "c2": (None, [5])}
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"ApiToken {TOKEN}"
        cursor = request.url.params.get("cursor")
        seen.append(cursor)
        next_cursor, ids = pages[cursor]
        return httpx.Response(200, json={"data": [{"id": i} for i in ids], "pagination": {"nextCursor": next_cursor}})

    recorder = Recorder()
    records = collect(make_client(handler, recorder), "/threats", {"limit": 2}, CursorPaging())
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert seen == [None, "c1", "c2"]
    assert [e[1]["page"] for e in recorder.events if e[0] == "page_fetched"] == [1, 2, 3]


def test_string_null_cursor_ends_the_walk() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": 1}], "pagination": {"nextCursor": "null"}})

    assert len(collect(make_client(handler, Recorder()), "/threats", {}, CursorPaging())) == 1


def test_max_records_stops_early() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": i} for i in range(10)], "pagination": {"nextCursor": "x"}})

    assert len(collect(make_client(handler, Recorder()), "/threats", {}, CursorPaging(), max_records=4)) == 4


def test_cursor_loop_is_detected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": 1}], "pagination": {"nextCursor": "same"}})

    with pytest.raises(BadVendorAnswer, match="paging loop"):
        collect(make_client(handler, Recorder()), "/threats", {}, CursorPaging())


def test_offset_and_page_number_paging() -> None:
    def offsets(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"items": [{"n": n} for n in range(offset, min(offset + 2, 5))], "total": 5})

    records = collect(
        make_client(offsets, Recorder()), "/x", {"limit": 2, "offset": 0}, OffsetPaging(("items",), ("total",))
    )
    assert [r["n"] for r in records] == [0, 1, 2, 3, 4]

    def numbered(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"data": [{"p": page}], "has_next": page < 2})

    assert [r["p"] for r in collect(make_client(numbered, Recorder()), "/e", {"page": 0}, PageNumberPaging())] == [
        0,
        1,
        2,
    ]


def test_429_and_503_are_retried_honouring_retry_after() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": [{"title": "Too many requests"}]}),
        httpx.Response(503, headers={"Retry-After": "2"}, text="busy"),
        httpx.Response(200, json={"data": []}),
    ]
    recorder = Recorder()
    client = make_client(lambda request: answers.pop(0), recorder)

    async def go() -> Any:
        async with client:
            return await client.request("GET", "/threats")

    assert asyncio.run(go()) == {"data": []}
    assert recorder.sleeps == [7.0, 2.0]
    assert [name for name, _ in recorder.events].count("request_sent") == 3
    retries = [e[1] for e in recorder.events if e[0] == "retry_scheduled"]
    assert [r["delay_s"] for r in retries] == [7.0, 2.0]
    assert "429" in retries[0]["reason"]


def test_backoff_without_retry_after_grows_and_gives_up() -> None:
    recorder = Recorder()
    client = make_client(lambda request: httpx.Response(502, text="bad gateway"), recorder, retries=3)

    async def go() -> Any:
        async with client:
            return await client.request("GET", "/threats")

    with pytest.raises(RetriableError, match="502"):
        asyncio.run(go())
    assert len(recorder.sleeps) == 3
    assert all(0 < delay <= 20.5 for delay in recorder.sleeps)
    assert recorder.sleeps[2] > recorder.sleeps[0]


def test_unsafe_write_is_not_retried_after_a_5xx_but_is_after_a_429() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) > 1 else 429, headers={"Retry-After": "1"})

    client = make_client(handler, Recorder())

    async def go() -> Any:
        async with client:
            return await client.request("POST", "/threats/incident", json={})

    with pytest.raises(RetriableError, match="503"):
        asyncio.run(go())
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (
            httpx.Response(401, json={"errors": [{"title": "Authentication Failed", "detail": "bad token"}]}),
            AuthError,
            "sentinelone: GET /threats: 401 Unauthorized: Authentication Failed: bad token",
        ),
        (
            httpx.Response(400, json={"errors": [{"title": "Validation Error", "detail": "limit"}]}),
            VendorError,
            "sentinelone: GET /threats: 400 Bad Request: Validation Error: limit",
        ),
        (
            httpx.Response(200, text="<html><body>Gateway</body></html>", headers={"content-type": "text/html"}),
            RetriableError,
            "answered with an HTML page instead of JSON",
        ),
        (
            httpx.Response(200, content=b'{"data": [{"id": 1', headers={"content-type": "application/json"}),
            RetriableError,
            "answered with invalid JSON (truncated body?)",
        ),
    ],
)
def test_failures_become_one_line(response: httpx.Response, error: type[Exception], text: str) -> None:
    client = make_client(lambda request: response, Recorder(), retries=0)

    async def go() -> Any:
        async with client:
            return await client.request("GET", "/threats")

    with pytest.raises(error) as caught:
        asyncio.run(go())
    assert text in str(caught.value)
    assert "\n" not in str(caught.value) and TOKEN not in str(caught.value)


def test_connection_errors_are_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    recorder = Recorder()
    client = make_client(handler, recorder, retries=2)

    async def go() -> Any:
        async with client:
            return await client.request("POST", "/threats/notes")

    with pytest.raises(RetriableError, match="cannot connect"):
        asyncio.run(go())
    assert len(recorder.sleeps) == 2


def test_dry_run_records_writes_and_sends_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent in a dry run")

    context = RunContext(make_client(handler, Recorder()), dry_run=True)

    async def go() -> Any:
        async with context.http:
            return await context.request("POST", "/threats/incident", json={"filter": {"ids": ["1"]}})

    assert asyncio.run(go()) is None
    assert context.planned[0].as_dict()["headers"] == {"Authorization": "***"}


def test_error_parser_is_the_vendors() -> None:
    assert default_host().vendor("sentinelone").error_detail is error_detail


def test_read_only_post_is_retried_like_a_get_and_sent_in_a_dry_run() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503) if len(calls) == 1 else httpx.Response(200, json={"data": []})

    recorder = Recorder()
    context = RunContext(make_client(handler, recorder), dry_run=True)

    async def go() -> Any:
        async with context.http:
            return await context.request("POST", "/search", json={"q": 1}, read_only=True)

    assert asyncio.run(go()) == {"data": []}
    assert calls == ["POST", "POST"] and context.planned == [] and len(recorder.sleeps) == 1


def test_clients_of_one_connection_share_its_rate_limit_within_a_loop() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={})

    limit = {"rate_limit": {"requests": 2, "per_seconds": 3600}}

    async def two_clients_three_requests() -> list[str]:
        first, second = make_client(handler, Recorder(), **limit), make_client(handler, Recorder(), **limit)
        async with first, second:
            await first.request("GET", "/a")
            await second.request("GET", "/b")
            # The connection's budget (2 an hour) is spent by the two clients together: a third waits.
            late = asyncio.ensure_future(second.request("GET", "/c"))
            await asyncio.sleep(0.05)
            late.cancel()
        return sent

    assert asyncio.run(two_clients_three_requests()) == ["/a", "/b"]
    sent.clear()
    # A new event loop starts with the full budget again.
    assert asyncio.run(two_clients_three_requests()) == ["/a", "/b"]


def test_a_query_too_long_to_send_is_bad_input() -> None:
    client = make_client(lambda request: httpx.Response(200, json={}), Recorder())
    with pytest.raises(BadInput) as caught:
        asyncio.run(client.request("GET", "/threats", params={"query": "a" * 70_000}))
    assert caught.value.message == (
        "sentinelone: GET /threats: the request cannot be sent: URL too long, its query 70,007 characters "
        "(narrow the input)"
    )


@pytest.mark.parametrize(
    ("error", "side"),
    [
        (httpx.LocalProtocolError(f"Illegal header value b'ApiToken {TOKEN}'"), "we sent"),
        (httpx.RemoteProtocolError(f"illegal status line: bytearray(b'{TOKEN}')"), "the vendor sent"),
    ],
)
def test_protocol_errors_never_quote_what_broke_the_protocol(error: httpx.ProtocolError, side: str) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise error

    client = make_client(broken, Recorder(), retries=0)
    with pytest.raises(RetriableError) as caught:
        asyncio.run(client.request("GET", "/threats"))
    reason = f"{type(error).__name__}: {side} something that is not valid HTTP"
    assert caught.value.message == f"sentinelone: GET /threats: connection failed ({reason})"
