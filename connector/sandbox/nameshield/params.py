"""Turning v2 query strings and v1 search bodies into predicates, sort orders and page bounds.

Every rule broken raises a 400 ``HTTPException`` naming the parameter; asking for a customer outside
the user's hierarchy raises 403. The app renders both in Nameshield's one error shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from connector.sandbox.nameshield.data import CRITICALITY_NAMES, OWN_CUSTOMER, SUBSIDIARIES, VISIBLE_CUSTOMERS
from connector.sandbox.nameshield.store import DEFAULT_ORDER, SORT_KEYS, Predicate, SortOrder, StoredEvent

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

_INTEGER = re.compile(r"-?\d+")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

CRITERION_FIELDS: dict[str, Callable[[StoredEvent], str]] = {
    "id": lambda event: event.id,
    "domain": lambda event: event.domain,
    "type": lambda event: event.type,
    "brand": lambda event: event.brand,
    "criticality": lambda event: event.criticality,
}
"""v1 criterion name -> the event text it tests (brand by name, criticality by level)."""

TEXT_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "EQUALS": str.__eq__,
    "CONTAINS": str.__contains__,
    "STARTS_WITH": str.startswith,
    "ENDS_WITH": str.endswith,
}
"""v1 operators taking one string; ``IN`` takes a list and is handled apart."""


@dataclass(frozen=True)
class ListQuery:
    """A parsed ``GET /cti/v2/events``."""

    predicates: tuple[Predicate, ...]
    orders: tuple[SortOrder, ...]
    page: int
    size: int


@dataclass(frozen=True)
class SearchQuery:
    """A parsed ``POST /cti/v1/events/search``."""

    predicates: tuple[Predicate, ...]
    limit: int
    offset: int


def bad_request(message: str) -> HTTPException:
    """A 400 carrying ``message`` to the client."""
    return HTTPException(400, message)


def parse_list_query(params: QueryParams) -> ListQuery:
    """Validate the v2 list parameters (empty ones count as absent); v2 never adds subsidiaries' events."""
    customer = _query_int(params, "customerId", OWN_CUSTOMER, minimum=None, maximum=None)
    predicates = [
        _customers(customer, with_children=False),
        # An empty value means "no filter", as Spring binds it.
        *_common_filters(params.get("criticality") or None, params.get("startedAt") or None,
                         params.get("endedAt") or None, names=("criticality", "startedAt", "endedAt")),
    ]
    domain = params.get("domain")
    if domain:
        needle = domain.lower()
        predicates.append(lambda event: needle in event.domain.lower())
    return ListQuery(
        predicates=tuple(predicates),
        orders=parse_sort(params.getlist("sort")),
        page=_query_int(params, "page", 0, minimum=0, maximum=None),
        size=_query_int(params, "size", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE),
    )


def parse_sort(values: Sequence[str]) -> tuple[SortOrder, ...]:
    """Spring-style sort: each value is ``attr[,attr...][,asc|desc]``, the direction applying to its attrs.

    ``sort=date,desc&sort=domain,asc`` and ``sort=date,domain`` both work; id is appended as the last
    tie-breaker so that paging is stable.
    """
    orders: list[SortOrder] = []
    for value in values:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            continue
        descending = False
        if parts[-1].lower() in ("asc", "desc"):
            descending = parts.pop().lower() == "desc"
            if not parts:
                raise bad_request(f"Invalid sort '{value}': a direction needs an attribute before it")
        for attribute in parts:
            if attribute not in SORT_KEYS:
                raise _not_one_of("sort attribute", attribute, SORT_KEYS)
            orders.append(SortOrder(attribute, descending))
    if not orders:
        return DEFAULT_ORDER
    if all(order.attribute != "id" for order in orders):
        orders.append(SortOrder("id"))
    return tuple(orders)


def parse_search_body(body: Any) -> SearchQuery:
    """Validate the v1 search body (``null`` values count as absent).

    Criteria combine with the top-level ``junction`` (AND by default, or OR); the result is then
    narrowed by customer, criticality and dates. ``started_At``, as the documentation's example spells
    it, is accepted beside ``started_at`` (likewise ``ended_At``); the lowercase key wins when both are sent.
    """
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    customer = _body_int(body, "customer_id", OWN_CUSTOMER, minimum=None, maximum=None)
    children = body.get("include_customer_children_events")
    if children is not None and not isinstance(children, bool):
        raise bad_request("Invalid include_customer_children_events: expected a boolean")
    started = _first_present(body, "started_at", "started_At")
    ended = _first_present(body, "ended_at", "ended_At")
    criticality = body.get("criticality")
    for name, value in (("criticality", criticality), ("started_at", started), ("ended_at", ended)):
        if value is not None and not isinstance(value, str):
            raise bad_request(f"Invalid {name}: expected a string")
    predicates = [
        _customers(customer, with_children=children is not False),
        *_common_filters(criticality, started, ended, names=("criticality", "started_at", "ended_at")),
        _criteria(body.get("query_parameters"), body.get("junction")),
    ]
    return SearchQuery(
        predicates=tuple(predicates),
        limit=_body_int(body, "limit", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE),
        offset=_body_int(body, "offset", 0, minimum=0, maximum=None),
    )


def _customers(customer: int, *, with_children: bool) -> Predicate:
    if customer not in VISIBLE_CUSTOMERS:
        raise HTTPException(403, f"Access denied to customer {customer}")
    wanted = frozenset({customer, *SUBSIDIARIES.get(customer, ())} if with_children else {customer})
    return lambda event: event.customer_id in wanted


def _common_filters(
    criticality: str | None, started: str | None, ended: str | None, *, names: tuple[str, str, str]
) -> list[Predicate]:
    predicates: list[Predicate] = []
    if criticality is not None:
        if criticality not in CRITICALITY_NAMES:
            raise _not_one_of(names[0], criticality, CRITICALITY_NAMES)
        predicates.append(lambda event: event.criticality == criticality)
    # Both bounds are inclusive: an event at exactly startedAt or endedAt is returned.
    if started is not None:
        start = _parse_datetime(started, names[1])
        predicates.append(lambda event: event.moment >= start)
    if ended is not None:
        end = _parse_datetime(ended, names[2])
        predicates.append(lambda event: event.moment <= end)
    return predicates


def _criteria(raw: Any, junction: Any) -> Predicate:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise bad_request("Invalid query_parameters: expected a list of {name, operator, value}")
    if junction is None:
        junction = "AND"
    if junction not in ("AND", "OR"):
        raise _not_one_of("junction", junction, ("AND", "OR"))
    tests = [_criterion(index, item) for index, item in enumerate(raw)]
    if not tests:
        return lambda event: True
    combine = all if junction == "AND" else any
    return lambda event: combine(test(event) for test in tests)


def _criterion(index: int, item: Any) -> Predicate:
    where = f"query_parameters[{index}]"
    if not isinstance(item, dict):
        raise bad_request(f"Invalid {where}: expected an object with name, operator and value")
    name, operator, value = item.get("name"), item.get("operator"), item.get("value")
    if name not in CRITERION_FIELDS:
        raise _not_one_of(f"{where}.name", name, CRITERION_FIELDS)
    field = CRITERION_FIELDS[name]
    # Comparisons ignore case: domains are case-insensitive and levels/types are enum names.
    if operator == "IN":
        if not isinstance(value, list) or not all(isinstance(choice, str) for choice in value):
            raise bad_request(f"Invalid {where}.value: IN expects a list of strings")
        choices = frozenset(choice.lower() for choice in value)
        return lambda event: field(event).lower() in choices
    if operator not in TEXT_OPERATORS:
        raise _not_one_of(f"{where}.operator", operator, [*TEXT_OPERATORS, "IN"])
    if not isinstance(value, str):
        raise bad_request(f"Invalid {where}.value: {operator} expects a string")
    compare, needle = TEXT_OPERATORS[operator], value.lower()
    return lambda event: compare(field(event).lower(), needle)


def _parse_datetime(raw: str, name: str) -> datetime:
    problem = f"Invalid {name} '{raw}': expected yyyy-MM-dd HH:mm:ss (UTC)"
    if not _DATETIME.fullmatch(raw):
        raise bad_request(problem)
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(problem) from None


def _query_int(
    params: QueryParams, name: str, default: int, *, minimum: int | None, maximum: int | None
) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.fullmatch(raw):
        raise bad_request(f"Invalid {name} '{raw}': expected an integer")
    return _bounded(int(raw), name, minimum, maximum)


def _body_int(
    body: dict[str, Any], name: str, default: int, *, minimum: int | None, maximum: int | None
) -> int:
    value = body.get(name)
    if value is None:
        return default
    # bool is an int in Python but not in JSON.
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"Invalid {name}: expected an integer")
    return _bounded(value, name, minimum, maximum)


def _bounded(value: int, name: str, minimum: int | None, maximum: int | None) -> int:
    if minimum is not None and value < minimum:
        raise bad_request(f"Invalid {name} {value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise bad_request(f"Invalid {name} {value}: must be at most {maximum}")
    return value


def _first_present(body: dict[str, Any], *keys: str) -> Any:
    return next((body[key] for key in keys if body.get(key) is not None), None)


def _not_one_of(what: str, value: object, choices: Iterable[str]) -> HTTPException:
    return bad_request(f"Invalid {what} '{value}': expected one of {', '.join(choices)}")
