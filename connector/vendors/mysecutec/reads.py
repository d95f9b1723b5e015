"""Bindings that read threats: get_threats, get_threat, test_connection."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from typing import Any

import orjson

from connector.context import RunContext, in_batches
from connector.errors import BadInput, BadVendorAnswer, VendorError
from connector.probe import TOKEN_ACCEPTED, failed_check, probe_answer
from connector.vendors.mysecutec.api import (
    THREAT,
    THREATS,
    Totals,
    gather_bounded,
    not_found,
    read_pages,
    threat_path,
)
from connector.vendors.mysecutec.mapping import NAME, normalize_threat
from connector.vendors.mysecutec.pages import threat_page
from connector.vendors.mysecutec.query import keeps, pushed_down, threat_query


async def matching_threats(
    run: RunContext, filters: dict[str, Any], totals: Totals, *, until: bool = True, resumable: bool = False
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """The threats matching get_threats-style filters, mapped, in the vendor's order, at most ``limit``,
    in batches (a page's at once, at most :data:`~connector.context.BATCH`).

    The API has no id filter: ``ids`` alone are read one by one (``GET /threats/{id}``, an unknown
    id matches nothing); with ``search`` or ``vendor_filters`` the list is read and kept to the ids.
    The vendor's counts go into ``totals`` (``total`` only when the vendor's count is the answer's).
    """
    query = threat_query(filters, until=until)
    if query is None:
        totals.total = 0
        return
    limit = filters.get("limit")
    include_raw = bool(filters.get("include_raw"))
    ids = filters.get("ids")
    listing = Totals()
    pages: AsyncGenerator[list[dict[str, Any]], None]
    exact = False
    """Whether the vendor applies every filter, so that its count is the answer's."""
    if ids and not ("search" in filters or "vendor_filters" in filters):
        if resumable and "resume" in filters:
            raise BadInput("input.resume: a read of threats by id cannot resume: run it whole")
        pages = _one_page(await _read_by_id(run, ids))
    else:
        exact = pushed_down(filters) and not ids
        pages = read_pages(run, THREATS, query, "threats", listing, max_records=limit if exact else None,
                           resumable=resumable, decode=orjson.loads if include_raw else threat_page)
    wanted = set(ids or ())
    kept = 0
    async with aclosing(pages) as each:
        async for page in each:
            if exact:
                run.total_known(listing.total, limit)

            def taken(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                nonlocal kept
                for record in records:
                    if wanted and record.get("id") not in wanted:
                        continue
                    threat = run.map_record(normalize_threat, record, include_raw=include_raw)
                    if threat is None or not keeps(threat, filters):
                        continue
                    kept += 1
                    yield threat
                    if kept == limit:
                        return

            for batch in in_batches(taken(page)):
                yield batch
            if kept == limit:
                break
    totals.total = None if ids else listing.total
    totals.unfiltered_total = listing.unfiltered_total


async def _one_page(records: list[dict[str, Any]]) -> AsyncGenerator[list[dict[str, Any]], None]:
    yield records


async def _read_by_id(run: RunContext, ids: list[str]) -> list[dict[str, Any]]:
    # Checked in input order (the error names the index), each id read once.
    by_id = {threat_id: threat_path(THREAT, threat_id, f"input.ids[{i}]") for i, threat_id in enumerate(ids)}
    ids, paths = list(by_id), list(by_id.values())

    async def fetch(path: str) -> dict[str, Any] | None:
        try:
            return _threat_record(await run.request("GET", path), path)
        except VendorError as exc:
            if not_found(exc):
                return None
            raise

    found = await gather_bounded(paths, fetch)
    missing = [threat_id for threat_id, record in zip(ids, found, strict=True) if record is None]
    if missing:
        run.meta["missing_ids"] = missing
    return [record for record in found if record is not None]


def _threat_record(body: Any, path: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadVendorAnswer(f"{NAME}: {path}: expected a threat object, got {type(body).__name__}")
    return body


async def get_threats(run: RunContext, filters: dict[str, Any]) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Every threat matching the common and vendor filters, pages read concurrently, in batches."""
    totals = Totals()
    async with aclosing(matching_threats(run, filters, totals, resumable=True)) as batches:
        async for batch in batches:
            yield batch
    run.fields.update(total=totals.total, unfiltered_total=totals.unfiltered_total)


async def threat_request(
    run: RunContext, method: str, threat_id: str, json: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """``GET``/``PATCH /tam/v1/threats/{id}``: the threat (None for a dry-run write); 404 in one line."""
    path = threat_path(THREAT, threat_id, "input.id")
    try:
        body = await run.request(method, path, json=json)
    except VendorError as exc:
        if exc.status == 404:
            raise VendorError(f"{NAME}: threat {threat_id} not found ({method} {path}: 404)", 404) from None
        raise
    return None if body is None and run.dry_run else _threat_record(body, path)


async def get_threat(run: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """One threat by id."""
    record = await threat_request(run, "GET", input["id"])
    assert record is not None, "a GET is sent even in a dry run"
    return {"threat": run.emit(normalize_threat(record, include_raw=bool(input.get("include_raw"))))}


async def check_connection(run: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """Reachability, authentication and read permission, from one ``GET /threats/?limit=1``."""
    passed = {"reachability": "the API answered", "authentication": TOKEN_ACCEPTED, "permissions": "may read threats"}
    try:
        body = await run.request("GET", THREATS, params={"limit": 1, "offset": 0})
        if not isinstance(body, dict) or not isinstance(body.get("threats"), list):
            raise BadVendorAnswer(f"{NAME}: GET {THREATS}: the answer is no threat list (is base_url right?)")
    except VendorError as exc:
        return probe_answer(run, passed, failed_check(exc))
    total = (body.get("pagination") or {}).get("total")
    if isinstance(total, int):
        passed["permissions"] = f"may read threats ({total} in all)"
    return probe_answer(run, passed)
