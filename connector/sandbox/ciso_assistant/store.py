"""The simulator's state: choice tables, the objects incidents point to, and the incidents.

Everything here is plain data. A fresh store holds what a freshly migrated CISO Assistant holds
(the ``Global`` folder, the qualification terminologies and the token's user as an actor);
:mod:`connector.sandbox.ciso_assistant.seed` adds seeded domains, objects and incidents to it.
Uuids of objects created at runtime come from ``rng_for(seed, "ciso_assistant:runtime")``, so a
replayed session gets the same ids.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from connector.sandbox.common import fake_uuid, rng_for

SEVERITY_LABELS: dict[int, str] = {
    1: "Critical", 2: "Major", 3: "Moderate", 4: "Minor", 5: "Low", 6: "unknown",
}
STATUS_LABELS: dict[str, str] = {
    "new": "New", "ongoing": "Ongoing", "resolved": "Resolved", "closed": "Closed", "dismissed": "Dismissed",
}
DETECTION_LABELS: dict[str, str] = {"internally_detected": "Internal", "externally_detected": "External"}
CLOSED_STATUSES = frozenset({"closed", "dismissed"})
"""Statuses the dashboard does not count as open (so resolved is open, as upstream counts it)."""

RELATIONS: tuple[str, ...] = (
    "filtering_labels", "threats", "owners", "assets", "qualifications", "entities", "applied_controls",
    "task_templates",
)
"""The writable many-to-many fields of an incident, in the order the write serializer lists them."""

RELATED_MODELS: dict[str, tuple[str, str]] = {
    "filtering_labels": ("FilteringLabel", "filtering label"),
    "threats": ("Threat", "threat"),
    "owners": ("Actor", "actor"),
    "assets": ("Asset", "Asset"),
    "qualifications": ("Terminology", "terminology"),
    "entities": ("Entity", "entity"),
    "applied_controls": ("AppliedControl", "applied control"),
    "task_templates": ("TaskTemplate", "task template"),
}
"""Django model and verbose name behind each relation, as the cascade preview names them."""

QUALIFICATIONS: tuple[str, ...] = (
    "authenticity", "availability", "confidentiality", "environmental", "financial", "image", "integrity",
    "legal", "material", "operational", "privacy", "proof", "reputation", "safety", "service", "sovereignty",
    "suppliers", "traceability",
)
"""The 18 built-in qualification terminologies (raw names; the read shape shows them capitalised)."""

ADMIN_EMAIL = "admin@example.com"
"""The superuser whose token every request carries: the author of timeline entries."""


@dataclass
class Folder:
    """A CISO Assistant folder: the root ``Global`` folder or a domain under it."""

    id: str
    name: str
    parent: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Ref:
    """An object an incident may point to: ``text`` is its read-shape ``str``, ``name`` its raw name."""

    id: str
    text: str
    name: str
    kind: str = ""
    """Asset type code (``SP`` support, ``PR`` primary), the user id behind an actor, else empty."""


@dataclass
class TimelineEntry:
    """A timeline entry written when an update changes status or severity ("Ongoing->Resolved")."""

    id: str
    name: str
    kind: str
    at: datetime


@dataclass
class Incident:
    """One incident with raw values (severity int, status slug) and relations as lists of uuids."""

    id: str
    name: str
    folder: str
    created_at: datetime
    updated_at: datetime
    reported_at: datetime | None
    description: str | None = None
    ref_id: str = ""
    status: str = "new"
    severity: int = 3
    detection: str | None = "internally_detected"
    link: str | None = None
    is_published: bool = True
    occurred_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    is_bcp_activated: bool | None = None
    relations: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in RELATIONS})
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass
class Store:
    """All state of one simulator instance; incidents keep creation order (dicts are ordered)."""

    folders: dict[str, Folder]
    root_id: str
    related: dict[str, dict[str, Ref]]
    """Relation field name -> {uuid: object} of the objects it may point to."""
    incidents: dict[str, Incident]
    runtime_rng: random.Random
    terminology_times: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """created_at and updated_at of each built-in terminology (the terminologies list shows them)."""

    def new_id(self) -> str:
        """A fresh uuid for an object created at runtime."""
        return fake_uuid(self.runtime_rng)

    def folder_name(self, folder_id: str) -> str:
        """The display name of a folder."""
        return self.folders[folder_id].name


def empty_store(seed: int, moment: datetime) -> Store:
    """A freshly migrated server at ``moment``: Global, the qualification terminologies, the admin actor."""
    rng = rng_for(seed, "ciso_assistant:builtin")
    root = Folder(fake_uuid(rng), "Global", None, None, moment, moment)
    qualifications = {
        ref.id: ref
        for ref in (Ref(fake_uuid(rng), name.capitalize(), name) for name in QUALIFICATIONS)
    }
    admin = Ref(fake_uuid(rng), ADMIN_EMAIL, ADMIN_EMAIL, fake_uuid(rng))
    related: dict[str, dict[str, Ref]] = {name: {} for name in RELATIONS}
    related["qualifications"] = qualifications
    related["owners"] = {admin.id: admin}
    store = Store({root.id: root}, root.id, related, {}, rng_for(seed, "ciso_assistant:runtime"))
    store.terminology_times = {ref: (moment, moment) for ref in qualifications}
    return store
