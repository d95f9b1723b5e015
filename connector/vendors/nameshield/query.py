"""list_events' input resolved for Nameshield: the v2 query string, the v1 search body, and what
only the client can filter.

The common filters map onto Nameshield's parameters; ``vendor_filters`` (Nameshield's own names,
schema ``nameshield.event_filters.json``) are applied last and win. The API takes one criticality
and whole seconds, so several severities, the ``unknown`` severity and sub-second bounds are
finished client-side (:class:`Selection`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import BadInput
from connector.vendors.nameshield.mapping import CRITICALITY_BY_SEVERITY

PAGE_SIZE = 500
"""The most either API returns per page (v2 ``size``, v1 ``limit``)."""

DEFAULT_SORT = ("date,asc",)
"""Oldest first, which incremental collection relies on (also the API's default)."""

SORT_ATTRIBUTES = ("id", "date", "type", "brand", "domain", "criticality")
_ATTRIBUTE = "|".join(SORT_ATTRIBUTES)
SORT_PATTERN = rf"^({_ATTRIBUTE})(,({_ATTRIBUTE}))*(,(asc|desc))?$"
"""One v2 ``sort`` value; ``nameshield.event_filters.json`` carries the same pattern."""

VENDOR_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""``yyyy-MM-dd HH:mm:ss``, UTC, as both APIs take their bounds."""

V2_FILTERS = frozenset({"customerId", "sort", "criticality", "domain", "startedAt", "endedAt", "size"})
V1_FILTERS = frozenset(
    {
        "customer_id",
        "include_customer_children_events",
        "criticality",
        "started_at",
        "ended_at",
        "query_parameters",
        "limit",
    }
)
V2_TO_V1 = {
    "customerId": "customer_id",
    "criticality": "criticality",
    "startedAt": "started_at",
    "endedAt": "ended_at",
    "size": "limit",
}
"""v2 filter -> its v1 body key, for the fallback to v1 (``domain`` becomes a criterion, ``sort`` is lost)."""

OTHER_VENDORS_FIELDS = ("threat_ids", "include_system")
"""list_events input fields that belong to MySecutec."""


@dataclass(frozen=True)
class Selection:
    """What the client must still check on each event, and how much to return."""

    severities: frozenset[str] | None
    """Common severity names to keep; None keeps all."""
    since: datetime | None
    until: datetime | None
    limit: int | None
    exact: bool
    """True when the vendor applies every filter itself, so its total is the true total."""

    def keeps(self, event: dict[str, Any]) -> bool:
        """Whether a mapped ``event`` passes the filters the vendor could not apply."""
        threat = event["threat"]
        if self.severities is not None and (threat is None or threat["severity"] not in self.severities):
            return False
        moment = datetime.fromisoformat(event["time"])
        if self.since is not None and moment < self.since:
            return False
        return self.until is None or moment <= self.until

    @property
    def matches_nothing(self) -> bool:
        """Only severities Nameshield never gives (``critical``) were asked for: no request is needed."""
        return self.severities is not None and not (self.severities - {"critical"})


def check_input(document: dict[str, Any], api: str) -> None:
    """Refuse, in one line, fields that do not apply to Nameshield or to the chosen API."""
    for name in OTHER_VENDORS_FIELDS:
        if name in document:
            raise BadInput(f"input.{name}: a MySecutec filter, not used by Nameshield")
    filters = document.get("vendor_filters") or {}
    allowed, other = (V2_FILTERS, "v1") if api == "v2" else (V1_FILTERS, "v2")
    for name in filters:
        if name not in allowed:
            raise BadInput(f"input.vendor_filters.{name}: a Nameshield {other} filter, not valid with api {api}")
    if api == "v2":
        for name in ("criteria", "junction"):
            if name in document:
                raise BadInput(f"input.{name}: only the v1 search takes criteria (set api to v1)")
        for index, value in enumerate(document.get("sort") or ()):
            if not re.fullmatch(SORT_PATTERN, value):
                raise BadInput(
                    f"input.sort[{index}]: {value!r} is not 'attribute[,attribute...][,asc|desc]' "
                    f"with attributes among {', '.join(SORT_ATTRIBUTES)}"
                )
    else:
        if "sort" in document or "sort" in filters:
            raise BadInput("input.sort: the v1 search cannot sort (its results are returned oldest first)")
        if document.get("junction") == "OR" and "search" in document:
            raise BadInput("input.search: cannot be combined with junction OR (add a domain criterion instead)")


def selection(document: dict[str, Any]) -> Selection:
    """The client-side part of the query: severities, exact bounds and the limit."""
    since, until = _instant(document, "since"), _instant(document, "until")
    if since and until and until < since:
        raise BadInput("input.until: must not be before input.since")
    severities = frozenset(document["severity"]) if "severity" in document else None
    sub_second = any(moment and moment.microsecond for moment in (since, until))
    return Selection(
        severities=severities,
        since=since,
        until=until,
        limit=document.get("limit"),
        exact=not sub_second and (severities is None or server_criticality(severities) is not None),
    )


def server_criticality(severities: frozenset[str]) -> str | None:
    """The one criticality the API can filter on, when the severities asked for come to exactly one."""
    if len(severities) == 1:
        return CRITICALITY_BY_SEVERITY.get(next(iter(severities)))
    return None


def v2_params(document: dict[str, Any], chosen: Selection) -> dict[str, Any]:
    """The ``GET /cti/v2/events`` query (``page`` is added by the paging)."""
    params: dict[str, Any] = {"sort": list(document.get("sort") or DEFAULT_SORT), "size": _page_size(chosen)}
    params.update(_common(document, chosen, started="startedAt", ended="endedAt"))
    if "search" in document:
        params["domain"] = document["search"]
    filters = dict(document.get("vendor_filters") or {})
    if isinstance(filters.get("sort"), str):
        filters["sort"] = [filters["sort"]]
    params.update(filters)
    return params


def v1_body(document: dict[str, Any], chosen: Selection, *, fallback: bool = False) -> dict[str, Any]:
    """The ``POST /cti/v1/events/search`` body (``offset`` is added by the paging).

    As a fallback for the v2 list, the v2 vendor filters are translated and subsidiaries' events
    are left out, as v2 does.
    """
    body: dict[str, Any] = {"limit": _page_size(chosen), "offset": 0}
    body.update(_common(document, chosen, started="started_at", ended="ended_at"))
    criteria = list(document.get("criteria") or [])
    filters = dict(document.get("vendor_filters") or {})
    if fallback:
        body["include_customer_children_events"] = False
        search = filters.pop("domain", document.get("search"))
        filters = {V2_TO_V1[name]: value for name, value in filters.items() if name in V2_TO_V1}
    else:
        search = document.get("search")
    if search is not None:
        criteria.append({"name": "domain", "operator": "CONTAINS", "value": search})
    if criteria:
        body["query_parameters"] = criteria
    if "junction" in document:
        body["junction"] = document["junction"]
    body.update(filters)
    return body


def vendor_time(moment: datetime, *, round_up: bool = False) -> str:
    """``moment`` in the APIs' whole-second UTC format; ``round_up`` keeps a fractional upper bound."""
    moment = moment.astimezone(UTC)
    if round_up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.strftime(VENDOR_TIME_FORMAT)


def _common(document: dict[str, Any], chosen: Selection, *, started: str, ended: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if chosen.since is not None:
        found[started] = vendor_time(chosen.since)
    if chosen.until is not None:
        found[ended] = vendor_time(chosen.until, round_up=True)
    level = server_criticality(chosen.severities) if chosen.severities else None
    if level is not None:
        found["criticality"] = level
    return found


def _page_size(chosen: Selection) -> int:
    # A smaller page only helps when every record read is one returned.
    return min(PAGE_SIZE, chosen.limit) if chosen.limit and chosen.exact else PAGE_SIZE


def _instant(document: dict[str, Any], name: str) -> datetime | None:
    if name not in document:
        return None
    try:
        moment = datetime.fromisoformat(document[name])
    except ValueError:
        raise BadInput(f"input.{name}: {document[name]!r} is not an RFC 3339 date-time") from None
    # The schema requires an offset; a naive value can only come from in-process callers: read as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
