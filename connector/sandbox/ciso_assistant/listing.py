"""What ``GET /api/incidents/`` does with its query: django-filter, SearchFilter, OrderingFilter, paging.

- Relation filters (``folder`` and every many-to-many field) are ModelMultipleChoiceFilters: values
  may repeat the parameter or be comma-separated, several values match any of them, and a value
  that is not a known object is a 400 (``Select a valid choice. ...``), as django-filter answers.
- ``id`` is an "in" filter: comma-separated or repeated uuids; unknown ids simply match nothing.
- ``severity``, ``status``, ``detection`` are MultipleChoiceFilters: repeat the parameter for
  several values (no comma splitting, like django-filter); an unknown value is a 400.
- ``created_at__gte``/``__lt`` and ``updated_at__gte``/``__lt`` take ISO 8601 instants (400
  ``Enter a valid date/time.`` otherwise). Any other parameter, ``ref_id`` included, is ignored.
- ``search`` splits on spaces and commas; every term must occur (case-insensitively) in the name,
  description or ref_id.
- ``ordering`` takes comma-separated model fields with an optional ``-`` (severity by its stored
  integer); unknown fields are dropped as DRF's OrderingFilter does, and with none left the
  default ``created_at`` applies. NULLs sort last ascending and first descending, ties keep
  creation order.
- LimitOffsetPagination with a default limit of 5000 and no maximum; a bad ``limit`` falls back to
  the default and a bad ``offset`` to 0, as DRF does. ``next``/``previous`` are relative links
  under the mount point with the query parameters sorted, as DRF's ``replace_query_param`` writes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from connector.sandbox.ciso_assistant.store import (
    DETECTION_LABELS,
    RELATIONS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Store,
)
from connector.sandbox.ciso_assistant.writes import canonical_uuid, parse_datetime

DEFAULT_LIMIT = 5000
ORDERING_FIELDS = frozenset(
    {"id", "name", "description", "ref_id", "severity", "status", "detection", "link", "is_published",
     "created_at", "updated_at", "reported_at", "occurred_at", "resolved_at", "resolution", "is_bcp_activated"}
)
DEFAULT_ORDERING = ("created_at",)
SEARCH_FIELDS = ("name", "description", "ref_id")
_RELATION_FILTERS = ("folder", *RELATIONS)
_DATE_FILTERS = ("created_at__gte", "created_at__lt", "updated_at__gte", "updated_at__lt")
_CHOICE_FILTERS: dict[str, Mapping[Any, str]] = {
    "severity": SEVERITY_LABELS, "status": STATUS_LABELS, "detection": DETECTION_LABELS,
}

_T = TypeVar("_T")
Predicate = Callable[[Incident], bool]


class QueryInvalid(Exception):
    """Filter values django-filter would reject; ``errors`` is the 400 body ``{param: [messages]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _values(params: QueryParams, name: str, *, split_commas: bool) -> list[str]:
    raw = params.getlist(name)
    if split_commas:
        raw = [part for value in raw for part in value.split(",")]
    return [value.strip() for value in raw if value.strip()]


def _known_uuids(values: list[str], known: Mapping[str, object]) -> set[str]:
    """The uuids of ``values``; raise with django-filter's message on the first bad or unknown one."""
    chosen: set[str] = set()
    for value in values:
        pk = canonical_uuid(value)
        if pk is None:
            raise ValueError(f"“{value}” is not a valid value.")
        if pk not in known:
            raise ValueError(f"Select a valid choice. {value} is not one of the available choices.")
        chosen.add(pk)
    return chosen


def _relation_predicate(name: str, params: QueryParams, store: Store) -> Predicate | None:
    values = _values(params, name, split_commas=True)
    if not values:
        return None
    if name == "folder":
        folders = _known_uuids(values, store.folders)
        return lambda incident: incident.folder in folders
    wanted = _known_uuids(values, store.related[name])
    return lambda incident: not wanted.isdisjoint(incident.relations[name])


def _date_predicate(name: str, params: QueryParams) -> Predicate | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        bound = parse_datetime(text)
    except ValueError:
        raise ValueError("Enter a valid date/time.") from None
    field, lookup = name.split("__")
    if lookup == "gte":
        return lambda incident: getattr(incident, field) >= bound
    return lambda incident: getattr(incident, field) < bound


def _id_predicate(params: QueryParams) -> Predicate | None:
    values = _values(params, "id", split_commas=True)
    if not values:
        return None
    ids = {canonical_uuid(value) for value in values}
    if None in ids:
        raise ValueError("Enter a valid UUID.")
    return lambda incident: incident.id in ids


def _choice_predicate(name: str, params: QueryParams) -> Predicate | None:
    values = _values(params, name, split_commas=False)
    if not values:
        return None
    by_text = {str(key): key for key in _CHOICE_FILTERS[name]}
    for value in values:
        if value not in by_text:
            raise ValueError(f"Select a valid choice. {value} is not one of the available choices.")
    wanted = {by_text[value] for value in values}
    return lambda incident: getattr(incident, name) in wanted


def _search_predicate(params: QueryParams) -> Predicate | None:
    terms = [term.strip("\"'").casefold() for term in re.split(r"[\s,]+", params.get("search", ""))]
    terms = [term for term in terms if term]
    if not terms:
        return None

    def matches(incident: Incident) -> bool:
        haystacks = [str(getattr(incident, name) or "").casefold() for name in SEARCH_FIELDS]
        return all(any(term in haystack for haystack in haystacks) for term in terms)

    return matches


def _predicates(params: QueryParams, store: Store) -> list[Predicate]:
    builders: list[tuple[str, Callable[[], Predicate | None]]] = [
        *((name, partial(_relation_predicate, name, params, store)) for name in _RELATION_FILTERS),
        ("id", partial(_id_predicate, params)),
        *((name, partial(_choice_predicate, name, params)) for name in _CHOICE_FILTERS),
        *((name, partial(_date_predicate, name, params)) for name in _DATE_FILTERS),
    ]
    predicates: list[Predicate] = []
    errors: dict[str, list[str]] = {}
    for name, build in builders:
        try:
            predicate = build()
        except ValueError as problem:
            errors[name] = [str(problem)]
            continue
        if predicate is not None:
            predicates.append(predicate)
    if errors:
        raise QueryInvalid(errors)
    search = _search_predicate(params)
    return predicates if search is None else [*predicates, search]


def ordering_of(params: QueryParams) -> tuple[str, ...]:
    """The valid ``ordering`` fields, or the default when none is given or valid."""
    requested = [field.strip() for field in params.get("ordering", "").split(",")]
    valid = tuple(field for field in requested if field.lstrip("-") in ORDERING_FIELDS)
    return valid or DEFAULT_ORDERING


def _sort_key(name: str, incident: Incident) -> tuple[bool, Any]:
    value = getattr(incident, name)
    return (value is None, 0 if value is None else value)


def _sort(incidents: list[Incident], ordering: Sequence[str]) -> list[Incident]:
    ordered = list(incidents)
    # stable sorts from the last key to the first give a multi-key sort with per-key direction
    for field in reversed(ordering):
        name = field.lstrip("-")
        ordered.sort(key=partial(_sort_key, name), reverse=field.startswith("-"))
    return ordered


def select(store: Store, params: QueryParams) -> list[Incident]:
    """The incidents the list query asks for, filtered, searched and ordered (not yet paged)."""
    predicates = _predicates(params, store)
    chosen = [inc for inc in store.incidents.values() if all(check(inc) for check in predicates)]
    return _sort(chosen, ordering_of(params))


@dataclass
class Page:
    """One LimitOffsetPagination page: total count, neighbour links and the slice."""

    count: int
    next: str | None
    previous: str | None
    items: list[Any]

    def envelope(self) -> dict[str, Any]:
        """The DRF answer ``{count, next, previous, results}``."""
        return {"count": self.count, "next": self.next, "previous": self.previous, "results": self.items}


def _non_negative(text: str | None, *, strict: bool) -> int:
    """DRF's ``_positive_int``: raise ValueError below 0 (or at 0 when strict)."""
    number = int(text or "")
    if number < 0 or (number == 0 and strict):
        raise ValueError(text)
    return number


def _link(base: str, params: QueryParams, replace: Mapping[str, int], drop: Iterable[str] = ()) -> str:
    query: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        query.setdefault(key, []).append(value)
    for key in drop:
        query.pop(key, None)
    for key, number in replace.items():
        query[key] = [str(number)]
    return f"{base}?{urlencode(sorted(query.items()), doseq=True)}"


def paginate(items: list[_T], params: QueryParams, base: str) -> Page:
    """Slice ``items`` by ``limit``/``offset`` and build the links relative to ``base`` (the list URL)."""
    try:
        limit = _non_negative(params.get("limit"), strict=True)
    except ValueError:
        limit = DEFAULT_LIMIT
    try:
        offset = _non_negative(params.get("offset"), strict=False)
    except ValueError:
        offset = 0
    count = len(items)
    following = None
    if offset + limit < count:
        following = _link(base, params, {"limit": limit, "offset": offset + limit})
    if offset <= 0:
        preceding = None
    elif offset - limit <= 0:
        preceding = _link(base, params, {"limit": limit}, drop=("offset",))
    else:
        preceding = _link(base, params, {"limit": limit, "offset": offset - limit})
    return Page(count, following, preceding, items[offset : offset + limit])
