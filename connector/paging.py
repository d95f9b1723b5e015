"""Paging styles as small strategies: where the records are, and what to ask for next.

Each strategy answers questions about a decoded page (see :class:`Paging`): the
records, the query of the next page, and, for styles that number their pages, every remaining
query at once once the first page told the total (so the HTTP layer can fetch them concurrently).
``resume_key`` names the query parameter that says where a walk stands: a failed walk reports it
(``meta.resume``) and a later run starts from it. The HTTP layer drives the strategies and stops
on a repeated query, so a vendor that loops cannot make a read run forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from connector.errors import BadVendorAnswer


@dataclass(frozen=True)
class Page:
    """One page of a paged read: its records, the decoded body for totals and the like, its number.

    The first page is always yielded, even empty, so that its totals can be read.
    """

    records: list[Any]
    """Objects as a rule; anything else a vendor put in the list is refused when mapped, alone."""
    body: Any
    number: int = 1


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


def query_value(value: Any) -> str | int:
    """A filter value as vendors read it in a query string: lists comma-separated, booleans true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return value if isinstance(value, int) else str(value)


def _dig(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _records(body: Any, path: tuple[str, ...]) -> list[Any]:
    # Items that are not objects stay in: each is refused on its own when mapped, not the whole page.
    found = _dig(body, path)
    if found is None:
        return []
    if not isinstance(found, list):
        raise BadVendorAnswer(f"expected a list of objects at {'.'.join(path)}, got {type(found).__name__}")
    return found


def _count(body: Any, path: tuple[str, ...] | None) -> int | None:
    value = _dig(body, path) if path else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class CursorPaging:
    """An opaque cursor in each page; the end is a null cursor (the string "null" counts too)."""

    records_at: tuple[str, ...] = ("data",)
    cursor_at: tuple[str, ...] = ("pagination", "nextCursor")
    cursor_param: str = "cursor"

    @property
    def resume_key(self) -> str:
        """The parameter a walk resumes from: the cursor."""
        return self.cursor_param

    def records(self, body: Any) -> list[Any]:
        """The records of one page (objects, unless the vendor sent something else)."""
        return _records(body, self.records_at)

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The same query with the next cursor, or None at the end."""
        cursor = _dig(body, self.cursor_at)
        # Some captured payloads carry the string "null"; the live API sends JSON null.
        if cursor in (None, "", "null"):
            return None
        return {**self.resumed(params), self.cursor_param: cursor}

    def resumed(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` fit to go on from a cursor: a skip would apply twice."""
        return {key: value for key, value in params.items() if key != "skip"}

    def plan(self, body: Any, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """A cursor is known one page at a time: nothing to plan."""
        return None


@dataclass(frozen=True)
class OffsetPaging:
    """``limit``/``offset`` queries; the end is a short page or an offset past the total."""

    records_at: tuple[str, ...]
    total_at: tuple[str, ...] | None = None
    limit_param: str = "limit"
    offset_param: str = "offset"

    @property
    def resume_key(self) -> str:
        """The parameter a walk resumes from: the offset."""
        return self.offset_param

    def records(self, body: Any) -> list[Any]:
        """The records of one page (objects, unless the vendor sent something else)."""
        return _records(body, self.records_at)

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query for the following offset, or None once every record was read."""
        limit = int(params[self.limit_param])
        offset = int(params.get(self.offset_param, 0)) + limit
        got = len(self.records(body))
        total = _count(body, self.total_at)
        if got < limit or (total is not None and offset >= total):
            return None
        return {**params, self.offset_param: offset}

    def resumed(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` as they are: the offset says it all."""
        return params

    def plan(self, body: Any, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Every query after the first page, from the total it gave (None without a total).

        A vendor may serve fewer records than ``limit`` asked for (a cap): the plan steps by the
        size it really served, so no record falls between two pages.
        """
        total = _count(body, self.total_at)
        served = len(self.records(body))
        if total is None or served == 0:
            return None
        limit = int(params[self.limit_param])
        step = min(limit, served)
        start = int(params.get(self.offset_param, 0))
        return [{**params, self.limit_param: step, self.offset_param: offset}
                for offset in range(start + served, total, step)]


@dataclass(frozen=True)
class PageNumberPaging:
    """``page``/``size`` queries with a ``has_next`` flag in each page."""

    records_at: tuple[str, ...] = ("data",)
    page_param: str = "page"
    has_next_at: tuple[str, ...] = ("has_next",)
    total_pages_at: tuple[str, ...] | None = None

    @property
    def resume_key(self) -> str:
        """The parameter a walk resumes from: the page number."""
        return self.page_param

    def records(self, body: Any) -> list[Any]:
        """The records of one page (objects, unless the vendor sent something else)."""
        return _records(body, self.records_at)

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query for the next page number, or None when the vendor says there is none."""
        if not _dig(body, self.has_next_at):
            return None
        return {**params, self.page_param: int(params.get(self.page_param, 0)) + 1}

    def resumed(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` as they are: the page number says it all."""
        return params

    def plan(self, body: Any, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Every query after the first page, from the number of pages it gave (None without it)."""
        pages = _count(body, self.total_pages_at)
        if pages is None or not _dig(body, self.has_next_at):
            return None
        current = int(params.get(self.page_param, 0))
        return [{**params, self.page_param: number} for number in range(current + 1, max(pages, current + 1))]

