"""How MySecutec TAM is called: paths, offset paging fetched concurrently, bounded concurrency.

Lists answer ``{"pagination": {"limit", "offset", "total", "unfiltered_total"?}, "<records>": [...]}``.
A read fetches the first page, learns the total and the page size the vendor really used (it may
cap ``limit``), then fetches the other pages at most :data:`CONCURRENCY` at a time (the client's
rate limiter still applies) and keeps them in offset order, dropping an id seen twice. Without a
total in the first page it walks page after page instead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from connector.errors import BadInput, VendorError
from connector.http import VendorClient
from connector.paging import OffsetPaging

THREATS = "/tam/v1/threats/"
THREAT = "/tam/v1/threats/{id}"
THREAT_LOGS = "/tam/v1/threats/{id}/logs"
BULK_STATUS = "/tam/v1/threats/status"
FILTERS = "/tam/v1/threats/filter"
AGGREGATE = "/tam/v1/threats/aggregate"

PAGE_SIZE = 1000
CONCURRENCY = 4
"""Requests in flight at once for one read; the rate limit (20/s) is the real bound."""
_THREAT_ID = re.compile(r"^[A-Za-z0-9_-]+$")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Listing:
    """Every record a paged read returned, in order, with the vendor's counts from the first page."""

    records: list[dict[str, Any]]
    total: int | None
    unfiltered_total: int | None


def threat_path(template: str, threat_id: str, field: str) -> str:
    """``template`` with the threat id in it; an id that could leave the path is bad input."""
    if not _THREAT_ID.match(threat_id):
        raise BadInput(f"{field}: {threat_id!r} is not a threat id (letters, digits, '-' and '_' only)")
    return template.format(id=quote(threat_id, safe=""))


def not_found(error: VendorError) -> bool:
    """Whether the vendor answered that the threat does not exist (404, or 400 for a malformed id)."""
    return error.status in (400, 404)


async def gather_bounded(
    items: Iterable[T], call: Callable[[T], Awaitable[R]], limit: int = CONCURRENCY
) -> list[R]:
    """``call`` on every item, at most ``limit`` at a time; the results in the items' order.

    The first failure cancels the calls still running, so none outlives the client it uses.
    """
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with gate:
            return await call(item)

    tasks = [asyncio.ensure_future(one(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _count(body: Any, key: str) -> int | None:
    value = (body.get("pagination") or {}).get(key) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def read_pages(
    client: VendorClient,
    path: str,
    query: dict[str, Any],
    records_at: str,
    *,
    max_records: int | None = None,
    offset: int = 0,
) -> Listing:
    """Every record of an offset-paged list from ``offset`` (at most ``max_records``), pages in parallel."""
    paging = OffsetPaging(records_at=(records_at,), total_at=("pagination", "total"))
    size = min(PAGE_SIZE, max_records) if max_records else PAGE_SIZE
    first_query = {**query, "limit": size, "offset": offset}
    first = await client.request("GET", path, params=first_query)
    pages = [paging.records(first)]
    client.page_fetched(path, 1, len(pages[0]))
    total, unfiltered = _count(first, "total"), _count(first, "unfiltered_total")
    available = None if total is None else max(total - offset, 0)
    wanted = available if max_records is None or available is None else min(available, max_records)
    if total is None:
        # No total to plan with: follow the pages one after the other.
        next_query = paging.next_params(first, first_query)
        if next_query is not None:
            remaining = None if max_records is None else max_records - len(pages[0])
            async for page in client.pages(path, next_query, paging, max_records=remaining):
                pages.append(page.records)
    elif wanted is not None and len(pages[0]) < wanted:
        # The vendor may cap limit: step by the page size it really served.
        step = min(_count(first, "limit") or size, len(pages[0]) or size)
        starts = list(range(offset + step, offset + wanted, step))

        async def fetch(start: int) -> list[dict[str, Any]]:
            body = await client.request("GET", path, params={**query, "limit": step, "offset": start})
            records = paging.records(body)
            client.page_fetched(path, (start - offset) // step + 1, len(records))
            return records

        pages.extend(await gather_bounded(starts, fetch))
    return Listing(_distinct(pages, max_records), total, unfiltered)


def _distinct(pages: list[list[dict[str, Any]]], max_records: int | None) -> list[dict[str, Any]]:
    """The pages' records in order, each id once: a record that moved a page between two reads shows twice."""
    seen: set[Any] = set()
    records = []
    for page in pages:
        for record in page:
            key = record.get("id")
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            records.append(record)
    return records if max_records is None else records[:max_records]
