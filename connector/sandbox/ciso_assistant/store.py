"""The simulator's state: choice tables, reference objects and the seeded incidents.

Everything here is plain data. ``seed_store`` draws it from ``rng_for(seed, "ciso_assistant")`` so a
seed reproduces the same folders, users, assets, threats, qualifications, entities, labels and
incidents, in the same order, with the same uuids.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from connector.sandbox.common import (
    ANCHOR,
    MITRE_TECHNIQUES,
    fake_datetime,
    fake_hostname,
    fake_uuid,
    rng_for,
)

_T = TypeVar("_T")

SEVERITY_LABELS: dict[int, str] = {
    1: "Critical", 2: "Major", 3: "Moderate", 4: "Minor", 5: "Low", 6: "unknown",
}
STATUS_LABELS: dict[str, str] = {
    "new": "New", "ongoing": "Ongoing", "resolved": "Resolved", "closed": "Closed", "dismissed": "Dismissed",
}
DETECTION_LABELS: dict[str, str] = {"internally_detected": "Internal", "externally_detected": "External"}
OPEN_STATUSES = frozenset({"new", "ongoing"})

RELATIONS: tuple[str, ...] = ("filtering_labels", "threats", "owners", "assets", "qualifications", "entities")
"""The many-to-many fields of an incident, in the order the write serializer lists them."""

RELATED_MODELS: dict[str, tuple[str, str]] = {
    "filtering_labels": ("filteringlabel", "Label"),
    "threats": ("threat", "Threat"),
    "owners": ("user", "User"),
    "assets": ("asset", "Asset"),
    "qualifications": ("terminology", "Terminology"),
    "entities": ("entity", "Entity"),
}
"""Django model name and verbose name behind each relation, for the cascade preview."""

_DOMAINS = ("Corporate IT", "Industrial Operations")
_PEOPLE = (
    ("Alice", "Martin"), ("Bruno", "Keller"), ("Chloé", "Dubois"), ("Dmitri", "Ivanov"), ("Elena", "Rossi"),
    ("Farid", "Haddad"), ("Grace", "O'Neill"), ("Hiro", "Tanaka"),
)
_ASSETS = (
    "Active Directory", "ERP (SAP S/4HANA)", "Customer portal", "Microsoft 365 mailboxes", "Payroll system",
    "Plant SCADA network", "Data warehouse", "VPN gateway", "Public website", "CI/CD pipeline",
)
_QUALIFICATIONS = (
    "Confidentiality", "Integrity", "Availability", "Authenticity", "Privacy", "Safety", "Reputation",
    "Financial",
)
_ENTITIES = (
    "Northwind Payroll Services", "Contoso Cloud Hosting", "Fabrikam Managed SOC", "Globex Logistics",
    "Initech Software", "Umbrella Telecom",
)
_LABELS = ("critical-infrastructure", "gdpr", "nis2", "dora", "third-party", "board-reported")
_INCIDENT_KINDS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    # name template, description template, indexes into common.MITRE_TECHNIQUES for the threats
    ("Ransomware outbreak on {asset}", "Files encrypted and a ransom note found on {host}.", (9,)),
    ("Phishing campaign targeting finance", "Credential-harvesting emails spoofing {entity}.", (0, 5)),
    ("Business email compromise via {entity}",
     "Payment redirection request from a hijacked supplier mailbox.", (5,)),
    ("Credential stuffing against {asset}",
     "Spike of failed logins from rotating residential proxies.", (5,)),
    ("Data exfiltration from {asset}",
     "Large outbound transfer over HTTPS to an unknown host from {host}.", (8, 6)),
    ("Malware detected on {host}", "EDR blocked a loader dropping a remote access tool.", (1, 3)),
    ("DDoS attack on {asset}", "Volumetric traffic saturating the upstream link for 40 minutes.", ()),
    ("Lost laptop with unencrypted data",
     "A laptop assigned to {person} was reported lost during travel.", ()),
    ("Misconfigured storage bucket exposing {asset} backups",
     "Public read access found by an external researcher.", ()),
    ("Insider data leak", "A departing employee copied customer files to personal cloud storage.", (8,)),
    ("Supply chain compromise at {entity}",
     "The vendor reported a breach affecting a component we deploy.", (2, 4)),
    ("Lateral movement from {host}",
     "Remote service logons with a service account outside business hours.", (7, 5)),
)
_TICKETS = "https://tickets.example.com/browse/"
_STATUS_OLD = (("closed", 45), ("resolved", 35), ("dismissed", 12), ("ongoing", 6), ("new", 2))
_STATUS_RECENT = (("new", 30), ("ongoing", 35), ("resolved", 20), ("closed", 10), ("dismissed", 5))
_SEVERITY_WEIGHTS = ((1, 6), (2, 16), (3, 30), (4, 24), (5, 18), (6, 6))


@dataclass
class Folder:
    """A CISO Assistant folder: the root ``Global`` folder or a domain under it."""

    id: str
    name: str
    parent: str | None


@dataclass
class Incident:
    """One incident with raw values (severity int, status slug) and relations as lists of uuids."""

    id: str
    name: str
    description: str | None
    ref_id: str
    status: str
    severity: int
    reported_at: datetime | None
    detection: str | None
    link: str | None
    is_published: bool
    folder: str
    created_at: datetime
    updated_at: datetime
    relations: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in RELATIONS})
    timeline: list[tuple[str, str]] = field(default_factory=list)
    """(id, str) of the timeline entries that deleting the incident would delete with it."""


@dataclass
class Store:
    """All state of one simulator instance; incidents keep creation order (dicts are ordered)."""

    folders: dict[str, Folder]
    root_id: str
    related: dict[str, dict[str, str]]
    """Relation field name -> {uuid: display string} of the objects it may point to."""
    incidents: dict[str, Incident]
    runtime_rng: random.Random
    """Source of uuids for objects created through the API, so a replayed session gets the same ids."""

    def new_id(self) -> str:
        """A fresh uuid for an object created at runtime."""
        return fake_uuid(self.runtime_rng)

    def folder_path(self, folder_id: str) -> list[Folder]:
        """Folders from below ``Global`` down to ``folder_id`` (``get_folder_full_path`` without root)."""
        chain: list[Folder] = []
        current: str | None = folder_id
        while current is not None and current != self.root_id:
            chain.append(self.folders[current])
            current = self.folders[current].parent
        return list(reversed(chain))


def _weighted(rng: random.Random, table: tuple[tuple[_T, int], ...]) -> _T:
    values = [value for value, _ in table]
    return rng.choices(values, weights=[weight for _, weight in table])[0]


def _reference_objects(rng: random.Random) -> tuple[dict[str, Folder], str, dict[str, dict[str, str]]]:
    root = Folder(fake_uuid(rng), "Global", None)
    folders = {root.id: root}
    for name in _DOMAINS:
        domain = Folder(fake_uuid(rng), name, root.id)
        folders[domain.id] = domain
    related: dict[str, dict[str, str]] = {
        "filtering_labels": {fake_uuid(rng): label for label in _LABELS},
        "threats": {fake_uuid(rng): f"{technique} - {name}" for _, technique, name in MITRE_TECHNIQUES},
        "owners": {fake_uuid(rng): f"{first} {last}" for first, last in _PEOPLE},
        "assets": {fake_uuid(rng): name for name in _ASSETS},
        "qualifications": {fake_uuid(rng): name for name in _QUALIFICATIONS},
        "entities": {fake_uuid(rng): name for name in _ENTITIES},
    }
    return folders, root.id, related


def _pick(rng: random.Random, pool: dict[str, str], low: int, high: int) -> list[str]:
    return rng.sample(list(pool), rng.randint(low, min(high, len(pool))))


def _draft_incident(
    rng: random.Random, folders: dict[str, Folder], related: dict[str, dict[str, str]]
) -> Incident:
    """An incident without ref_id (assigned once all are sorted by creation time)."""
    template, blurb, threat_indexes = rng.choice(_INCIDENT_KINDS)
    relations = {
        "filtering_labels": _pick(rng, related["filtering_labels"], 0, 2),
        "threats": [list(related["threats"])[index] for index in threat_indexes],
        "owners": _pick(rng, related["owners"], 1, 2),
        "assets": _pick(rng, related["assets"], 1, 3),
        "qualifications": _pick(rng, related["qualifications"], 1, 3),
        "entities": _pick(rng, related["entities"], 0, 2),
    }
    words = {
        "asset": related["assets"][relations["assets"][0]],
        "host": fake_hostname(rng),
        "entity": rng.choice(list(related["entities"].values())),
        "person": related["owners"][relations["owners"][0]],
    }
    reported = fake_datetime(rng)
    created = min(reported + timedelta(minutes=rng.randrange(5, 2 * 24 * 60)), ANCHOR)
    updated = min(created + timedelta(hours=rng.randrange(0, 30 * 24)), ANCHOR)
    recent = ANCHOR - created < timedelta(days=60)
    status = _weighted(rng, _STATUS_RECENT if recent else _STATUS_OLD)
    detection = rng.choices(["internally_detected", "externally_detected", None], weights=[55, 40, 5])[0]
    return Incident(
        id=fake_uuid(rng),
        name=template.format(**words),
        description=blurb.format(**words),
        ref_id="",
        status=status,
        severity=_weighted(rng, _SEVERITY_WEIGHTS),
        reported_at=None if rng.random() < 0.05 else reported,
        detection=detection,
        link=f"{_TICKETS}SEC-{rng.randrange(100, 9999)}" if rng.random() < 0.6 else None,
        is_published=rng.random() < 0.85,
        folder=rng.choices(list(folders), weights=[20, 45, 35])[0],
        created_at=created,
        updated_at=updated,
        relations=relations,
    )


def _timeline(rng: random.Random, incident: Incident) -> list[tuple[str, str]]:
    steps = ["Incident reported", "Triage", "Containment", "Eradication", "Recovery", "Lessons learned"]
    depth = {"new": 1, "ongoing": 3, "dismissed": 2, "resolved": 5, "closed": 6}[incident.status]
    return [(fake_uuid(rng), f"{incident.ref_id}: {step}") for step in steps[: rng.randint(1, depth)]]


def seed_store(seed: int, size: int) -> Store:
    """Build the deterministic initial state: reference objects plus ``size`` incidents INC-0001...."""
    rng = rng_for(seed, "ciso_assistant")
    folders, root_id, related = _reference_objects(rng)
    drafts = [_draft_incident(rng, folders, related) for _ in range(size)]
    drafts.sort(key=lambda incident: incident.created_at)
    incidents: dict[str, Incident] = {}
    for number, incident in enumerate(drafts, start=1):
        incident.ref_id = f"INC-{number:04d}"
        incident.timeline = _timeline(rng, incident)
        incidents[incident.id] = incident
    return Store(folders, root_id, related, incidents, rng_for(seed, "ciso_assistant:runtime"))
