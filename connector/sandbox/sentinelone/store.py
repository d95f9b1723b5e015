"""The simulator's state: threats kept sorted and pre-serialised, notes, and the changes POSTs make.

Pages are assembled from each threat's cached JSON bytes, so serving 1000 threats is a join, not a
serialisation; a change re-serialises only the threats it touched.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson

from connector.sandbox.common import iso_z
from connector.sandbox.sentinelone.data import (
    ANALYST_VERDICTS,
    INCIDENT_STATUSES,
    MITIGATION_STATUSES,
    Threat,
    mitigation_entry,
)
from connector.sandbox.sentinelone.filters import Predicate
from connector.sandbox.sentinelone.query import (
    IMMUTABLE_SORTS,
    SORT_FIELDS,
    Cursor,
    ListQuery,
    build_predicates,
)

SortKey = tuple[str, str]

MITIGATIONS = {
    "kill": ("kill", "mitigated"),
    "quarantine": ("quarantine", "mitigated"),
    "remediate": ("remediate", "mitigated"),
    "rollback-remediation": ("rollback", "mitigated"),
    "un-quarantine": ("un-quarantine", "not_mitigated"),
}
"""Mitigation action of the URL -> (action recorded in mitigationStatus[], resulting mitigationStatus)."""

NOTE_CREATOR = ("Sandbox API User", "225494730938493999")


def _encode(threat: Threat) -> bytes:
    # Sorted keys, as the real API writes them (the captured pages are in alphabetical order).
    return orjson.dumps(threat, option=orjson.OPT_SORT_KEYS)


def _matches(threat: Threat, predicates: Sequence[Predicate]) -> bool:
    return all(predicate(threat) for predicate in predicates)


class ThreatStore:
    """Threats of one simulator instance; the order by (createdAt, id) is kept for the default sort."""

    def __init__(self, threats: list[Threat]) -> None:
        self._threats = threats
        self._by_id = {threat["id"]: threat for threat in threats}
        self._encoded = {threat["id"]: _encode(threat) for threat in threats}
        self._notes: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, tuple[list[Threat], list[SortKey]]] = {}
        updates = [threat["threatInfo"]["updatedAt"] for threat in threats]
        self._last_stamp = datetime.fromisoformat(max(updates)) if updates else datetime.now(UTC)
        self._note_serial = 0
        self._view("createdAt")  # the default order, built now rather than on the first request

    def __len__(self) -> int:
        return len(self._threats)

    def has_notes(self, threat_id: str) -> bool:
        """Whether the threat has at least one note (the ``noteExists`` filter)."""
        return bool(self._notes.get(threat_id))

    def _view(self, sort_by: str) -> tuple[list[Threat], list[SortKey]]:
        """Threats ascending by (sort value, id) with their keys; rebuilt lazily after changes."""
        view = self._views.get(sort_by)
        if view is None:
            get = SORT_FIELDS[sort_by]
            keyed = sorted(((get(threat) or "", threat["id"]), threat) for threat in self._threats)
            view = ([threat for _, threat in keyed], [key for key, _ in keyed])
            self._views[sort_by] = view
        return view

    def _candidates(self, query: ListQuery) -> tuple[int | None, Iterator[Threat]]:
        """(totalItems, matching threats after the cursor in answer order).

        When the total is wanted, one pass finds every match and the cursor is located among them;
        otherwise (skipCount) the threats after the cursor are filtered lazily, up to the page's end.
        """
        threats, keys = self._view(query.sort_by)
        # Positions in ``threats`` (ascending order) bounding what comes after the cursor.
        low, high = 0, len(keys)
        if query.cursor is not None:
            position = (query.cursor.value, query.cursor.threat_id)
            if query.descending:
                high = bisect_left(keys, position)
            else:
                low = bisect_right(keys, position)
        predicates = query.predicates
        if not predicates or query.skip_count:
            total = None if query.skip_count else len(threats)
            order = range(high - 1, low - 1, -1) if query.descending else range(low, high)
            found = (threats[index] for index in order)
            return total, (t for t in found if _matches(t, predicates)) if predicates else found
        matching = [index for index, threat in enumerate(threats) if _matches(threat, predicates)]
        after = matching[bisect_left(matching, low): bisect_left(matching, high)]
        return len(matching), (threats[index] for index in (reversed(after) if query.descending else after))

    def page(self, query: ListQuery) -> list[bytes]:
        """The JSON answering ``query``, ``{"data": [...], "pagination": {...}}``, as pieces to concatenate.

        Pieces rather than one bytes object: a 1000-threat page is megabytes, and sending the cached
        per-threat bytes in slices spares allocating (and page-faulting) the whole body per request.
        """
        if query.count_only:
            total, _ = self._candidates(replace(query, skip_count=False))
            return [orjson.dumps({"data": [], "pagination": {"totalItems": total, "nextCursor": None}})]
        total, candidates = self._candidates(query)
        found = list(islice(candidates, query.skip, query.skip + query.limit + 1))
        page = found[: query.limit]
        next_cursor = None
        if len(found) > query.limit:
            last = page[-1]
            value = SORT_FIELDS[query.sort_by](last) or ""
            next_cursor = Cursor(query.sort_by, query.descending, value, last["id"]).encode()
        pieces = [b'{"data":[']
        for index, threat in enumerate(page):
            if index:
                pieces.append(b",")
            pieces.append(self._encoded[threat["id"]])
        pagination = orjson.dumps({"totalItems": total, "nextCursor": next_cursor})
        return [*pieces, b'],"pagination":', pagination, b"}"]

    def select(self, params: dict[str, list[str]]) -> list[Threat]:
        """The threats a POST body's filter (already in query-param form) designates."""
        predicates = build_predicates(params, self.has_notes)
        if list(params) == ["ids"]:
            wanted = dict.fromkeys(value for item in params["ids"] for value in item.split(","))
            candidates = [self._by_id[threat_id] for threat_id in wanted if threat_id in self._by_id]
            return [threat for threat in candidates if _matches(threat, predicates)]
        return [threat for threat in self._threats if _matches(threat, predicates)]

    def _stamp(self) -> datetime:
        # Strictly increasing and never before the newest seeded update, so a changed threat always sorts
        # last by updatedAt even when the machine's clock is behind the seeded data's ANCHOR.
        self._last_stamp = max(datetime.now(UTC), self._last_stamp + timedelta(microseconds=1))
        return self._last_stamp

    def _changed(self, threats: list[Threat], stamp: datetime | None) -> None:
        for threat in threats:
            if stamp is not None:
                threat["threatInfo"]["updatedAt"] = iso_z(stamp)
            self._encoded[threat["id"]] = _encode(threat)
        for sort_by in [name for name in self._views if name not in IMMUTABLE_SORTS]:
            del self._views[sort_by]

    def set_incident(self, threats: list[Threat], status: str, verdict: str | None) -> None:
        """Set incidentStatus (and analystVerdict when given), with their descriptions; bumps updatedAt."""
        for threat in threats:
            info = threat["threatInfo"]
            info["incidentStatus"], info["incidentStatusDescription"] = status, INCIDENT_STATUSES[status]
            if verdict is not None:
                info["analystVerdict"], info["analystVerdictDescription"] = verdict, ANALYST_VERDICTS[verdict]
        self._changed(threats, self._stamp())

    def set_verdict(self, threats: list[Threat], verdict: str) -> None:
        """Set analystVerdict and its description; bumps updatedAt."""
        for threat in threats:
            info = threat["threatInfo"]
            info["analystVerdict"], info["analystVerdictDescription"] = verdict, ANALYST_VERDICTS[verdict]
        self._changed(threats, self._stamp())

    def mitigate(self, threats: list[Threat], action: str) -> None:
        """Record a successful mitigation ``action`` (a MITIGATIONS key) on each threat; bumps updatedAt."""
        recorded, status = MITIGATIONS[action]
        stamp = self._stamp()
        for threat in threats:
            threat["mitigationStatus"] = [*threat["mitigationStatus"], mitigation_entry(recorded, stamp)]
            info = threat["threatInfo"]
            info["mitigationStatus"] = status
            info["mitigationStatusDescription"] = MITIGATION_STATUSES[status]
            info["pendingActions"] = False
        self._changed(threats, stamp)

    def add_note(self, threats: list[Threat], text: str) -> None:
        """Attach a note with ``text`` to each threat (notes do not change the threat's updatedAt)."""
        for threat in threats:
            self._note_serial += 1
            created = iso_z(self._stamp())
            note = {
                "createdAt": created,
                "creator": NOTE_CREATOR[0],
                "creatorId": NOTE_CREATOR[1],
                "edited": False,
                "id": str(300000000000000000 + self._note_serial),
                "text": text,
                "updatedAt": created,
            }
            self._notes.setdefault(threat["id"], []).append(note)

    def notes(self, threat_id: str) -> list[dict[str, Any]]:
        """The notes of a threat, oldest first; empty for unknown threats, as the real API answers."""
        return list(self._notes.get(threat_id, ()))
