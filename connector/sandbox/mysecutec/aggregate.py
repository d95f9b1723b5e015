"""Counting endpoints: the facet counts of ``GET /threats/filter`` and ``POST /threats/aggregate``.

Aggregate paths are top-level threat fields (``severity``, ``status``, ``asset.type`` ...), the alias
``license_module``, ``<timestamp>.year|month|day`` (integers, null when the timestamp is) and any dotted
``data.*`` path, as the real endpoint reads JSONB (a path no record has groups everything under null).
Groups come back ordered by their values, nulls last, severity from critical down; deleted threats are
never counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from connector.sandbox.mysecutec.data import (
    LABELS,
    MODULES,
    SEVERITIES,
    STATUSES,
    SYSTEM_STATUSES,
    USER_STATUSES,
    StoredThreat,
)
from connector.sandbox.mysecutec.errors import bad_request
from connector.sandbox.mysecutec.query import MAX_LIMIT, ThreatQuery, value_at

Resolver = Callable[[Mapping[str, Any]], Any]

# facet name -> (dotted path, values in the documented order)
_FACETS = (
    ("statuses", "status", STATUSES),
    ("severities", "severity", SEVERITIES),
    ("system_statuses", "system_status", SYSTEM_STATUSES),
    ("user_statuses", "user_status", USER_STATUSES),
    ("license_modules", "tech_solution.license_module_slug", MODULES),
)
_SCALAR_PATHS = frozenset({
    "id", "name", "external_id", "severity", "status", "system_status", "user_status", "cvss_score",
    "days_to_remediate", "risk_priority_score", "asset_id", "asset.type", "asset.name",
    "tech_solution.tech_solution_slug", "tech_solution.license_module_slug",
})
_TIME_FIELDS = frozenset({"first_seen_at", "created_at", "updated_at", "status_updated_at"})
_TIME_PARTS = {"year": slice(0, 4), "month": slice(5, 7), "day": slice(8, 10)}
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}


class AggregateField(BaseModel):
    """A path and the key it takes in each result (default: the path's last step)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    alias: str | None = None


class JsonbFilter(BaseModel):
    """Keep threats whose value at ``path`` is one of ``values``."""

    model_config = ConfigDict(extra="forbid")

    path: str
    values: list[Any] = Field(min_length=1)


class AggregateFilters(BaseModel):
    """The filters the aggregate endpoint knows."""

    model_config = ConfigDict(extra="forbid")

    license_module: list[str] | None = None
    jsonb_filters: list[JsonbFilter] = Field(default_factory=list)


class ThreatAggregateRequest(BaseModel):
    """Body of ``POST /tam/v1/threats/aggregate``."""

    model_config = ConfigDict(extra="forbid")

    group_by: list[AggregateField] = Field(default_factory=list)
    select: list[AggregateField] = Field(default_factory=list)
    filters: AggregateFilters = Field(default_factory=AggregateFilters)
    limit: int = Field(default=100, ge=1)
    offset: int = Field(default=0, ge=0)


def facet_counts(threats: Iterable[StoredThreat], query: ThreatQuery) -> dict[str, list[dict[str, Any]]]:
    """Per facet value: how many live threats have it, and how many of those the query keeps.

    One pass over ``threats``, which may be built as they are read.
    """
    live: list[StoredThreat] = []
    kept: list[StoredThreat] = []
    for threat in threats:
        if not threat.deleted:
            live.append(threat)
        if query.matches(threat):
            kept.append(threat)
    answer = {}
    for facet, path, values in _FACETS:
        unfiltered = _tally(live, path)
        filtered = _tally(kept, path)
        answer[facet] = [
            {"label": LABELS[value], "value": value, "unfiltered_total": unfiltered.get(value, 0),
             "filtered_total": filtered.get(value, 0)}
            for value in values
        ]
    return answer


def aggregate(threats: Iterable[StoredThreat], request: ThreatAggregateRequest) -> dict[str, Any]:
    """The aggregate answer: one result per group, paged, with the number of groups."""
    groups = [(_alias(item), item.path, resolve(item.path)) for item in request.group_by]
    selects = [(_alias(item), None if item.path == "id" else resolve(item.path)) for item in request.select]
    selects = selects or [("count", None)]
    aliases = [alias for alias, _, _ in groups] + [alias for alias, _ in selects]
    if len(set(aliases)) != len(aliases):
        raise bad_request("aliases must be unique across group_by and select", code="validation_error")
    kept = _predicate(request.filters)
    records = [threat.record for threat in threats if not threat.deleted and kept(threat.record)]

    buckets: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[Mapping[str, Any]]]] = {}
    for record in records:
        values = tuple(resolver(record) for _, _, resolver in groups)
        buckets.setdefault(tuple(_hashable(value) for value in values), (values, []))[1].append(record)
    paths = [path for _, path, _ in groups]
    ordered = sorted(buckets.values(), key=lambda bucket: [
        _order(path, value) for path, value in zip(paths, bucket[0], strict=True)])
    results = []
    for values, members in ordered:
        row = {alias: value for (alias, _, _), value in zip(groups, values, strict=True)}
        for alias, resolver in selects:
            row[alias] = len(members) if resolver is None else sum(resolver(r) is not None for r in members)
        results.append(row)
    limit = min(request.limit, MAX_LIMIT)
    return {
        "pagination": {"limit": limit, "offset": request.offset, "total": len(results)},
        "results": results[request.offset:request.offset + limit],
        "total": len(results),
    }


def resolve(path: str) -> Resolver:
    """How to read ``path`` from a threat record; a 400 for a path the endpoint does not know."""
    if path == "license_module":
        return lambda record: record["tech_solution"]["license_module_slug"]
    head, _, part = path.rpartition(".")
    if head in _TIME_FIELDS and part in _TIME_PARTS:
        piece = _TIME_PARTS[part]
        return lambda record: None if record[head] is None else int(record[head][piece])
    if path in _SCALAR_PATHS or (path.startswith("data.") and all(path.split("."))):
        return lambda record: value_at(record, path)
    raise bad_request(f"unknown path '{path}'")


def _predicate(filters: AggregateFilters) -> Callable[[Mapping[str, Any]], bool]:
    """The request's filters, validated once, as a test on a record."""
    modules = filters.license_module
    for module in modules or ():
        if module not in MODULES:
            raise bad_request(f"filters.license_module: '{module}' is not one of {', '.join(MODULES)}")
    tests = [(resolve(item.path), item.values) for item in filters.jsonb_filters]

    def kept(record: Mapping[str, Any]) -> bool:
        if modules is not None and record["tech_solution"]["license_module_slug"] not in modules:
            return False
        return all(resolver(record) in values for resolver, values in tests)

    return kept


def _alias(item: AggregateField) -> str:
    return item.alias or item.path.rsplit(".", 1)[-1]


def _tally(threats: Sequence[StoredThreat], path: str) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for threat in threats:
        value = value_at(threat.record, path)
        counts[value] = counts.get(value, 0) + 1
    return counts


def _hashable(value: Any) -> Any:
    """Lists and objects under ``data`` group by their canonical JSON."""
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return value


def _order(path: str, value: Any) -> tuple[bool, Any, Any]:
    if value is None:
        return (True, "", 0)
    if path == "severity":
        return (False, "", _SEVERITY_ORDER.get(value, len(SEVERITIES)))
    # The type name keeps values of different JSON types (rare in JSONB) from being compared.
    return (False, type(value).__name__, _hashable(value))
