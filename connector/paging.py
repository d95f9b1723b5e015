"""Paging styles as small strategies: where the records are, and what to ask for next.

Each strategy answers two questions about a decoded page (see :class:`connector.http.Paging`).
The HTTP layer drives them and stops on a repeated query, so a vendor that loops cannot make a
read run forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.errors import BadVendorAnswer


def _dig(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _records(body: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    found = _dig(body, path)
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise BadVendorAnswer(f"expected a list of objects at {'.'.join(path)}, got {type(found).__name__}")
    return found


@dataclass(frozen=True)
class CursorPaging:
    """An opaque cursor in each page; the end is a null cursor (the string "null" counts too)."""

    records_at: tuple[str, ...] = ("data",)
    cursor_at: tuple[str, ...] = ("pagination", "nextCursor")
    cursor_param: str = "cursor"

    def records(self, body: Any) -> list[dict[str, Any]]:
        """The records of one page."""
        return _records(body, self.records_at)

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The same query with the next cursor, or None at the end."""
        cursor = _dig(body, self.cursor_at)
        # Some captured payloads carry the string "null"; the live API sends JSON null.
        if cursor in (None, "", "null"):
            return None
        without_skip = {key: value for key, value in params.items() if key != "skip"}
        return {**without_skip, self.cursor_param: cursor}


@dataclass(frozen=True)
class OffsetPaging:
    """``limit``/``offset`` queries; the end is a short page or an offset past the total."""

    records_at: tuple[str, ...]
    total_at: tuple[str, ...] | None = None
    limit_param: str = "limit"
    offset_param: str = "offset"

    def records(self, body: Any) -> list[dict[str, Any]]:
        """The records of one page."""
        return _records(body, self.records_at)

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query for the following offset, or None once every record was read."""
        limit = int(params[self.limit_param])
        offset = int(params.get(self.offset_param, 0)) + limit
        got = len(self.records(body))
        total = _dig(body, self.total_at) if self.total_at else None
        if got < limit or (isinstance(total, int) and offset >= total):
            return None
        return {**params, self.offset_param: offset}


@dataclass(frozen=True)
class PageNumberPaging:
    """``page``/``size`` queries with a ``has_next`` flag in each page."""

    records_at: tuple[str, ...] = ("data",)
    page_param: str = "page"
    has_next_at: tuple[str, ...] = ("has_next",)

    def records(self, body: Any) -> list[dict[str, Any]]:
        """The records of one page."""
        return _records(body, self.records_at)

    def next_params(self, body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """The query for the next page number, or None when the vendor says there is none."""
        if not _dig(body, self.has_next_at):
            return None
        return {**params, self.page_param: int(params.get(self.page_param, 0)) + 1}
