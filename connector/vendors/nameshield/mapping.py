"""Nameshield ThreatEvent -> the common Event carrying a detection Threat, as pure functions.

The tables at the top are the whole mapping policy; ``normalize_event`` only applies them. Lossy
spots are listed in the package docstring (:mod:`connector.vendors.nameshield`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector import hygiene as clean
from connector import records
from connector.enums import Kind, SeverityId, StatusId
from connector.errors import BadVendorAnswer

NAME = "nameshield"

SEVERITY_BY_CRITICALITY: dict[str, SeverityId] = {
    "HIGH": SeverityId.high,
    "MEDIUM": SeverityId.medium,
    "LOW": SeverityId.low,
    "NONE": SeverityId.informational,
}
"""criticality.level -> OCSF severity_id (DESIGN §4); any other level maps to unknown (0)."""

CRITICALITY_BY_SEVERITY: dict[str, str] = {severity.name: level for level, severity in SEVERITY_BY_CRITICALITY.items()}
"""The common severity name -> the one criticality level the API can filter on."""

TITLE_BY_TYPE: dict[str, str] = {
    "DOMAIN_DETECTED": "Typosquat domain",
    "DOMAIN_REPORTED": "Reported domain",
}
"""Event type -> the words the threat title starts with."""
OTHER_TYPE_TITLE = "Suspicious domain"
UNKNOWN_TYPE = "UNKNOWN"
"""The event type when Nameshield sends none."""
UNKNOWN_LEVEL = "UNKNOWN"
"""What the summary shows when the event has no criticality."""

STATUS = StatusId.new
"""Nameshield events carry no workflow status: every detection is new."""
MAPPINGS: dict[str, dict[str, str]] = {
    "severity (from criticality.level)": {
        **{level: severity.name for level, severity in SEVERITY_BY_CRITICALITY.items()}, "any other": "unknown",
    },
    "status": {"(events carry none)": STATUS.name},
}
"""Vendor value -> common value, per field, as the generated docs show them (``connector docs``)."""

OBSERVABLE_SOURCES: tuple[tuple[str, str, str, Callable[[Any, str], str | None]], ...] = (
    ("whois", "owner_email", "email", clean.email),
    ("website", "final_url", "url", clean.url),
    ("website", "origin_url", "url", clean.url),
)
"""(observed_data part, field, observable type, cleaner) of the observables beyond the domain and DNS records."""


def error_detail(body: Any) -> str | None:
    """The ``message`` of Nameshield's ``{"message": ..., "data": null}`` error body."""
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else None


def normalize_event(record: Any, *, include_raw: bool = False) -> dict[str, Any]:
    """Map one ThreatEvent (v2 list, v2 get or v1 search result) to an Event record with its Threat."""
    record, vendor_id = records.identified(record, f"{NAME}: event")
    domain = clean.domain(record.get("domain"), "indicators.domain")
    if domain is None:
        raise BadVendorAnswer(f"{NAME}: event {vendor_id}: domain: missing or not a domain name")
    time = clean.timestamp(record.get("date"), "time")
    if time is None:
        raise BadVendorAnswer(f"{NAME}: event {vendor_id}: date: missing or not a timestamp")
    event_type = clean.text(record.get("type"), "type") or UNKNOWN_TYPE
    brand = clean.mapping(record.get("brand"), "resources")
    brand_name = clean.text(brand.get("name"), "resources.name")
    observed = clean.mapping(record.get("observed_data"), "indicators")
    level = clean.mapping(record.get("criticality"), "vendor_severity").get("level")
    label = clean.label(level, "vendor_severity", SEVERITY_BY_CRITICALITY)
    title = f"{TITLE_BY_TYPE.get(event_type, OTHER_TYPE_TITLE)} {domain}" + (f" ({brand_name})" if brand_name else "")
    threat = records.threat(
        {
            "uid": f"{NAME}:{vendor_id}",
            "vendor": NAME,
            "vendor_id": vendor_id,
            "kind": Kind.detection,
            "title": title,
            "description": _comments(record.get("comments")),
            "severity_id": SEVERITY_BY_CRITICALITY.get((label or "").upper(), SeverityId.unknown),
            "status_id": STATUS,
            "first_seen": time,
            "last_seen": time,
            "created_at": time,
            "resources": [_brand(brand, brand_name)] if brand else [],
            "observables": _observables(domain, observed),
            "indicators": [_indicator(domain, observed)],
            "vendor_severity": label,
        }
    )
    return records.event(
        uid=threat["uid"],
        vendor=NAME,
        vendor_id=vendor_id,
        type=event_type,
        time=time,
        summary=f"{label or UNKNOWN_LEVEL}: {title}",
        threat=threat,
        raw=record if include_raw else None,
    )


def _comments(comments: Any) -> str | None:
    """Analysts' comments, oldest first, one ``date: content`` line each."""
    lines = []
    for comment in clean.objects(comments, "description"):
        content = clean.text(comment.get("content"), "description")
        if content:
            lines.append(f"{clean.text(comment.get('date'), 'description') or 'undated'}: {content}")
    return "\n".join(lines) or None


def _brand(brand: dict[str, Any], name: str | None) -> dict[str, Any]:
    return records.resource(uid=clean.ident(brand.get("id"), "resources.uid"), name=name, type="brand")


def _indicator(domain: str, observed: dict[str, Any]) -> dict[str, Any]:
    whois, website = observed.get("whois"), observed.get("website")
    return records.indicator(
        domain=domain,
        whois=clean.mapping(whois, "indicators.whois") or None,
        dns_records=[
            _dns_record(item) for item in clean.objects(observed.get("dns_records"), "indicators.dns_records")
        ],
        website=clean.mapping(website, "indicators.website") or None,
    )


def _dns_record(item: dict[str, Any]) -> dict[str, Any]:
    """The DnsRecord fields of one record (others stay in raw)."""
    return records.dns_record(
        type=clean.text(item.get("type"), "indicators.dns_records.type"),
        name=clean.text(item.get("name"), "indicators.dns_records.name"),
        ip=clean.ip(item.get("ip"), "indicators.dns_records.ip"),
        country_code=clean.text(item.get("country_code"), "indicators.dns_records.country_code"),
    )


def _observables(domain: str, observed: dict[str, Any]) -> list[dict[str, Any]]:
    """The domain, each DNS record's ip and name, the owner's e-mail and the website URLs; each value once."""
    found = [records.observable("domain", domain, "domain")]
    listed = observed.get("dns_records")
    # The indicator notes what is dropped from the DNS records; here they are only read again.
    for item in listed if isinstance(listed, list) else [listed]:
        if isinstance(item, dict):
            address = clean.ip(item.get("ip"), "observables.ip", observable=True)
            if address:
                found.append(records.observable("ip", address, "observed_data.dns_records.ip"))
            name = clean.text(item.get("name"), "observables.hostname")
            if name:
                found.append(records.observable("hostname", name, "observed_data.dns_records.name"))
    for part, key, kind, cleaner in OBSERVABLE_SOURCES:
        value = cleaner(clean.mapping(observed.get(part), "observables").get(key), f"observables.{kind}")
        if value:
            found.append(records.observable(kind, value, f"observed_data.{part}.{key}"))
    # An A record often names the domain itself and final_url often equals origin_url: the first wins.
    unique: dict[str, dict[str, Any]] = {}
    for item in found:
        unique.setdefault(item["value"], item)
    return list(unique.values())
