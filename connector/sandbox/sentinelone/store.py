"""The simulator's state: the seeded threats (built on demand), the ones POSTs changed, and notes.

Seeded threats are not all held: :class:`SeededThreats` rebuilds one from (seed, index) when it is
needed, the recently built ones are kept in a cache bounded in number, and a threat a POST changed is
kept for good. Orders are lists of indexes with their sort keys.
Pages are joined from each threat's JSON bytes, kept in a cache bounded in bytes, so serving the same
1000 threats again is a join rather than a serialisation however large the sandbox; a change drops
only the bytes of the threats it touched.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson
from cachetools import LRUCache

from connector.sandbox.common import ANCHOR, iso_z
from connector.sandbox.sentinelone.data import (
    ANALYST_VERDICTS,
    INCIDENT_STATUSES,
    MITIGATION_STATUSES,
    SeededThreats,
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


class ThreatStore:
    """Threats of one simulator instance; the order by (createdAt, id) is kept for the default sort."""

    ENCODED_BUDGET = 96 * 2**20
    """Bytes of serialised threats kept for the next pages (about 21,000 threats of 4.5 KB)."""

    BUILT_THREATS = 10_000
    """Threats kept once built (about 8 KB each), so filtering the default 2500 again builds none."""

    def __init__(self, seeded: SeededThreats) -> None:
        self._seeded = seeded
        self._index = {threat_id: index for index, threat_id in enumerate(seeded.ids)}
        self._changed_threats: dict[int, Threat] = {}
        self._built: LRUCache[int, Threat] = LRUCache(self.BUILT_THREATS)
        self._encoded: LRUCache[int, bytes] = LRUCache(self.ENCODED_BUDGET, getsizeof=len)
        self._notes: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, tuple[list[int], list[SortKey]]] = {}
        # Positions in a view of the threats a query's filters keep, by (sortBy, filters).
        self._matching: LRUCache[tuple[str, Any], list[int]] = LRUCache(16)
        # Seeded updates never pass ANCHOR, so stamps after it always sort after every seeded update.
        self._last_stamp = ANCHOR
        self._note_serial = 0
        self._view("createdAt")  # the default order, built now rather than on the first request

    def __len__(self) -> int:
        return len(self._seeded)

    def has_notes(self, threat_id: str) -> bool:
        """Whether the threat has at least one note (the ``noteExists`` filter)."""
        return bool(self._notes.get(threat_id))

    def _threat(self, index: int) -> Threat:
        threat = self._changed_threats.get(index) or self._built.get(index)
        if threat is None:
            threat = self._seeded.threat(index)
            self._built[index] = threat
        return threat

    def _sort_keys(self, sort_by: str) -> list[SortKey]:
        ids = self._seeded.ids
        if sort_by == "createdAt":  # drawn up front, so the default order needs no threat built
            return list(zip(self._seeded.created_at, ids, strict=True))
        if sort_by == "id":
            return [(threat_id, threat_id) for threat_id in ids]
        get = SORT_FIELDS[sort_by]
        return [(get(self._threat(index)) or "", ids[index]) for index in range(len(ids))]

    def _view(self, sort_by: str) -> tuple[list[int], list[SortKey]]:
        """Indexes ascending by (sort value, id) with their keys; rebuilt lazily after changes."""
        view = self._views.get(sort_by)
        if view is None:
            keys = self._sort_keys(sort_by)
            order = sorted(range(len(keys)), key=keys.__getitem__)
            view = (order, [keys[index] for index in order])
            self._views[sort_by] = view
        return view

    def _matches(self, index: int, predicates: Sequence[Predicate]) -> bool:
        threat = self._threat(index)
        return all(predicate(threat) for predicate in predicates)

    def _candidates(self, query: ListQuery) -> tuple[int | None, Iterator[int]]:
        """(totalItems, indexes of the matching threats after the cursor, in answer order).

        When the total is wanted, one pass finds every match and the cursor is located among them;
        otherwise (skipCount) the threats after the cursor are filtered lazily, up to the page's end.
        """
        order, keys = self._view(query.sort_by)
        # Positions in ``order`` (ascending) bounding what comes after the cursor.
        low, high = 0, len(keys)
        if query.cursor is not None:
            position = (query.cursor.value, query.cursor.threat_id)
            if query.descending:
                high = bisect_left(keys, position)
            else:
                low = bisect_right(keys, position)
        predicates = query.predicates
        if not predicates or query.skip_count:
            total = None if query.skip_count else len(order)
            positions = range(high - 1, low - 1, -1) if query.descending else range(low, high)
            found = (order[position] for position in positions)
            return total, (i for i in found if self._matches(i, predicates)) if predicates else found
        key = (query.sort_by, query.filters)
        matching = self._matching.get(key)
        if matching is None:  # once per query and sort until the next change, not once per page
            matching = [position for position, index in enumerate(order) if self._matches(index, predicates)]
            self._matching[key] = matching
        after = matching[bisect_left(matching, low): bisect_left(matching, high)]
        return len(matching), (order[position] for position in (reversed(after) if query.descending else after))

    def _encoded_threat(self, index: int) -> bytes:
        encoded = self._encoded.get(index)
        if encoded is None:
            encoded = _encode(self._threat(index))
            self._encoded[index] = encoded
        return encoded

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
            last = self._threat(page[-1])
            value = SORT_FIELDS[query.sort_by](last) or ""
            next_cursor = Cursor(query.sort_by, query.descending, value, last["id"]).encode()
        pieces = [b'{"data":[']
        for position, index in enumerate(page):
            if position:
                pieces.append(b",")
            pieces.append(self._encoded_threat(index))
        pagination = orjson.dumps({"totalItems": total, "nextCursor": next_cursor})
        return [*pieces, b'],"pagination":', pagination, b"}"]

    def select(self, params: dict[str, list[str]]) -> list[Threat]:
        """The threats a POST body's filter (already in query-param form) designates."""
        predicates = build_predicates(params, self.has_notes)
        if list(params) == ["ids"]:
            wanted = dict.fromkeys(value for item in params["ids"] for value in item.split(","))
            candidates = [self._index[threat_id] for threat_id in wanted if threat_id in self._index]
        else:
            candidates = list(range(len(self._seeded)))
        return [self._threat(index) for index in candidates if self._matches(index, predicates)]


    def _stamp(self) -> datetime:
        # Strictly increasing and never before the newest seeded update, so a changed threat always sorts
        # last by updatedAt even when the machine's clock is behind the seeded data's ANCHOR.
        self._last_stamp = max(datetime.now(UTC), self._last_stamp + timedelta(microseconds=1))
        return self._last_stamp

    def _changed(self, threats: list[Threat], stamp: datetime | None) -> None:
        for threat in threats:
            if stamp is not None:
                threat["threatInfo"]["updatedAt"] = iso_z(stamp)
            index = self._index[threat["id"]]
            self._changed_threats[index] = threat
            self._encoded.pop(index, None)
        self._matching.clear()
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
        self._matching.clear()  # noteExists answers differently now

    def notes(self, threat_id: str) -> list[dict[str, Any]]:
        """The notes of a threat, oldest first; empty for unknown threats, as the real API answers."""
        return list(self._notes.get(threat_id, ()))
