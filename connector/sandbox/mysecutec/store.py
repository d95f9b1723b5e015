"""The simulator's state: the seeded threats by id and the changes the API makes to them.

Seeded threats are built on demand (:class:`SeededThreats`); the recently built ones are kept in a
cache bounded in number, a changed one is kept for good, and a query's ordered matches are kept until
the next change, so walking the pages of one query scans the threats once. A query that filters
nothing and orders by creation and id reads only the columns drawn up front.

Changes live as long as the app. Each one is stamped with the injected clock (never earlier than the
seeded data's ``ANCHOR``, so a change is always the newest thing in a threat's history) and appended to
the threat's logs, which is how ``GET .../logs`` shows what the API did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from cachetools import LRUCache

from connector.sandbox.common import ANCHOR, fake_uuid, iso_z, rng_for
from connector.sandbox.mysecutec.data import SeededThreats, StoredThreat, log_entry
from connector.sandbox.mysecutec.errors import ApiError
from connector.sandbox.mysecutec.query import THREAT_SORT_FIELDS, Order, ThreatQuery, sort_items

API_ACTOR = "api-user@sandbox.local"
"""Who the logs say made a change through the API (the sandbox has one user per token)."""

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# Sort keys read from the columns drawn up front, without building the threats.
_COLUMN_SORTS = frozenset({THREAT_SORT_FIELDS["created_at"], THREAT_SORT_FIELDS["id"]})
_OPERATIONS = {
    "note": "note_change", "user_status": "status_change", "unsolved_annotation_note": "annotation_change",
}


def is_threat_id(value: str) -> bool:
    """Whether ``value`` is shaped like a threat id (a canonical UUID)."""
    return _UUID.match(value) is not None


class Store:
    """Seeded threats plus every change made to them through the API."""

    BUILT_THREATS = 20_000
    """Threats kept once built (about 5 KB each with their logs), so the next pages need not rebuild them."""

    def __init__(self, seed: int, size: int, now: Callable[[], datetime]) -> None:
        self._seeded = SeededThreats(seed, size)
        self.live_total = size - sum(self._seeded.deleted)
        self._by_id = {threat_id: index for index, threat_id in enumerate(self._seeded.ids)}
        self._changed: dict[int, StoredThreat] = {}
        self._built: LRUCache[int, StoredThreat] = LRUCache(self.BUILT_THREATS)
        self._matches: LRUCache[tuple[ThreatQuery, tuple[Any, ...]], list[int]] = LRUCache(16)
        # Ids of runtime log entries come from their own seeded stream: the same calls give the same ids.
        self._log_ids = rng_for(seed, "mysecutec-logs")
        self._now = now

    @property
    def threats(self) -> Iterator[StoredThreat]:
        """Every threat, deleted ones included, in the seeded order; each built as it is reached."""
        return (self.threat(index) for index in range(len(self._seeded)))

    def threat(self, index: int) -> StoredThreat:
        """The threat at ``index`` of the seeded order, as the API has left it."""
        threat = self._changed.get(index) or self._built.get(index)
        if threat is None:
            threat = self._seeded.threat(index)
            self._built[index] = threat
        return threat

    def matching(self, query: ThreatQuery, order: Order) -> list[int]:
        """Indexes of the threats ``query`` keeps, in ``order``; the same list until the next change."""
        key = (query, tuple(order))
        found = self._matches.get(key)
        if found is None:
            found = self._match(query, order)
            self._matches[key] = found
        return found

    def _match(self, query: ThreatQuery, order: Order) -> list[int]:
        seeded = self._seeded
        unfiltered = not (query.search or query.equals or query.ranges or query.related_to)
        if unfiltered and all(key in _COLUMN_SORTS for key, _ in order):
            kept = [i for i in range(len(seeded)) if query.include_deleted or not seeded.deleted[i]]
            return sort_items(kept, order, lambda i: {"id": seeded.ids[i], "created_at": seeded.created_at[i]})
        kept = [i for i in range(len(seeded)) if query.matches(self.threat(i))]
        return sort_items(kept, order, lambda i: self.threat(i).record)

    def find(self, threat_id: str) -> StoredThreat | None:
        """The live threat with this id; deleted threats are as absent as unknown ones."""
        index = self._by_id.get(threat_id.lower())
        return None if index is None or self._seeded.deleted[index] else self.threat(index)

    def get(self, threat_id: str) -> StoredThreat:
        """The live threat with this id, or the 400/404 ApiError the endpoints answer."""
        if not is_threat_id(threat_id):
            raise ApiError(400, "invalid_id", f"'{threat_id}' is not a valid threat id (UUID expected)")
        threat = self.find(threat_id)
        if threat is None:
            raise ApiError(404, "not_found", "Threat not found")
        return threat

    def patch(self, threat: StoredThreat, changes: Mapping[str, str | None]) -> None:
        """Apply a ThreatPatch: one log entry per field whose value really changes."""
        stamp = self._stamp()
        record = threat.record
        changed = False
        for name, new in changes.items():
            old = record[name]
            if new == old:
                continue
            record[name] = new
            changed = True
            self._log(threat, _OPERATIONS[name], stamp, {"field": name, "old_value": old, "new_value": new})
            if name == "user_status":
                self._restatus(record, stamp)
        if changed:
            record["updated_at"] = stamp

    def set_user_status(self, threat: StoredThreat, user_status: str, note: str | None) -> None:
        """Apply one id of a bulk status update; logged even when the status is unchanged, with its note."""
        stamp = self._stamp()
        record = threat.record
        old = record["user_status"]
        change: dict[str, Any] = {"field": "user_status", "old_value": old, "new_value": user_status}
        if note is not None:
            change["note"] = note
        if old != user_status:
            record["user_status"] = user_status
            self._restatus(record, stamp)
        record["updated_at"] = stamp
        self._log(threat, "status_change", stamp, change)

    def _restatus(self, record: dict[str, Any], stamp: str) -> None:
        record["status"] = record["user_status"] or record["system_status"]
        record["status_updated_at"] = stamp

    def _log(self, threat: StoredThreat, operation: str, stamp: str, change: dict[str, Any]) -> None:
        # A changed threat is kept for good, and every ordered match may have moved.
        self._changed[self._by_id[threat.record["id"]]] = threat
        self._matches.clear()
        log_id = fake_uuid(self._log_ids)
        threat.logs.append(log_entry(log_id, threat.record["id"], operation, API_ACTOR, stamp, change))

    def _stamp(self) -> str:
        return iso_z(max(self._now(), ANCHOR))
