"""SentinelOne bindings that only read: get_threats, get_threat_notes, test_connection.

Lists page by cursor (``pagination.nextCursor``, null at the end, 1000 records at most per page).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Iterator
from contextlib import aclosing
from typing import Any

import orjson

from connector.bulk import chunked
from connector.context import RunContext, in_batches
from connector.errors import BadInput, VendorError
from connector.paging import CursorPaging
from connector.probe import TOKEN_ACCEPTED, failed_check, probe_answer
from connector.vendors.sentinelone.mapping import needs_status_check, threat_query
from connector.vendors.sentinelone.pages import threat_page
from connector.vendors.sentinelone.threats import normalize_threat

API = "/web/api/v2.1"
THREATS = f"{API}/threats"
SYSTEM_INFO = f"{API}/system/info"
PAGE_SIZE = 1000
LOOKUP_CHUNK = 200
"""Ids per ``GET /threats?ids=``: they travel in the query string, and 200 ids of 18 digits (about
3.8 KB) keep the URL under the 8 KB request line that common reverse proxies accept."""


async def get_threats(run: RunContext, filters: dict[str, Any]) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Every threat matching the filters, walked by cursor, in batches (each page's threats mapped
    together, see :data:`~connector.context.BATCH`); ``limit`` counts the threats returned.

    Many ``ids`` are asked for in chunks of :data:`LOOKUP_CHUNK` (one walk each), so no query
    string grows past what proxies accept.
    """
    ids: list[str] = list(dict.fromkeys(filters.get("ids") or ()))
    if len(ids) <= LOOKUP_CHUNK:
        async with aclosing(_walk(run, filters, resumable=True)) as batches:
            async for batch in batches:
                yield batch
        return
    if "resume" in filters:
        raise BadInput(f"input.resume: a read of more than {LOOKUP_CHUNK} ids cannot resume: run it whole")
    limit: int | None = filters.get("limit")
    returned = 0
    total: int | None = 0
    for chunk in chunked(ids, LOOKUP_CHUNK):
        part = {**filters, "ids": chunk, **({"limit": limit - returned} if limit else {})}
        async with aclosing(_walk(run, part, resumable=False)) as batches:
            async for batch in batches:
                returned += len(batch)
                yield batch
        chunk_total = run.fields.pop("total", None)
        total = total + chunk_total if isinstance(chunk_total, int) and total is not None else None
        if limit and returned >= limit:
            total = None
            break
    run.fields["total"] = total


async def _walk(
    run: RunContext, filters: dict[str, Any], *, resumable: bool
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """One cursor walk of ``GET /threats`` for get_threats' filters, its threats in batches of at
    most :data:`~connector.context.BATCH`; ``total`` left in run.fields."""
    query = threat_query(filters)
    if query.get("confidenceLevels") == "" or query.get("incidentStatuses") == "":
        # The common values asked for have no SentinelOne equivalent: nothing can match.
        run.fields["total"] = 0
        return
    limit: int | None = filters.get("limit")
    filtered_here = needs_status_check(filters)
    # When threats are dropped after reading, a page as small as the limit would mean many requests.
    query.setdefault("limit", min(PAGE_SIZE, limit) if limit and not filtered_here else PAGE_SIZE)
    statuses = set(filters.get("status") or ())
    include_raw = bool(filters.get("include_raw"))
    returned = 0
    total: int | None = None
    # Without a check here the vendor's pages hold exactly what is returned: no page past the limit
    # is worth asking for ahead of time.
    enough = None if filtered_here else limit
    # The mapper's fields only, unless the raw record is asked for (see pages.py).
    decode = orjson.loads if include_raw else threat_page
    walk = run.pages(THREATS, query, CursorPaging(), max_records=enough, resumable=resumable, decode=decode)
    async with aclosing(walk) as pages:
        async for page in pages:
            if total is None:
                total = _total(page.body)
                if resumable and not filtered_here:  # one walk, every threat it counts handed out
                    run.total_known(total, limit)

            def kept(records: list[Any]) -> Iterator[dict[str, Any]]:
                nonlocal filtered_here, returned
                for record in records:
                    threat = run.map_record(normalize_threat, record, include_raw=include_raw)
                    if threat is None:
                        continue
                    if statuses and threat["status"] not in statuses:
                        filtered_here = True  # the vendor's total counts threats dropped here
                        continue
                    returned += 1
                    yield threat
                    if returned == limit:
                        return

            for batch in in_batches(kept(page.records)):
                yield batch
            if returned == limit:
                break
    run.fields["total"] = None if filtered_here else total


def _total(body: Any) -> int | None:
    total = (body.get("pagination") or {}).get("totalItems") if isinstance(body, dict) else None
    return total if isinstance(total, int) else None


async def find_threats(run: RunContext, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The raw records of the threats among ``ids`` that exist, by id (there is no single-threat GET)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunked(list(ids), LOOKUP_CHUNK):
        query = {"ids": ",".join(chunk), "limit": len(chunk), "skipCount": "true"}
        async for page in run.pages(THREATS, query, CursorPaging()):
            found.update((str(record.get("id")), record) for record in page.records if isinstance(record, dict))
    return found


async def threat_notes(
    run: RunContext, threat_id: str, *, resumable: bool = False
) -> AsyncGenerator[dict[str, Any], None]:
    """The raw notes of one threat, oldest first, page after page."""
    path = f"{THREATS}/{threat_id}/notes"
    async with aclosing(run.pages(path, {"limit": PAGE_SIZE}, CursorPaging(), resumable=resumable)) as pages:
        async for page in pages:
            for record in page.records:
                yield record


async def get_threat_notes(run: RunContext, request: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    """Every note of one threat, oldest first (an unknown threat id has none, as SentinelOne answers)."""
    async with aclosing(threat_notes(run, request["id"], resumable=True)) as records:
        async for record in records:
            note = run.map_record(_note, record)
            if note is not None:
                yield note


def _note(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(record.get("id") or ""),
        "text": str(record.get("text") or ""),
        "created_at": record.get("createdAt"),
        "creator": record.get("creator"),
    }


async def test_connection(run: RunContext, request: dict[str, Any]) -> dict[str, Any]:
    """Reachability and authentication with ``GET /system/info``, then permission to read threats.

    A 401 fails authentication, a 403 permissions; anything else failing the first call fails
    reachability, and failing the second permissions (see :mod:`connector.probe`).
    """
    passed = {
        "reachability": "the console answered",
        "authentication": TOKEN_ACCEPTED,
        "permissions": "the token may read threats",
    }
    try:
        info = await run.request("GET", SYSTEM_INFO)
    except VendorError as exc:
        return probe_answer(run, passed, failed_check(exc))
    passed["reachability"] = f"the console answered (version {_version(info)})"
    try:
        await run.request("GET", THREATS, params={"limit": 1, "skipCount": "true"})
    except VendorError as exc:
        return probe_answer(run, passed, failed_check(exc, answered=True))
    return probe_answer(run, passed)


def _version(info: Any) -> str:
    data = info.get("data") if isinstance(info, dict) else None
    return str(data.get("version") or "unknown") if isinstance(data, dict) else "unknown"
