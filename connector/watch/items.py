"""What `connector watch` can follow: the watchable actions, and each item's identity and stamp.

An item is one record of the action's main output list. Its identity is its ``uid`` (unique across
vendors); its stamp is the field the action's ``since``/``until`` bound, so the window the watch
asks for and the stamps it keeps are the same clock:

================  ===========  ===========  =====================================================
action            records      stamp        since/until
================  ===========  ===========  =====================================================
get_threats       threats      updated_at   each vendor filters its last-update time
list_events       events       time         the event's time (Nameshield in whole seconds, exact
                                            client-side)
list_incidents    incidents    updated_at   applied by connector after reading (no API filter)
================  ===========  ===========  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.errors import BadInput, BadVendorAnswer
from connector.plugins import Host


@dataclass(frozen=True)
class Watchable:
    """An action the watch can poll: where its items are in the output, and which field stamps them."""

    action: str
    records: str
    stamp: str


WATCHABLE: dict[str, Watchable] = {
    watchable.action: watchable
    for watchable in (
        Watchable("get_threats", "threats", "updated_at"),
        Watchable("list_events", "events", "time"),
        Watchable("list_incidents", "incidents", "updated_at"),
    )
}


OLDEST_FIRST: dict[tuple[str, str], dict[str, Any]] = {
    ("get_threats", "sentinelone"): {"vendor_filters": {"sortBy": "updatedAt", "sortOrder": "asc"}},
    ("get_threats", "mysecutec"): {"vendor_filters": {"sort": ["updated_at", "id"]}},
    ("list_incidents", "ciso_assistant"): {"ordering": "updated_at,id"},
}
"""The input that makes a vendor send a window oldest first (list_events is always): items are
handled as they stream, so this is what puts them in stamp order. A watch's own input wins."""


def oldest_first(action: str, vendor: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the vendor's oldest-first order added where the caller set none."""
    order = OLDEST_FIRST.get((action, vendor), {})
    filters = {**order.get("vendor_filters", {}), **(document.get("vendor_filters") or {})}
    ordered = {**{key: value for key, value in order.items() if key != "vendor_filters"}, **document}
    return {**ordered, "vendor_filters": filters} if filters else ordered


WINDOW_VENDOR_FILTERS = frozenset({
    "updatedAt__gt", "updatedAt__gte", "updatedAt__lt", "updatedAt__lte", "skip", "cursor", "countOnly",  # SentinelOne
    "updated_at_from", "updated_at_to",  # MySecutec (it refuses them beside since/until anyway)
    "startedAt", "endedAt", "started_at", "ended_at", "offset",  # Nameshield v2 and v1
})
"""Vendor filters that move the window or skip records: the watch sets the window and reads all of it."""


@dataclass(frozen=True, order=True)
class ItemKey:
    """An item's place in the watch: ordered by stamp, then uid, so ties have one order on every poll."""

    stamp: datetime
    uid: str


def watchable(action: str, host: Host) -> Watchable:
    """The watchable action called ``action`` (dashes or underscores); BadInput for any other."""
    name = host.action(action).name
    if name not in WATCHABLE:
        raise BadInput(f"watch: action {name!r} cannot be watched (watchable: {', '.join(WATCHABLE)})")
    return WATCHABLE[name]


def key_of(item: dict[str, Any], watched: Watchable) -> ItemKey:
    """The uid and stamp of one output item; BadVendorAnswer when either is missing."""
    uid, stamp = item.get("uid"), item.get(watched.stamp)
    if not isinstance(uid, str) or not uid:
        raise BadVendorAnswer(f"{watched.action}: an item has no uid, so the watch cannot tell it from others")
    if not isinstance(stamp, str):
        raise BadVendorAnswer(f"{watched.action}: item {uid} has no {watched.stamp}, so the watch cannot place it")
    try:
        return ItemKey(parse_instant(stamp), uid)
    except ValueError:
        raise BadVendorAnswer(f"{watched.action}: item {uid}: {watched.stamp} {stamp!r} is not RFC 3339") from None


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant as an aware UTC datetime; ValueError when it is not one or has no offset."""
    # RFC 3339 allows a lower-case "t" and "z", which fromisoformat does not read.
    moment = datetime.fromisoformat(text.strip().upper())
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``moment`` as RFC 3339 in UTC with microseconds and ``Z``, the form every vendor binding reads."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
