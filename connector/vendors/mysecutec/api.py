"""How MySecutec TAM is called: paths, offset paging fetched concurrently, bounded concurrency.

Lists answer ``{"pagination": {"limit", "offset", "total", "unfiltered_total"?}, "<records>": [...]}``.
A read fetches the first page, learns the total and the page size the vendor really used (it may
cap ``limit``), then the HTTP layer fetches the other pages a few at a time (the client's rate
limiter still applies) and yields them in offset order; an id seen twice is dropped. Without a
total in the first page it walks page after page instead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import orjson

from connector.context import RunContext
from connector.errors import BadInput, VendorError
from connector.http import Decode
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


@dataclass
class Totals:
    """The vendor's counts from the first page of a list: matching records, and before filters."""

    total: int | None = None
    unfiltered_total: int | None = None


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
    run: RunContext,
    path: str,
    query: dict[str, Any],
    records_at: str,
    totals: Totals,
    *,
    max_records: int | None = None,
    offset: int = 0,
    resumable: bool = False,
    decode: Decode = orjson.loads,
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """The records of an offset-paged list from ``offset`` (at most ``max_records``), in order, a page's at once.

    The first page gives the totals (into ``totals``) and the page size the vendor really used;
    the other pages are fetched concurrently by the HTTP layer. A record that moved a page
    between two reads shows twice: it is handed out once (so this read keeps the ids it has seen).
    ``decode`` reads each page's body (see :meth:`connector.http.VendorClient.request`).
    """
    paging = OffsetPaging(records_at=(records_at,), total_at=("pagination", "total"))
    size = min(PAGE_SIZE, max_records) if max_records else PAGE_SIZE
    first_query = {**query, "limit": size, "offset": offset}
    seen: set[Any] = set()
    walk = run.pages(path, first_query, paging, max_records=max_records, resumable=resumable, decode=decode)
    async with aclosing(walk) as pages:
        async for page in pages:
            if page.number == 1:
                totals.total = _count(page.body, "total")
                totals.unfiltered_total = _count(page.body, "unfiltered_total")
            fresh = []
            for record in page.records:
                key = record.get("id") if isinstance(record, dict) else None
                # Only a well-formed id tells a repeat: records whose id a tool masked are all passed
                # on, to be refused one by one rather than lost as "repeats" of each other.
                if isinstance(key, str) and _THREAT_ID.match(key):
                    if key in seen:
                        continue
                    seen.add(key)
                fresh.append(record)
            yield fresh
