"""The Nameshield bindings: list_events (v2 list, v1 search, v1 as fallback), get_event, test_connection."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Any
from urllib.parse import quote

from connector.context import RunContext
from connector.errors import BadInput, BadVendorAnswer, VendorError
from connector.paging import OffsetPaging, PageNumberPaging
from connector.probe import TOKEN_ACCEPTED, failed_check, probe_answer
from connector.vendors.nameshield.mapping import NAME, normalize_event
from connector.vendors.nameshield.query import Selection, check_input, selection, v1_body, v2_params

EVENTS_V2 = "/cti/v2/events"
SEARCH_V1 = "/cti/v1/events/search"
ROUTE_GONE = frozenset({404, 410})
"""What the v2 list answers once Nameshield has withdrawn it: list_events then uses the v1 search."""

V2_PAGING = PageNumberPaging(records_at=("data",), has_next_at=("has_next",), total_pages_at=("total_pages",))
V1_PAGING = OffsetPaging(records_at=("data", "results"), total_at=("data", "total"))


class _Collector:
    """Normalises records, drops repeats and what the vendor could not filter, and stops at the limit."""

    def __init__(self, chosen: Selection, include_raw: bool) -> None:
        self.chosen = chosen
        self.include_raw = include_raw
        self.count = 0
        """Events kept so far."""
        self.pages = 0
        """Pages of the v2 list read: once one was, a 404 is no longer the sign of a withdrawn route."""
        self._seen: set[str] = set()

    @property
    def full(self) -> bool:
        """Whether ``limit`` events are kept."""
        return self.chosen.limit is not None and self.count >= self.chosen.limit

    def add(self, run: RunContext, record: dict[str, Any]) -> tuple[datetime, str, dict[str, Any]] | None:
        """(time, id, output) of ``record``'s event, or None when it is a repeat, filtered out or unmappable."""
        event = run.map_record(normalize_event, record, include_raw=self.include_raw)
        # Paging by page number or offset can show a record twice when events arrive mid-walk.
        if event is None or event["vendor_id"] in self._seen or not self.chosen.keeps(event):
            return None
        self._seen.add(event["vendor_id"])
        self.count += 1
        return datetime.fromisoformat(event["time"]), event["vendor_id"], event


async def list_events(run: RunContext, document: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    """Domain events in the window, oldest first; the v1 search on request or when v2 is gone.

    The v2 list is yielded as it is read (and can resume from a page); the v1 search has no sort,
    so its events are collected and sorted first.
    """
    api = document.get("api", "v2")
    check_input(document, api)
    chosen = selection(document)
    if chosen.matches_nothing:
        run.fields["total"] = 0
        return
    collector = _Collector(chosen, bool(document.get("include_raw")))
    totals: dict[str, int | None] = {}
    if api == "v1":
        async with aclosing(_search_v1(run, v1_body(document, chosen), collector, totals)) as events:
            async for event in events:
                yield event
    else:
        try:
            async with aclosing(_list_v2(run, v2_params(document, chosen), collector, totals)) as events:
                async for event in events:
                    yield event
        except VendorError as exc:
            if exc.status not in ROUTE_GONE or collector.pages:
                raise
            lost = (
                " (sort not applied)"
                if document.get("sort") or "sort" in (document.get("vendor_filters") or {})
                else ""
            )
            run.meta["fallback"] = f"the v2 list answered {exc.status}: used the deprecated v1 search{lost}"
            run.resume_from = None
            fallback = _search_v1(run, v1_body(document, chosen, fallback=True), collector, totals)
            async with aclosing(fallback) as events:
                async for event in events:
                    yield event
    run.meta["api"] = "v1" if api == "v1" or "fallback" in run.meta else "v2"
    total = totals.get("total")
    run.fields["total"] = (collector.count if total is None else total) if chosen.exact else None


async def _list_v2(
    run: RunContext, params: dict[str, Any], collector: _Collector, totals: dict[str, int | None]
) -> AsyncGenerator[dict[str, Any], None]:
    """Walk ``GET /cti/v2/events`` until ``has_next`` is false; the vendor's total into ``totals``."""
    # When the vendor filters exactly, no page past the limit is worth asking for ahead of time.
    enough = collector.chosen.limit if collector.chosen.exact else None
    async with aclosing(run.pages(EVENTS_V2, params, V2_PAGING, max_records=enough, resumable=True)) as pages:
        async for page in pages:
            collector.pages += 1
            if page.number == 1:
                totals["total"] = _integer(page.body, "total_items")
                if collector.chosen.exact:  # the vendor applied every filter: its count is the answer's
                    run.total_known(totals["total"], collector.chosen.limit)
            for record in page.records:
                kept = collector.add(run, record)
                if kept is not None:
                    yield kept[2]
                if collector.full:
                    return


async def _search_v1(
    run: RunContext, body: dict[str, Any], collector: _Collector, totals: dict[str, int | None]
) -> AsyncGenerator[dict[str, Any], None]:
    """Walk ``POST /cti/v1/events/search`` by offset; the events are then yielded oldest first."""
    if run.resume_from is not None:
        raise BadInput("input.resume: the v1 search cannot resume (it sorts what it reads): run it whole")
    query: dict[str, Any] | None = body
    held: list[tuple[datetime, str, dict[str, Any]]] = []
    page = 0
    while query is not None and not collector.full:
        answer = await run.request("POST", SEARCH_V1, json=query, read_only=True)
        if not isinstance(answer, dict):
            raise BadVendorAnswer(f"{NAME}: POST {SEARCH_V1}: expected a SearchResult object")
        records = V1_PAGING.records(answer)
        page += 1
        run.page_fetched(SEARCH_V1, page, len(records))
        if page == 1:
            totals["total"] = _integer(answer.get("data"), "total")
        for record in records:
            kept = collector.add(run, record)
            if kept is not None:
                held.append(kept)
            if collector.full:
                break
        query = V1_PAGING.next_params(answer, query)
    # The v1 search has no sort parameter, and list_events promises oldest first.
    held.sort(key=lambda kept: (kept[0], kept[1]))
    for _, _, output in held:
        yield output


async def get_event(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """One event by id (or by its ``nameshield:<id>`` uid)."""
    event_id = document["id"].removeprefix(f"{NAME}:")
    try:
        record = await run.request("GET", f"{EVENTS_V2}/{quote(event_id, safe='')}")
    except VendorError as exc:
        if exc.status == 404:
            raise VendorError(
                f"{NAME}: event {event_id} not found (GET {EVENTS_V2}/{{id}} answered 404)", 404
            ) from None
        raise
    if not isinstance(record, dict):
        raise BadVendorAnswer(f"{NAME}: GET {EVENTS_V2}/{{id}}: expected an event object, got {type(record).__name__}")
    return {"event": run.emit(normalize_event(record, include_raw=bool(document.get("include_raw"))))}


async def check_connection(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """Reachability, authentication and permission to list events, from one ``GET /cti/v2/events?size=1``."""
    passed = {
        "reachability": f"the API answered GET {EVENTS_V2}",
        "authentication": TOKEN_ACCEPTED,
        "permissions": "may list events",
    }
    try:
        body = await run.request("GET", EVENTS_V2, params={"size": 1})
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise BadVendorAnswer(f"{NAME}: GET {EVENTS_V2}: answered, but not with a page of events")
    except VendorError as exc:
        return probe_answer(run, passed, failed_check(exc))
    if (total := _integer(body, "total_items")) is not None:
        passed["permissions"] = f"may list events ({total} visible to this token)"
    return probe_answer(run, passed)


def _integer(body: Any, key: str) -> int | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
