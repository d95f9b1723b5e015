"""Query strings of the list, filter and logs endpoints: filters, multi-field sort, paging and links.

Multi-valued filters take comma-separated values (``severity=critical,high``) or repeated parameters;
enumerated ones refuse values outside the spec's lists with a 400 rather than silently matching nothing.
Date bounds take an ISO date (a ``_to`` date includes that whole day) or an ISO date-time (naive means
UTC). Sorting is stable and puts nulls last in both directions; ``severity`` sorts by rank, so
``-severity`` starts with critical.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

from connector.sandbox.common import iso_z
from connector.sandbox.mysecutec.data import (
    ITEM_TYPES,
    MODULES,
    SEVERITIES,
    STATUSES,
    SYSTEM_STATUSES,
    USER_STATUSES,
    StoredThreat,
)
from connector.sandbox.mysecutec.errors import bad_request

MAX_LIMIT = 1000
"""Larger ``limit`` values are capped to this, as the real API caps its page size."""

SortKey = Callable[[Mapping[str, Any]], Any]
Order = list[tuple[SortKey, bool]]
T = TypeVar("T")

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}

# query parameter -> (dotted path in the threat, allowed values or None for free values)
_EQUALITY_FILTERS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("severity", "severity", SEVERITIES),
    ("status", "status", STATUSES),
    ("system_status", "system_status", SYSTEM_STATUSES),
    ("user_status", "user_status", USER_STATUSES),
    ("license_module", "tech_solution.license_module_slug", MODULES),
    ("threat_type", "data.item_type", ITEM_TYPES),
    ("asset_id", "asset_id", None),
    ("breach_category", "data.enriched.breach.category", None),
)
# timestamp field -> (lower-bound parameter, upper-bound parameter)
_RANGE_FILTERS = (
    ("first_seen_at", "first_seen_from", "first_seen_to"),
    ("updated_at", "updated_at_from", "updated_at_to"),
)


def _field(name: str) -> SortKey:
    return lambda record: record[name]


THREAT_SORT_FIELDS: dict[str, SortKey] = {
    **{name: _field(name) for name in (
        "id", "name", "external_id", "cvss_score", "days_to_remediate", "risk_priority_score", "status",
        "system_status", "user_status", "first_seen_at", "status_updated_at", "created_at", "updated_at",
        "asset_id",
    )},
    "severity": lambda record: _SEVERITY_RANK.get(record["severity"]),
    "license_module": lambda record: record["tech_solution"]["license_module_slug"],
}
LOG_SORT_FIELDS: dict[str, SortKey] = {
    name: _field(name) for name in ("id", "operation", "created_by", "created_at", "updated_at")
}


def value_at(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``data.enriched.breach.category``), None when any step is missing."""
    value: Any = record
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def query_values(params: QueryParams, name: str) -> list[str]:
    """A parameter's values, comma-separated and/or repeated, blanks dropped."""
    return [value.strip() for raw in params.getlist(name) for value in raw.split(",") if value.strip()]


def int_param(params: QueryParams, name: str, default: int, minimum: int) -> int:
    """An integer parameter no smaller than ``minimum``."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got '{raw}'") from None
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}, got {value}")
    return value


def bool_param(params: QueryParams, name: str, default: bool) -> bool:
    """A boolean parameter: true/false, 1/0 or yes/no."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise bad_request(f"{name} must be true or false, got '{raw}'")


def paging(params: QueryParams, default_limit: int) -> tuple[int, int]:
    """``(limit, offset)``: limit at least 1 and capped at MAX_LIMIT, offset at least 0."""
    limit = min(int_param(params, "limit", default_limit, 1), MAX_LIMIT)
    return limit, int_param(params, "offset", 0, 0)


def parse_sort(params: QueryParams, fields: Mapping[str, SortKey], default: str) -> Order:
    """``sort=-cvss_score,name`` as (key, descending) pairs, most significant first."""
    names = query_values(params, "sort") or [default]
    order: Order = []
    for name in names:
        descending = name.startswith("-")
        field = name.lstrip("-+")
        if field not in fields:
            raise bad_request(f"sort: unknown field '{field}' (sortable: {', '.join(sorted(fields))})")
        order.append((fields[field], descending))
    return order


def sort_items(items: Sequence[T], order: Order, record: Callable[[T], Mapping[str, Any]]) -> list[T]:
    """``items`` sorted by ``order``; stable, nulls last whichever the direction."""
    result = list(items)
    # Sorting by the least significant key first and relying on stability gives the multi-field order.
    for key, descending in reversed(order):
        present = [item for item in result if key(record(item)) is not None]
        missing = [item for item in result if key(record(item)) is None]
        present.sort(key=lambda item: key(record(item)), reverse=descending)
        result = present + missing
    return result


def page_links(
    request: Request, path: str, limit: int, offset: int, total: int
) -> tuple[str | None, str | None]:
    """Relative ``next``/``previous`` URLs of ``path`` keeping the other parameters; None at either end."""
    # The mount prefix (root_path) makes the links resolve under the host that mounts the simulator.
    base = request.scope.get("root_path", "") + path
    kept = [item for item in request.query_params.multi_items() if item[0] not in ("limit", "offset")]

    def link(to: int) -> str:
        return f"{base}?" + urlencode([("limit", str(limit)), ("offset", str(to)), *kept], safe=",:")

    next_link = link(offset + limit) if offset + limit < total else None
    previous_link = link(max(0, offset - limit)) if offset > 0 else None
    return next_link, previous_link


@dataclass(frozen=True, slots=True)
class ThreatQuery:
    """The list filters of one request, applied to stored threats by :meth:`matches`."""

    include_deleted: bool
    search: str
    equals: tuple[tuple[str, frozenset[str]], ...]
    ranges: tuple[tuple[str, str | None, str | None], ...]
    related_to: frozenset[str]

    def matches(self, threat: StoredThreat) -> bool:
        """Whether the threat passes every filter of the request."""
        if threat.deleted and not self.include_deleted:
            return False
        if self.search and self.search not in threat.search_text:
            return False
        record = threat.record
        for path, allowed in self.equals:
            if value_at(record, path) not in allowed:
                return False
        for name, low, high in self.ranges:
            value = record[name]
            # ISO strings in one fixed format compare like the instants they write.
            if value is None or (low is not None and value < low) or (high is not None and value > high):
                return False
        return not self.related_to or not threat.related_asset_ids.isdisjoint(self.related_to)


def parse_threat_query(params: QueryParams) -> ThreatQuery:
    """The filters of the list endpoint (also honoured by the filter endpoint), validated."""
    equals = []
    for name, path, allowed in _EQUALITY_FILTERS:
        values = query_values(params, name)
        if not values:
            continue
        if allowed is not None:
            for value in values:
                if value not in allowed:
                    raise bad_request(f"{name}: '{value}' is not one of {', '.join(allowed)}")
        equals.append((path, frozenset(values)))
    ranges = []
    for field, low_name, high_name in _RANGE_FILTERS:
        low, high = _instant(params, low_name, end_of_day=False), _instant(params, high_name, end_of_day=True)
        if low is not None or high is not None:
            ranges.append((field, low, high))
    return ThreatQuery(
        include_deleted=bool_param(params, "deleted", False),
        search=(params.get("search") or "").strip().lower(),
        equals=tuple(equals),
        ranges=tuple(ranges),
        related_to=frozenset(query_values(params, "related_to_asset_id")),
    )


def _instant(params: QueryParams, name: str, end_of_day: bool) -> str | None:
    """A date bound as an ISO string comparable with the records' timestamps."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
            return iso_z(day + timedelta(days=1, microseconds=-1) if end_of_day else day)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{name} must be an ISO 8601 date or date-time, got '{raw}'") from None
    return iso_z(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
