"""Seeded data over a fresh store: two domains, people, assets, threats, entities, labels and incidents.

``seed_store(seed, size, moment)`` draws everything from ``rng_for(seed, "ciso_assistant")`` so a
seed reproduces the same objects and incidents, in the same order, with the same uuids. With
``size`` 0 the store stays as a freshly migrated server has it (what the recorded exchanges start from).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TypeVar

from connector.sandbox.ciso_assistant.store import (
    ADMIN_EMAIL,
    Folder,
    Incident,
    Ref,
    Store,
    TimelineEntry,
    empty_store,
)
from connector.sandbox.common import (
    ANCHOR,
    MITRE_TECHNIQUES,
    fake_datetime,
    fake_hostname,
    fake_uuid,
    rng_for,
)

_T = TypeVar("_T")

_DOMAINS = ("Corporate IT", "Industrial Operations")
_PEOPLE = (
    "alice.martin", "bruno.keller", "chloe.dubois", "dmitri.ivanov", "elena.rossi", "farid.haddad",
    "grace.oneill", "hiro.tanaka",
)
_ASSETS = (
    ("Active Directory", "SP"), ("ERP (SAP S/4HANA)", "PR"), ("Customer portal", "PR"),
    ("Microsoft 365 mailboxes", "SP"), ("Payroll system", "PR"), ("Plant SCADA network", "SP"),
    ("Data warehouse", "SP"), ("VPN gateway", "SP"), ("Public website", "PR"), ("CI/CD pipeline", "SP"),
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
_STEPS = ("Incident reported", "Triage", "Containment", "Eradication", "Recovery", "Lessons learned")


def _weighted(rng: random.Random, table: tuple[tuple[_T, int], ...]) -> _T:
    values = [value for value, _ in table]
    return rng.choices(values, weights=[weight for _, weight in table])[0]


def _add_reference_objects(rng: random.Random, store: Store) -> None:
    for name in _DOMAINS:
        domain = Folder(fake_uuid(rng), name, store.root_id, None, ANCHOR, ANCHOR)
        store.folders[domain.id] = domain

    def refs(names: list[str]) -> dict[str, Ref]:
        made = [Ref(fake_uuid(rng), name, name) for name in names]
        return {ref.id: ref for ref in made}

    store.related["filtering_labels"].update(refs(list(_LABELS)))
    store.related["threats"].update(refs([f"{technique} - {name}" for _, technique, name in MITRE_TECHNIQUES]))
    emails = [f"{person}@example.com" for person in _PEOPLE]
    people = [Ref(fake_uuid(rng), email, email, fake_uuid(rng)) for email in emails]
    store.related["owners"].update({ref.id: ref for ref in people})
    store.related["entities"].update(refs(list(_ENTITIES)))
    assets = [Ref(fake_uuid(rng), name, name, kind) for name, kind in _ASSETS]
    store.related["assets"].update({ref.id: ref for ref in assets})


def _pick(rng: random.Random, pool: dict[str, Ref], low: int, high: int) -> list[str]:
    return rng.sample(list(pool), rng.randint(low, min(high, len(pool))))


def _draft_incident(rng: random.Random, store: Store) -> Incident:
    """An incident without ref_id (assigned once all are sorted by creation time)."""
    related = store.related
    template, blurb, threat_indexes = rng.choice(_INCIDENT_KINDS)
    owners = [ref for ref in related["owners"] if related["owners"][ref].text != ADMIN_EMAIL]
    relations: dict[str, list[str]] = {name: [] for name in related} | {
        "filtering_labels": _pick(rng, related["filtering_labels"], 0, 2),
        "threats": [list(related["threats"])[index] for index in threat_indexes],
        "owners": rng.sample(owners, rng.randint(1, 2)),
        "assets": _pick(rng, related["assets"], 1, 3),
        "qualifications": _pick(rng, related["qualifications"], 1, 3),
        "entities": _pick(rng, related["entities"], 0, 2),
    }
    words = {
        "asset": related["assets"][relations["assets"][0]].name,
        "host": fake_hostname(rng),
        "entity": rng.choice([ref.name for ref in related["entities"].values()]),
        "person": related["owners"][relations["owners"][0]].text,
    }
    reported = fake_datetime(rng)
    occurred = reported - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
    created = min(reported + timedelta(minutes=rng.randrange(5, 2 * 24 * 60)), ANCHOR)
    updated = min(created + timedelta(hours=rng.randrange(0, 30 * 24)), ANCHOR)
    status = _weighted(rng, _STATUS_RECENT if ANCHOR - created < timedelta(days=60) else _STATUS_OLD)
    done = status in ("resolved", "closed")
    return Incident(
        id=fake_uuid(rng),
        name=template.format(**words),
        folder=rng.choices(list(store.folders), weights=[20, 45, 35])[0],
        created_at=created,
        updated_at=updated,
        reported_at=reported,
        description=blurb.format(**words),
        status=status,
        severity=_weighted(rng, _SEVERITY_WEIGHTS),
        detection=rng.choices(["internally_detected", "externally_detected"], weights=[55, 40])[0],
        link=f"{_TICKETS}SEC-{rng.randrange(100, 9999)}" if rng.random() < 0.6 else None,
        is_published=rng.random() < 0.85,
        occurred_at=occurred if rng.random() < 0.7 else None,
        resolved_at=max(updated, reported) if done else None,
        resolution="Contained and remediated." if done else None,
        is_bcp_activated=rng.random() < 0.1 if rng.random() < 0.5 else None,
        relations=relations,
    )


def _timeline(rng: random.Random, incident: Incident) -> list[TimelineEntry]:
    depth = {"new": 1, "ongoing": 3, "dismissed": 2, "resolved": 5, "closed": 6}[incident.status]
    return [
        TimelineEntry(fake_uuid(rng), step, "Observation", incident.created_at)
        for step in _STEPS[: rng.randint(1, depth)]
    ]


def seed_store(seed: int, size: int, moment: datetime) -> Store:
    """A fresh store (built-in objects dated ``moment``) plus, when ``size`` > 0, seeded INC-0001...."""
    store = empty_store(seed, moment)
    if size == 0:
        return store
    rng = rng_for(seed, "ciso_assistant")
    _add_reference_objects(rng, store)
    drafts = sorted((_draft_incident(rng, store) for _ in range(size)), key=lambda inc: inc.created_at)
    for number, incident in enumerate(drafts, start=1):
        incident.ref_id = f"INC-{number:04d}"
        incident.timeline = _timeline(rng, incident)
        store.incidents[incident.id] = incident
    return store
