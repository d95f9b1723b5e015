"""Seeded Nameshield ThreatEvents in the documented shape, and the customer hierarchy they belong to.

The connected user belongs to customer ``OWN_CUSTOMER`` (42), whose subsidiaries are 43 and 44;
customer 7 is a stranger whose events sit in the same data set and must never leak. Each customer
monitors its own brands, and every event is a typosquat of one of them.

Where real data is patchy the simulator is too: some domains have no whois (``null``), some
registrants are redacted (owner fields ``null``), some domains serve no website (``null``), and
unresolving domains have no DNS records. Keys are always present, values may be ``null``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connector.sandbox.common import (
    ANCHOR,
    fake_datetime,
    fake_domain,
    fake_hex,
    fake_ipv4,
    fake_ipv6,
    fake_uuid,
    iso_millis,
)

OWN_CUSTOMER = 42
"""The customer of the sandbox token's user: the default ``customerId`` / ``customer_id``."""

SUBSIDIARIES: dict[int, tuple[int, ...]] = {OWN_CUSTOMER: (43, 44)}
"""Children of each customer, which the user may query and which v1 includes by default."""

VISIBLE_CUSTOMERS = frozenset({OWN_CUSTOMER, *SUBSIDIARIES[OWN_CUSTOMER]})
"""The customers whose events the token's user may read."""

STRANGER_CUSTOMER = 7
"""A customer outside the user's hierarchy: its events exist but are never visible."""

CRITICALITY_NAMES: dict[str, str] = {"NONE": "None", "LOW": "Low", "MEDIUM": "Medium", "HIGH": "High"}
"""Criticality level -> display name, in ascending rank (the order ``sort=criticality`` uses)."""

EVENT_TYPES = ("DOMAIN_DETECTED", "DOMAIN_REPORTED")


@dataclass(frozen=True)
class Brand:
    """A monitored brand; ``name`` is one lowercase-able word so typosquats of it read naturally."""

    id: int
    name: str
    customer_id: int
    monitored_since: str


BRANDS: tuple[Brand, ...] = (
    Brand(1, "Acme", OWN_CUSTOMER, "2014-06-13T15:20:08.880Z"),
    Brand(2, "Globex", OWN_CUSTOMER, "2016-02-01T09:00:00.000Z"),
    Brand(3, "Initech", OWN_CUSTOMER, "2019-11-20T13:45:12.345Z"),
    Brand(4, "Umbrella", 43, "2018-03-05T08:30:00.000Z"),
    Brand(5, "Hooli", 44, "2020-07-14T10:12:44.102Z"),
    Brand(6, "Wayne", STRANGER_CUSTOMER, "2015-01-09T16:00:00.000Z"),
)

# Seven events in ten are the user's own, so subsidiaries and the stranger are present but rarer.
_CUSTOMER_CYCLE = (OWN_CUSTOMER,) * 7 + (43, 44, STRANGER_CUSTOMER)
_CRITICALITY_WEIGHTS = (2, 4, 3, 2)
_DNS_TYPES = ("NS", "MX", "A", "CNAME", "AAAA")
_COUNTRIES = ("FR", "DE", "US", "NL", "CH", "GB", "IE", "SG", "RU", "CN")
_NAME_SERVERS = ("ovh.net", "cloudflare.com", "domaincontrol.com", "nameshield.net", "gandi.net")
_REGISTRARS = (
    "Nameshield", "GoDaddy.com, LLC", "NameCheap, Inc.", "OVH sas", "Gandi SAS",
    "PDR Ltd. d/b/a PublicDomainRegistry.com",
)
_EPP_STATUSES = (
    "clientDeleteProhibited", "clientRenewProhibited", "clientTransferProhibited",
    "clientUpdateProhibited", "serverHold", "pendingDelete", "redemptionPeriod",
)
_FIRST_NAMES = ("Alex", "Maria", "John", "Li", "Fatima", "Pierre", "Olga", "Sam")
_LAST_NAMES = ("Martin", "Smith", "Ivanova", "Chen", "Haddad", "Dubois", "Kowalski", "Brown")
_ORG_SUFFIXES = ("Holdings", "Trading Ltd", "Media", "Consulting SARL", "Web Services")
_COMMENTS = (
    "Takedown requested from the registrar.",
    "Phishing kit found on the landing page, escalated to the SOC.",
    "Parked domain, no active content; keep monitoring.",
    "MX records present: possible spear-phishing infrastructure.",
    "Confirmed false positive: domain owned by a partner.",
    "UDRP complaint filed.",
)


class SeededEvents:
    """``size`` events drawn from ``seed``, each built on demand from (seed, index): same seed, same events.

    What filters and sorts read (id, date, type, customer, brand, domain, criticality) is the first draws
    of each event's own generator, so it can be known without building the rest (DNS, whois, website,
    comments), which is drawn when the event is asked for.
    """

    def __init__(self, seed: int, size: int) -> None:
        self.seed, self.size = seed, size

    def __len__(self) -> int:
        return self.size

    def head(self, index: int) -> EventHead:
        """The indexed fields of the event at ``index``, without building the event."""
        return _head(self._rng(index), _CUSTOMER_CYCLE[index % len(_CUSTOMER_CYCLE)])

    def event(self, index: int) -> dict[str, Any]:
        """The ThreatEvent at ``index`` as Nameshield answers it."""
        rng = self._rng(index)
        head = _head(rng, _CUSTOMER_CYCLE[index % len(_CUSTOMER_CYCLE)])
        return _event(rng, head)

    def _rng(self, index: int) -> random.Random:
        return random.Random(f"{self.seed}:nameshield-event:{index}")


@dataclass(frozen=True, slots=True)
class EventHead:
    """The fields of an event drawn first: what filters and sorts read."""

    id: str
    moment: datetime
    type: str
    customer_id: int
    brand: Brand
    domain: str
    level: str


def generate_events(seed: int, size: int) -> list[dict[str, Any]]:
    """``size`` ThreatEvents as Nameshield answers them; the same seed gives the same events."""
    seeded = SeededEvents(seed, size)
    return [seeded.event(index) for index in range(size)]


def _head(rng: random.Random, customer_id: int) -> EventHead:
    brand = rng.choice([b for b in BRANDS if b.customer_id == customer_id])
    raw = fake_datetime(rng)
    # Nameshield keeps milliseconds; truncating here keeps filters and the printed date in agreement.
    moment = raw.replace(microsecond=raw.microsecond // 1000 * 1000)
    domain = fake_domain(rng, brand.name)
    level = rng.choices(tuple(CRITICALITY_NAMES), weights=_CRITICALITY_WEIGHTS)[0]
    return EventHead(fake_uuid(rng), moment, rng.choice(EVENT_TYPES), customer_id, brand, domain, level)


def _event(rng: random.Random, head: EventHead) -> dict[str, Any]:
    brand, moment, domain = head.brand, head.moment, head.domain
    website = _website(rng, domain) if rng.random() < 0.75 else None
    return {
        "id": head.id,
        "date": iso_millis(moment),
        "type": head.type,
        "customer_id": head.customer_id,
        "brand": {"id": brand.id, "name": brand.name, "monitored_since": brand.monitored_since},
        "domain": domain,
        "observed_data": {
            # A domain that serves nothing often does not resolve either.
            "dns_records": [] if website is None and rng.random() < 0.5 else _dns_records(rng, domain),
            "whois": _whois(rng, moment) if rng.random() < 0.85 else None,
            "website": website,
        },
        "criticality": {"level": head.level, "name": CRITICALITY_NAMES[head.level]},
        "comments": _comments(rng, moment),
    }


def _dns_records(rng: random.Random, domain: str) -> list[dict[str, Any]]:
    records = []
    for record_type in sorted(rng.sample(_DNS_TYPES, rng.randint(1, 4)), key=_DNS_TYPES.index):
        name = {
            "NS": f"ns{rng.randint(1, 4)}.{rng.choice(_NAME_SERVERS)}",
            "MX": f"mx.mail.{domain}",
            "A": domain,
            "AAAA": domain,
            "CNAME": f"{fake_hex(rng, 16)}.{domain}",
        }[record_type]
        records.append({
            # Nameshield cannot geolocate CNAME targets and writes ZZ, as in its examples.
            "country_code": "ZZ" if record_type == "CNAME" else rng.choice(_COUNTRIES),
            "ip": fake_ipv6(rng) if record_type == "AAAA" else fake_ipv4(rng),
            "name": name,
            "type": record_type,
        })
    return records


def _whois(rng: random.Random, moment: datetime) -> dict[str, Any]:
    created = fake_datetime(rng, moment - timedelta(days=4000), moment)
    redacted = rng.random() < 0.3
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    return {
        "owner_name": "REDACTED FOR PRIVACY" if redacted else f"{first} {last}",
        "owner_email": None if redacted else f"{first.lower()}.{last.lower()}@{fake_domain(rng)}",
        "owner_organisation": None if redacted else f"{last} {rng.choice(_ORG_SUFFIXES)}",
        "registrar_name": rng.choice(_REGISTRARS),
        "statuses": sorted(rng.sample(_EPP_STATUSES, rng.randint(0, 4)), key=_EPP_STATUSES.index),
        "creation_date": iso_millis(created),
        "updated_date": iso_millis(fake_datetime(rng, created, moment)) if rng.random() < 0.8 else None,
        "expiration_date": iso_millis(created + timedelta(days=365 * rng.randint(1, 10))),
        "resource_url": f"https://resources.namescan.com/{fake_hex(rng, 26)}.txt",
    }


def _website(rng: random.Random, domain: str) -> dict[str, Any]:
    origin = f"http://www.{domain}"
    redirections = list(rng.choice(((), (), ("301",), ("302",), ("301", "302"))))
    final = origin if not redirections else rng.choice((f"https://{domain}/", f"https://www.sedo.com/?d={domain}"))
    title = rng.choice((f"Welcome to {domain}", "Sign in to your account", "This domain is for sale", None))
    return {
        "page_title": title,
        "page_description": rng.choice(("Secure customer portal", "Buy this domain today", None, None)),
        "origin_url": origin,
        "final_url": final,
        "redirection_types": redirections,
        "screenshot_resource_url": (
            f"https://resources.namescan.com/{fake_hex(rng, 26)}.png" if rng.random() < 0.9 else None
        ),
        "source_resource_url": f"https://resources.namescan.com/{fake_hex(rng, 26)}.html",
    }


def _comments(rng: random.Random, moment: datetime) -> list[dict[str, str]]:
    count = rng.choices((0, 1, 2, 3), weights=(4, 3, 2, 1))[0]
    dates = sorted(fake_datetime(rng, moment, ANCHOR) for _ in range(count))
    return [{"content": rng.choice(_COMMENTS), "date": iso_millis(when)} for when in dates]
