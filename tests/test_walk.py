"""The paging walk (connector/walk.py): pages planned from the first page's total are fetched a few
at a time and give exactly what walking them one after another gives: the same records in the same
order, the same failure at the same place, never more requests in flight than the bound."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import httpx
import pytest

from connector import walk
from connector.connections import RateLimit
from connector.envelope import Envelope
from connector.paging import CursorPaging, OffsetPaging, PageNumberPaging
from connector.sandbox import SandboxConfig, build_app
from connector.testing import RecordingTransport, run_in_sandbox
from connector.vendors.ciso_assistant import listing
from connector.vendors.mysecutec import api
from connector.vendors.nameshield import query
from tests.conftest import REAL

SIZE = 240
PAGE = 40
CONFIG = SandboxConfig(sizes={"mysecutec": SIZE, "nameshield": SIZE, "ciso_assistant": SIZE}, rate_limits=False,
                       vendors=("mysecutec", "nameshield", "ciso_assistant"))
READS = {
    "mysecutec": ("get_threats", {}, "threats"),
    "nameshield": ("list_events", {"since": "2000-01-01T00:00:00Z"}, "events"),
    "ciso_assistant": ("list_incidents", {}, "incidents"),
}
"""Per vendor: a read that pages with a known total, its input, and the output's list of records."""


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (api, query, listing):
        monkeypatch.setattr(module, "PAGE_SIZE", PAGE)


def _page_index(request: httpx.Request) -> int:
    """Which page a request asks for, from 0 (by offset, or by page number: Nameshield's start at 0)."""
    params = request.url.params
    if "offset" in params:
        return int(params["offset"]) // PAGE
    return int(params.get("page", 0))


async def _later_pages_answer_first(request: httpx.Request) -> None:
    # Concurrent answers arrive out of order: the walk must still yield them in order.
    await asyncio.sleep(0.001 * (SIZE // PAGE - _page_index(request)))


def _read(vendor: str, transport: RecordingTransport, *, sequential: bool, monkeypatch: pytest.MonkeyPatch) -> Envelope:
    """The vendor's read through ``transport``; ``sequential``: no plan, each page asked for after the one before."""
    with monkeypatch.context() as patched:
        if sequential:
            for paging in (OffsetPaging, PageNumberPaging):
                patched.setattr(paging, "plan", lambda self, body, params: None)
        action, document, _ = READS[vendor]
        return run_in_sandbox(action, document, vendor=vendor, transport=transport,
                              connection_update={"rate_limit": RateLimit(requests=1000)})


def _both(vendor: str, answer: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Envelope, Envelope, RecordingTransport]:
    """(concurrent envelope, sequential envelope, the concurrent read's transport), each on a fresh sandbox."""
    concurrent = RecordingTransport(build_app(CONFIG), answer=answer)
    planned = _read(vendor, concurrent, sequential=False, monkeypatch=monkeypatch)
    one_by_one = _read(vendor, RecordingTransport(build_app(CONFIG), answer=answer), sequential=True,
                       monkeypatch=monkeypatch)
    return planned, one_by_one, concurrent


@pytest.mark.parametrize("vendor", list(READS))
def test_planned_pages_give_the_records_of_a_walk_page_by_page_in_its_order(
    vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned, one_by_one, transport = _both(vendor, _later_pages_answer_first, monkeypatch)
    records = planned.output[READS[vendor][2]]
    assert planned.status == one_by_one.status == "success", planned.errors
    assert records == one_by_one.output[READS[vendor][2]] and len(records) > walk.CONCURRENCY * PAGE
    assert planned.meta.pages == one_by_one.meta.pages == -(-len(records) // PAGE)
    assert transport.most_in_flight == walk.CONCURRENCY, "the bound, counted where the requests arrive"


@pytest.mark.parametrize("vendor", list(READS))
def test_a_failing_page_in_the_middle_stops_the_walk_as_it_did_keeping_every_record_before_it(
    vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = 3

    async def third_page_fails(request: httpx.Request) -> httpx.Response | None:
        await _later_pages_answer_first(request)
        return httpx.Response(400, json={"detail": "page refused"}) if _page_index(request) == failing else None

    planned, one_by_one, _ = _both(vendor, third_page_fails, monkeypatch)
    key = READS[vendor][2]
    assert planned.status == one_by_one.status == "failed"
    assert planned.errors == one_by_one.errors and "400" in planned.errors[0].message
    assert planned.output[key] == one_by_one.output[key] and len(planned.output[key]) == failing * PAGE
    assert planned.meta.resume == one_by_one.meta.resume is not None


def test_real_ciso_assistant_pages_walk_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real list answers' shape (tests/fixtures/real/ciso_assistant), served PAGE at a time."""
    listed = json.loads((REAL / "ciso_assistant" / "04-list-no-params.json").read_text())["exchanges"][0]
    real = listed["response"]["body"]["results"]
    incidents = [{**real[index % len(real)], "id": f"00000000-0000-4000-8000-{index:012d}"} for index in range(SIZE)]

    async def real_pages(request: httpx.Request) -> httpx.Response:
        await _later_pages_answer_first(request)
        limit, offset = int(request.url.params["limit"]), int(request.url.params.get("offset", 0))
        after = f"/api/incidents/?limit={limit}&offset={offset + limit}" if offset + limit < SIZE else None
        return httpx.Response(200, json={"count": SIZE, "next": after, "previous": None,
                                         "results": incidents[offset:offset + limit]})

    planned, one_by_one, transport = _both("ciso_assistant", real_pages, monkeypatch)
    assert planned.status == one_by_one.status == "success", planned.errors
    assert [incident["vendor_id"] for incident in planned.output["incidents"]] == [i["id"] for i in incidents]
    assert planned.output == one_by_one.output
    assert transport.most_in_flight == walk.CONCURRENCY


def test_a_failed_page_fetched_ahead_is_not_reported_lost_when_the_caller_stops() -> None:
    async def stop_after_the_first_page() -> list[str]:
        reported: list[str] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context["message"]))

        async def fetch(query: dict[str, Any]) -> Any:
            if "cursor" in query:
                raise RuntimeError("the page asked for ahead failed")
            return {"data": [{"id": 1}], "pagination": {"nextCursor": "next"}}

        pages = walk.Walk(fetch, "test: GET /threats", {}, CursorPaging())
        async for _ in pages:
            await asyncio.sleep(0.01)  # the next page, asked for ahead, fails meanwhile
            break
        await pages.aclose()
        gc.collect()  # an exception nobody retrieved is reported when its task is collected
        return reported

    assert asyncio.run(stop_after_the_first_page()) == []
