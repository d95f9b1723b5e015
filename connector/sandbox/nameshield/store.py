"""The simulator's in-memory index: events pre-serialised once, with the fields filters and sorts read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from connector.sandbox.nameshield.data import CRITICALITY_NAMES

_RANKS = {level: rank for rank, level in enumerate(CRITICALITY_NAMES)}


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One ThreatEvent: its JSON bytes, ready to splice into any answer, and its searchable fields."""

    id: str
    moment: datetime
    date: str
    type: str
    customer_id: int
    brand: str
    domain: str
    criticality: str
    criticality_rank: int
    json: orjson.Fragment

    @classmethod
    def from_payload(cls, event: dict[str, Any]) -> StoredEvent:
        """Index a generated event; the fields are read back from the payload so they cannot disagree."""
        level = event["criticality"]["level"]
        return cls(
            id=event["id"],
            moment=datetime.fromisoformat(event["date"]),
            date=event["date"],
            type=event["type"],
            customer_id=event["customer_id"],
            brand=event["brand"]["name"],
            domain=event["domain"],
            criticality=level,
            criticality_rank=_RANKS[level],
            json=orjson.Fragment(orjson.dumps(event)),
        )


Predicate = Callable[[StoredEvent], bool]

SortKey = Callable[[StoredEvent], str | int]

SORT_KEYS: dict[str, SortKey] = {
    "id": lambda event: event.id,
    "date": lambda event: event.date,
    "type": lambda event: event.type,
    "brand": lambda event: event.brand,
    "domain": lambda event: event.domain,
    "criticality": lambda event: event.criticality_rank,
}
"""The documented sort attributes; brand sorts by name, criticality by rank (NONE < LOW < MEDIUM < HIGH)."""


@dataclass(frozen=True)
class SortOrder:
    """One sort attribute (a key of ``SORT_KEYS``) and its direction."""

    attribute: str
    descending: bool = False


DEFAULT_ORDER = (SortOrder("date"), SortOrder("id"))


class EventStore:
    """All events of the data set, kept in the default order (date, then id) and by id."""

    def __init__(self, payloads: Iterable[dict[str, Any]]) -> None:
        """Index ``payloads`` once, so each request only filters and, when asked, re-sorts."""
        events = map(StoredEvent.from_payload, payloads)
        self._ordered = sorted(events, key=lambda event: (event.date, event.id))
        self._by_id = {event.id: event for event in self._ordered}

    def get(self, event_id: str) -> StoredEvent | None:
        """The event with this id (UUIDs compare case-insensitively), or None."""
        return self._by_id.get(event_id.lower())

    def select(
        self, predicates: Sequence[Predicate], orders: Sequence[SortOrder] = DEFAULT_ORDER
    ) -> list[StoredEvent]:
        """The events every predicate accepts, in ``orders`` (earlier orders take precedence)."""
        matches = [event for event in self._ordered if all(accept(event) for accept in predicates)]
        if tuple(orders) != DEFAULT_ORDER:
            # Stable sorts applied from the least significant key up give a multi-key, mixed-direction sort.
            for order in reversed(orders):
                matches.sort(key=SORT_KEYS[order.attribute], reverse=order.descending)
        return matches
