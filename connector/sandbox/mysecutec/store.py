"""The simulator's state: the seeded threats by id and the changes the API makes to them.

Changes live as long as the app. Each one is stamped with the injected clock (never earlier than the
seeded data's ``ANCHOR``, so a change is always the newest thing in a threat's history) and appended to
the threat's logs, which is how ``GET .../logs`` shows what the API did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connector.sandbox.common import ANCHOR, fake_uuid, iso_z, rng_for
from connector.sandbox.mysecutec.data import StoredThreat, build_threats, log_entry
from connector.sandbox.mysecutec.errors import ApiError

API_ACTOR = "api-user@sandbox.local"
"""Who the logs say made a change through the API (the sandbox has one user per token)."""

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_OPERATIONS = {
    "note": "note_change", "user_status": "status_change", "unsolved_annotation_note": "annotation_change",
}


def is_threat_id(value: str) -> bool:
    """Whether ``value`` is shaped like a threat id (a canonical UUID)."""
    return _UUID.match(value) is not None


class Store:
    """Seeded threats plus every change made to them through the API."""

    def __init__(self, seed: int, size: int, now: Callable[[], datetime]) -> None:
        self.threats = build_threats(seed, size)
        self.live_total = sum(not threat.deleted for threat in self.threats)
        self._by_id = {threat.record["id"]: threat for threat in self.threats}
        # Ids of runtime log entries come from their own seeded stream: the same calls give the same ids.
        self._log_ids = rng_for(seed, "mysecutec-logs")
        self._now = now

    def find(self, threat_id: str) -> StoredThreat | None:
        """The live threat with this id; deleted threats are as absent as unknown ones."""
        threat = self._by_id.get(threat_id.lower())
        return None if threat is None or threat.deleted else threat

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
        log_id = fake_uuid(self._log_ids)
        threat.logs.append(log_entry(log_id, threat.record["id"], operation, API_ACTOR, stamp, change))

    def _stamp(self) -> str:
        return iso_z(max(self._now(), ANCHOR))
