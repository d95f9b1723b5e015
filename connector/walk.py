"""The walk of one paged read: pages yielded in order, the next ones asked for ahead.

The next page is fetched while the caller handles the current one; when the first page tells how
many there are (offset or page numbers with a total), the rest are fetched :data:`CONCURRENCY` at
a time (another is asked for once the page awaited has arrived, so never more are out) and yielded
in order. So at most that many pages, plus the one in hand, are in memory. A
query sent twice is a paging loop (an error), so a vendor that loops cannot make a read run forever.

:attr:`Walk.position` is the query of the page being waited for: when a page fails, it is where
the read stopped (the run context turns it into ``meta.resume``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson

from connector.errors import BadVendorAnswer
from connector.paging import Page, Paging

CONCURRENCY = 4
"""Pages of one read in flight at once when their queries are known ahead; the rate limit still holds."""

Fetch = Callable[[dict[str, Any]], Awaitable[Any]]
"""Sends one page's query and answers its decoded body."""
Announce = Callable[[int, int], None]
"""Told of each page as it arrives: its number (from 1) and how many records it holds."""


class Walk:
    """``async for page in walk``: every page of one read, in order (see the module docstring)."""

    def __init__(
        self, fetch: Fetch, where: str, params: dict[str, Any], paging: Paging, *,
        max_records: int | None = None, announce: Announce | None = None,
    ) -> None:
        self._fetch_page, self._where, self._paging = fetch, where, paging
        self._remaining, self._announce = max_records, announce
        self.position = dict(params)
        """The query of the page being waited for (where the read stands)."""
        self._seen: set[bytes] = set()
        self._planned: deque[dict[str, Any]] | None = None
        self._in_flight: deque[tuple[dict[str, Any], asyncio.Future[Any]]] = deque()
        self._ahead: asyncio.Future[Any] | None = None
        self._pages = self._walk()

    def __aiter__(self) -> AsyncGenerator[Page, None]:
        return self._pages

    async def aclose(self) -> None:
        """Stop early: the requests still in flight are cancelled."""
        await self._pages.aclose()

    async def _walk(self) -> AsyncGenerator[Page, None]:
        fetch: asyncio.Future[Any] | None = self._first(self.position)
        number = 0
        try:
            while fetch is not None:
                body = await fetch
                if self._planned is not None:
                    self._top_up()  # the page awaited has arrived: another may go out
                records = self._paging.records(body)
                number += 1
                if self._announce is not None:
                    self._announce(number, len(records))
                if number == 1:
                    self._plan(_enough(self._paging.plan(body, self.position), self._remaining, len(records)))
                if self._remaining is not None:
                    records = records[: self._remaining]
                    self._remaining -= len(records)
                # Asked for before the caller handles this page: the next one arrives meanwhile.
                fetch = self._following(body) if self._remaining != 0 else None
                if records or number == 1:
                    yield Page(records, body, number)
        finally:
            await self._cancel()

    def _first(self, query: dict[str, Any]) -> asyncio.Future[Any]:
        self._ahead = self._fetch(query)
        return self._ahead

    def _plan(self, queries: list[dict[str, Any]] | None) -> None:
        """Every query still to send, known from the first page: they go out CONCURRENCY at a time."""
        if queries is not None:
            self._planned = deque(queries)
            self._top_up()

    def _following(self, body: Any) -> asyncio.Future[Any] | None:
        """The next page's answer to await (its query becomes the position); None after the last page."""
        if self._planned is not None:
            if not self._in_flight:
                return None
            self.position, fetch = self._in_flight.popleft()
            return fetch
        after = self._paging.next_params(body, self.position)
        if after is None:
            return None
        self._ahead = self._fetch(after)
        self.position = after
        return self._ahead

    async def _cancel(self) -> None:
        """Stop the requests still in flight (the caller stopped early, or a page failed)."""
        asked = [fetch for _, fetch in self._in_flight] + ([self._ahead] if self._ahead else [])
        self._in_flight.clear()
        pending = []
        for fetch in asked:
            if not fetch.done():
                fetch.cancel()
                pending.append(fetch)
            elif not fetch.cancelled():
                fetch.exception()  # retrieved, so that a failure nobody awaited is not reported as lost
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _top_up(self) -> None:
        assert self._planned is not None
        while self._planned and len(self._in_flight) < CONCURRENCY:
            query = self._planned.popleft()
            self._in_flight.append((query, self._fetch(query)))

    def _fetch(self, query: dict[str, Any]) -> asyncio.Future[Any]:
        fingerprint = orjson.dumps(query, option=orjson.OPT_SORT_KEYS)
        if fingerprint in self._seen:
            raise BadVendorAnswer(f"{self._where}: the vendor sent the same page twice (paging loop)")
        self._seen.add(fingerprint)
        return asyncio.ensure_future(self._fetch_page(query))


def _enough(planned: list[dict[str, Any]] | None, remaining: int | None, served: int) -> list[dict[str, Any]] | None:
    """The planned queries that ``remaining`` records need, when the first page served ``served``."""
    if planned is None or remaining is None:
        return planned
    needed = 0 if remaining <= served else -(-(remaining - served) // max(served, 1))
    return planned[:needed]
