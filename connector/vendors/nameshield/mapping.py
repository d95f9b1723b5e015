"""Nameshield ThreatEvent -> the common Event carrying a detection Threat, as pure functions.

The tables at the top are the whole mapping policy; ``normalize_event`` only applies them. Lossy
spots are listed in the package docstring (:mod:`connector.vendors.nameshield`).
"""

from __future__ import annotations

from typing import Any

from connector.errors import BadVendorAnswer
from connector.threat import DnsRecord, Event, Kind, Observable, SeverityId, StatusId, Threat, building

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

OBSERVABLE_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("whois", "owner_email", "email"),
    ("website", "final_url", "url"),
    ("website", "origin_url", "url"),
)
"""(observed_data part, field, observable type) of the observables beyond the domain and DNS records."""


def error_detail(body: Any) -> str | None:
    """The ``message`` of Nameshield's ``{"message": ..., "data": null}`` error body."""
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else None


def normalize_event(record: dict[str, Any], *, include_raw: bool = False) -> Event:
    """Map one ThreatEvent (v2 list, v2 get or v1 search result) to an Event with its Threat."""
    vendor_id = str(record.get("id") or "")
    if not vendor_id:
        raise BadVendorAnswer(f"{NAME}: an event without id (keys: {', '.join(sorted(record))[:200]})")
    domain = str(record.get("domain") or "")
    if not domain:
        raise BadVendorAnswer(f"{NAME}: event {vendor_id}: domain: missing")
    event_type = str(record.get("type") or UNKNOWN_TYPE)
    brand = _part(record, "brand")
    observed = _part(record, "observed_data")
    level = _part(record, "criticality").get("level")
    label = str(level) if level is not None else None
    title = f"{TITLE_BY_TYPE.get(event_type, OTHER_TYPE_TITLE)} {domain}" + (
        f" ({brand['name']})" if brand.get("name") else ""
    )
    with building(f"{NAME}: event {vendor_id}"):
        # Validated from plain data: a bad value is then named by its path (indicators.0.dns_records.1.ip).
        threat = Threat.model_validate(
            {
                "uid": f"{NAME}:{vendor_id}",
                "vendor": NAME,
                "vendor_id": vendor_id,
                "kind": Kind.detection,
                "title": title,
                "description": _comments(record.get("comments")),
                "severity_id": SEVERITY_BY_CRITICALITY.get((label or "").upper(), SeverityId.unknown),
                "status_id": STATUS,
                "first_seen": record.get("date"),
                "last_seen": record.get("date"),
                "created_at": record.get("date"),
                "resources": [_brand(brand)] if brand else [],
                "observables": _observables(domain, observed),
                "indicators": [_indicator(domain, observed)],
                "vendor_severity": label,
            }
        )
        return Event.model_validate(
            {
                "uid": threat.uid,
                "vendor": NAME,
                "vendor_id": vendor_id,
                "type": event_type,
                "time": record.get("date"),
                "summary": f"{label or UNKNOWN_LEVEL}: {title}",
                "threat": threat,
                "raw": record if include_raw else None,
            }
        )


def _part(record: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of the record; null (which real data sends) reads as empty."""
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _comments(comments: Any) -> str | None:
    """Analysts' comments, oldest first, one ``date: content`` line each."""
    lines = [
        f"{comment.get('date') or 'undated'}: {comment['content']}"
        for comment in comments or []
        if isinstance(comment, dict) and comment.get("content")
    ]
    return "\n".join(lines) or None


def _brand(brand: dict[str, Any]) -> dict[str, Any]:
    uid = brand.get("id")
    return {"uid": None if uid is None else str(uid), "name": brand.get("name"), "type": "brand"}


def _indicator(domain: str, observed: dict[str, Any]) -> dict[str, Any]:
    return {
        "domain": domain,
        "whois": observed.get("whois"),
        "dns_records": [_dns_fields(record) for record in observed.get("dns_records") or []],
        "website": observed.get("website"),
    }


def _dns_fields(record: Any) -> Any:
    """The DnsRecord fields of one record (others stay in raw); a non-object is left to fail validation."""
    if not isinstance(record, dict):
        return record
    return {key: record.get(key) for key in DnsRecord.model_fields}


def _observables(domain: str, observed: dict[str, Any]) -> list[Observable]:
    """The domain, each DNS record's ip and name, the owner's e-mail and the website URLs; each value once."""
    found = [Observable(type="domain", value=domain, name="domain")]
    for record in observed.get("dns_records") or []:
        if isinstance(record, dict):
            if record.get("ip"):
                found.append(Observable(type="ip", value=str(record["ip"]), name="observed_data.dns_records.ip"))
            if record.get("name"):
                found.append(
                    Observable(type="hostname", value=str(record["name"]), name="observed_data.dns_records.name")
                )
    for part, key, kind in OBSERVABLE_SOURCES:
        value = _part(observed, part).get(key)
        if value:
            found.append(Observable(type=kind, value=str(value), name=f"observed_data.{part}.{key}"))
    # An A record often names the domain itself and final_url often equals origin_url: the first wins.
    unique: dict[str, Observable] = {}
    for observable in found:
        unique.setdefault(observable.value, observable)
    return list(unique.values())
