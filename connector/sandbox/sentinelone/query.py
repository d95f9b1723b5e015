"""Paging, sorting and the cursor of SentinelOne's ``GET /web/api/v2.1/threats``, and POST filters.

Every query parameter of the spec file is known, by its real camelCase name: the filters in
``filters.FILTERS`` plus the parameters here that shape the answer.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from connector.sandbox.sentinelone.filters import (
    FILTERS,
    Getter,
    Predicate,
    info_field,
    parse_bool,
    realtime_field,
    validation_error,
)

MAX_LIMIT = 1000
MAX_SKIP = 1000
DEFAULT_LIMIT = 10

PAGING_PARAMS = frozenset({"limit", "skip", "cursor", "sortBy", "sortOrder", "countOnly", "skipCount"})
"""Documented parameters that shape the answer rather than select threats."""

# Documented, accepted, and without effect here: countsFor asks for per-field counts the sandbox does not
# compute, tenant scopes a multi-tenant console and the sandbox has one tenant; noteExists is handled by
# the store, which holds the notes.
IGNORED_PARAMS = frozenset({"countsFor", "tenant"})
NOTE_EXISTS = "noteExists"

DOCUMENTED_PARAMS = frozenset(FILTERS) | PAGING_PARAMS | IGNORED_PARAMS | {NOTE_EXISTS}
"""All query parameters of the spec file; anything else is answered with a 400."""

SORT_FIELDS: Mapping[str, Getter] = {
    "createdAt": info_field("createdAt"),
    "updatedAt": info_field("updatedAt"),
    "identifiedAt": info_field("identifiedAt"),
    "id": lambda threat: threat["id"],
    "threatName": info_field("threatName"),
    "classification": info_field("classification"),
    "confidenceLevel": info_field("confidenceLevel"),
    "analystVerdict": info_field("analystVerdict"),
    "incidentStatus": info_field("incidentStatus"),
    "mitigationStatus": info_field("mitigationStatus"),
    "filePath": info_field("filePath"),
    "agentComputerName": realtime_field("agentComputerName"),
    "agentOsType": realtime_field("agentOsType"),
    "agentMachineType": realtime_field("agentMachineType"),
    "agentVersion": realtime_field("agentVersion"),
    "siteName": realtime_field("siteName"),
}
"""The sortBy values; every sort breaks ties by id, so paging positions are total."""

IMMUTABLE_SORTS = frozenset(SORT_FIELDS).difference(
    {"updatedAt", "analystVerdict", "incidentStatus", "mitigationStatus"}
)
"""Sort keys no sandbox action changes: orders by these survive updates."""


@dataclass(frozen=True)
class Cursor:
    """A paging position: the sort and the (sort value, id) of the last record already returned."""

    sort_by: str
    descending: bool
    value: str
    threat_id: str

    def encode(self) -> str:
        """The opaque base64 string clients send back as ``cursor``."""
        position = [self.sort_by, self.descending, self.value, self.threat_id]
        return base64.b64encode(orjson.dumps(position)).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor produced by :meth:`encode`; 400 when it is not one."""
        try:
            sort_by, descending, value, threat_id = orjson.loads(base64.b64decode(text, validate=True))
        except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
            raise validation_error("cursor: not a cursor returned by this API") from None
        if sort_by not in SORT_FIELDS or not all(isinstance(v, str) for v in (value, threat_id)):
            raise validation_error("cursor: not a cursor returned by this API")
        return cls(sort_by, bool(descending), value, threat_id)


@dataclass(frozen=True)
class ListQuery:
    """A parsed ``GET /threats`` request; ``filters`` is what the predicates were built from, as a key."""

    predicates: tuple[Predicate, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    limit: int
    skip: int
    cursor: Cursor | None
    sort_by: str
    descending: bool
    count_only: bool
    skip_count: bool


def _note_exists(wanted: bool, has_notes: Callable[[str], bool]) -> Predicate:
    return lambda threat: has_notes(threat["id"]) == wanted


def build_predicates(params: Mapping[str, list[str]], has_notes: Callable[[str], bool]) -> list[Predicate]:
    """Predicates for the filter parameters among ``params`` (name -> raw values); 400 on unknown names."""
    predicates: list[Predicate] = []
    for name, raw in params.items():
        if name not in DOCUMENTED_PARAMS:
            raise validation_error(f"unknown filter {name!r}: not a parameter of GET /web/api/v2.1/threats")
        if name == NOTE_EXISTS:
            predicates.append(_note_exists(parse_bool(name, raw[-1]), has_notes))
        elif name in FILTERS:
            predicates.append(FILTERS[name](name, raw))
    return predicates


def _integer(name: str, raw: list[str] | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw[-1])
    except ValueError:
        raise validation_error(f"{name}: {raw[-1]!r} is not an integer") from None
    if not low <= value <= high:
        raise validation_error(f"{name}: must be between {low} and {high}, got {value}")
    return value


def parse_list_query(params: Mapping[str, list[str]], has_notes: Callable[[str], bool]) -> ListQuery:
    """Validate and parse the query string of ``GET /threats`` (name -> every value it was given)."""
    predicates = build_predicates(params, has_notes)
    sort_by = params.get("sortBy", ["createdAt"])[-1]
    if sort_by not in SORT_FIELDS:
        raise validation_error(f"sortBy: {sort_by!r} not one of {', '.join(sorted(SORT_FIELDS))}")
    order = params.get("sortOrder", ["asc"])[-1].lower()
    if order not in ("asc", "desc"):
        raise validation_error(f"sortOrder: {order!r} not one of asc, desc")
    cursor = Cursor.decode(params["cursor"][-1]) if "cursor" in params else None
    if cursor is not None and (cursor.sort_by, cursor.descending) != (sort_by, order == "desc"):
        raise validation_error("cursor: it was issued for another sortBy/sortOrder than this request's")
    return ListQuery(
        predicates=tuple(predicates),
        filters=tuple(sorted((name, tuple(raw)) for name, raw in params.items() if name not in PAGING_PARAMS)),
        limit=_integer("limit", params.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        skip=_integer("skip", params.get("skip"), 0, 0, MAX_SKIP),
        cursor=cursor,
        sort_by=sort_by,
        descending=order == "desc",
        count_only="countOnly" in params and parse_bool("countOnly", params["countOnly"][-1]),
        skip_count="skipCount" in params and parse_bool("skipCount", params["skipCount"][-1]),
    )


def body_filter_params(raw: Any) -> dict[str, list[str]]:
    """A POST body's ``filter`` object as query-style params; 400 when absent, empty or holding paging keys.

    An empty filter would select every threat, so it is refused rather than applied to the whole console.
    """
    if not isinstance(raw, dict) or not raw:
        raise validation_error("filter: required, a non-empty object such as {\"ids\": [\"...\"]}")
    params: dict[str, list[str]] = {}
    for name, value in raw.items():
        if name in PAGING_PARAMS or name in IGNORED_PARAMS:
            raise validation_error(f"filter: {name!r} is not a filter")
        values = value if isinstance(value, list) else [value]
        params[name] = [str(item).lower() if isinstance(item, bool) else str(item) for item in values]
    return params
