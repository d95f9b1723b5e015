"""The simulator's in-memory index: the fields filters and sorts read, and events serialised on demand.

Events are built from (seed, index) when served (:class:`SeededEvents`); their JSON is kept in a
cache bounded in bytes, so pages served again are a splice of cached bytes however large the data set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from cachetools import LRUCache

from connector.sandbox.common import iso_millis
from connector.sandbox.nameshield.data import CRITICALITY_NAMES, SeededEvents

_RANKS = {level: rank for rank, level in enumerate(CRITICALITY_NAMES)}


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One ThreatEvent's searchable fields, and where it is in the seeded data."""

    id: str
    moment: datetime
    date: str
    type: str
    customer_id: int
    brand: str
    domain: str
    criticality: str
    criticality_rank: int
    index: int

    @classmethod
    def seeded(cls, events: SeededEvents, index: int) -> StoredEvent:
        """Index the event at ``index`` from its first draws, the same values the built event holds."""
        head = events.head(index)
        return cls(
            id=head.id,
            moment=head.moment,
            date=iso_millis(head.moment),
            type=head.type,
            customer_id=head.customer_id,
            brand=head.brand.name,
            domain=head.domain,
            criticality=head.level,
            criticality_rank=_RANKS[head.level],
            index=index,
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

    ENCODED_BUDGET = 64 * 2**20
    """Bytes of serialised events kept for the next answers (about 50,000 events of 1.2 KB)."""

    def __init__(self, seeded: SeededEvents) -> None:
        """Index the events once, so each request only filters and, when asked, re-sorts."""
        events = (StoredEvent.seeded(seeded, index) for index in range(len(seeded)))
        self._ordered = sorted(events, key=lambda event: (event.date, event.id))
        self._by_id = {event.id: event for event in self._ordered}
        self._seeded = seeded
        self._encoded: LRUCache[int, bytes] = LRUCache(self.ENCODED_BUDGET, getsizeof=len)

    def json(self, event: StoredEvent) -> orjson.Fragment:
        """The event as Nameshield answers it, ready to splice into any answer."""
        encoded = self._encoded.get(event.index)
        if encoded is None:
            encoded = orjson.dumps(self._seeded.event(event.index))
            self._encoded[event.index] = encoded
        return orjson.Fragment(encoded)

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
