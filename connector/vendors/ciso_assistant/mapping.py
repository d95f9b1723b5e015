"""CISO Assistant incidents <-> the common Threat: the tables and the pure mapping functions.

An incident has two faces. Create, update and ``object/`` answer with the write face (severity
int, status slug, relations and folder as uuids); list and retrieve answer with the read face
(display strings such as "Major" and "Dismissed", relations and folder as ``{"str", "id"}``,
plus ``created_at``/``updated_at``). :func:`normalize_incident` reads both into the same Threat;
the write face simply lacks the timestamps, the owners' and assets' names (so ``assignee`` and
resource names), which the bindings fetch by reading the incident back after a write.
"""

from __future__ import annotations

import hashlib
from typing import Any

from connector import hygiene as clean
from connector import records
from connector.enums import Kind, SeverityId, StatusId

NAME = "ciso_assistant"
UID_PREFIX = f"{NAME}:"
UNNAMED = "unnamed incident"
NAME_MAX, REF_ID_MAX, LINK_MAX = 200, 100, 2048

SEVERITY_BY_VALUE: dict[int, SeverityId] = {
    1: SeverityId.critical,
    2: SeverityId.high,
    3: SeverityId.medium,
    4: SeverityId.low,
    5: SeverityId.informational,
    6: SeverityId.unknown,
}
SEVERITY_LABELS: dict[int, str] = {
    1: "Critical", 2: "Major", 3: "Moderate", 4: "Minor", 5: "Low", 6: "unknown",
}
STATUS_BY_SLUG: dict[str, StatusId] = {
    "new": StatusId.new,
    "ongoing": StatusId.in_progress,
    "resolved": StatusId.resolved,
    "closed": StatusId.closed,
    "dismissed": StatusId.closed,  # LOSSY: only vendor_status tells dismissed from closed
}
STATUS_LABELS: dict[str, str] = {
    "new": "New", "ongoing": "Ongoing", "resolved": "Resolved", "closed": "Closed", "dismissed": "Dismissed",
}
MAPPINGS: dict[str, dict[str, str]] = {
    "severity": {f"{value} ({SEVERITY_LABELS[value]})": severity.name for value, severity in SEVERITY_BY_VALUE.items()},
    "status": {slug: status.name for slug, status in STATUS_BY_SLUG.items()},
}
"""Vendor value -> common value, per field, as the generated docs show them (``connector docs``)."""
SLUG_BY_COMMON_STATUS: dict[str, str] = {
    "new": "new", "in_progress": "ongoing", "resolved": "resolved", "closed": "closed",
}
VALUE_BY_COMMON_SEVERITY: dict[str, int] = {sev.name: value for value, sev in SEVERITY_BY_VALUE.items()}
VALUE_BY_SEVERITY_ID: dict[int, int] = {
    **{int(sev): value for value, sev in SEVERITY_BY_VALUE.items()},
    SeverityId.fatal: 1,  # LOSSY: CISO Assistant has nothing above Critical
    SeverityId.other: 6,
}
RELATIONS = ("filtering_labels", "threats", "owners", "assets", "qualifications", "entities")
SCALARS = ("name", "description", "ref_id", "reported_at", "detection", "link", "is_published", "occurred_at",
           "resolved_at", "resolution", "is_bcp_activated", "folder")
THREAT_DETECTION = "externally_detected"

_SEVERITY_BY_TEXT = {label.casefold(): value for value, label in SEVERITY_LABELS.items()}
_SLUG_BY_TEXT = {
    **{slug: slug for slug in STATUS_LABELS},
    **{label.casefold(): slug for slug, label in STATUS_LABELS.items()},
}


def error_detail(body: Any) -> str | None:
    """DRF's error bodies in one line: ``{"detail": ...}`` and the incident views' ``{"error": ...}`` as
    is, ``{field: [msgs]}`` (or a plain string, as the ref_id rule gives it) as ``field: msg``."""
    for key in ("detail", "error"):
        if isinstance(body, dict) and isinstance(body.get(key), str):
            return str(body[key])
    parts = _field_errors(body, "")
    return "; ".join(parts) or None


def _field_errors(body: Any, prefix: str) -> list[str]:
    if isinstance(body, str):
        return [f"{prefix}: {body}" if prefix else body]
    if isinstance(body, list):
        texts = [str(item) for item in body if isinstance(item, str | int | float)]
        nested = [part for item in body if isinstance(item, dict | list)
                  for part in _field_errors(item, prefix)]
        joined = " ".join(texts)
        return ([f"{prefix}: {joined}" if prefix else joined] if texts else []) + nested
    if isinstance(body, dict):
        return [
            part
            for key, value in body.items()
            for part in _field_errors(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    return []


def severity_value(raw: Any) -> int | None:
    """The native 1..6 of a severity as either face gives it (6, "6" or "unknown"); None if unknown."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw in SEVERITY_LABELS else None
    if isinstance(raw, str):
        text = raw.strip()
        if text.isascii() and text.isdigit():
            return severity_value(int(text))
        return _SEVERITY_BY_TEXT.get(text.casefold())
    return None


def status_slug(raw: Any) -> str | None:
    """The native slug of a status as either face gives it ("dismissed" or "Dismissed"); None if unknown."""
    return _SLUG_BY_TEXT.get(raw.strip().casefold()) if isinstance(raw, str) else None


def native_severity(value: str | int) -> int:
    """Input severity (common name or native 1..6, validated by the schema) -> native 1..6."""
    return value if isinstance(value, int) else VALUE_BY_COMMON_SEVERITY[value]


def native_statuses(value: str) -> list[str]:
    """Input status (common or native) -> the native slugs it means; common closed takes dismissed too."""
    if value == "closed":
        return ["closed", "dismissed"]
    return [SLUG_BY_COMMON_STATUS.get(value, value)]


def native_status(value: str) -> str:
    """Input status (common or native) -> the one native slug to write; closed writes closed."""
    return SLUG_BY_COMMON_STATUS.get(value, value)


def incident_id(value: str) -> str:
    """The vendor id of an input id, which may be a common uid (``ciso_assistant:<uuid>``)."""
    return value.removeprefix(UID_PREFIX).lower()


def same_ref_id(stored: Any, wanted: str) -> bool:
    """The server's equality of scoped unique texts (ref_id, a label's name): case-insensitive,
    surrounding spaces trimmed."""
    return isinstance(stored, str) and stored.strip().casefold() == wanted.strip().casefold()


def ref_id_for(uid: str) -> str:
    """A ref_id for a threat uid: the uid itself, or when longer than 100 a stable prefix + digest."""
    if len(uid) <= REF_ID_MAX:
        return uid
    digest = hashlib.sha256(uid.encode()).hexdigest()[:16]
    return f"{uid[: REF_ID_MAX - len(digest) - 1]}~{digest}"


def write_body(fields: dict[str, Any]) -> dict[str, Any]:
    """The write-serializer body for the plain incident fields of an action input."""
    body = {name: fields[name] for name in (*SCALARS, *RELATIONS) if name in fields}
    if "severity" in fields:
        body["severity"] = native_severity(fields["severity"])
    if "status" in fields:
        body["status"] = native_status(fields["status"])
    return body


def body_from_threat(threat: dict[str, Any]) -> dict[str, Any]:
    """The write body of an incident opened for a common threat record (ref_id ties it to the threat)."""
    title = str(threat["title"])
    title = title if len(title) <= NAME_MAX else title[: NAME_MAX - 1] + "…"
    body: dict[str, Any] = {
        "name": title,
        "description": threat.get("description"),
        "severity": VALUE_BY_SEVERITY_ID[int(threat["severity_id"])],
        "ref_id": ref_id_for(str(threat["uid"])),
        "detection": THREAT_DETECTION,
    }
    link = threat.get("url")
    if link and len(link) <= LINK_MAX:
        body["link"] = link
    seen = clean.timestamp(threat.get("first_seen") or threat.get("created_at"), "first_seen")
    if seen is not None:
        body["reported_at"] = seen
    return body


def content_ref_id(body: dict[str, Any]) -> str:
    """A deterministic ref_id for a create that gave none, so that a retry finds the first create."""
    seed = "\x1f".join(str(body.get(name) or "") for name in ("name", "description", "reported_at", "link"))
    return "connector-" + hashlib.sha256(seed.encode()).hexdigest()[:20]


def _refs(value: Any, field: str) -> list[tuple[str, str | None]]:
    """(id, display string) of each relation, from ``{"str", "id"}`` objects or bare uuids."""
    found: list[tuple[str, str | None]] = []
    for item in value if isinstance(value, list) else clean.objects(value, field):
        if isinstance(item, dict):
            uid = clean.ident(item.get("id"), f"{field}.uid")
            if uid:
                found.append((uid, clean.text(item.get("str"), f"{field}.name")))
        else:
            uid = clean.ident(item, f"{field}.uid")
            if uid:
                found.append((uid, None))
    return found


def normalize_incident(record: Any, *, include_raw: bool = False) -> dict[str, Any]:
    """Map one incident, read face or write face, to a common Threat record (kind incident)."""
    record, vendor_id = records.identified(record, f"{NAME}: incident")
    raw_severity, raw_status = record.get("severity"), record.get("status")
    severity = severity_value(raw_severity)
    slug = status_slug(raw_status)
    owners = _refs(record.get("owners"), "assignee")
    return records.threat(
        {
            "uid": f"{UID_PREFIX}{vendor_id}",
            "vendor": NAME,
            "vendor_id": vendor_id,
            "kind": Kind.incident,
            "title": clean.text(record.get("name"), "title") or UNNAMED,
            "description": clean.text(record.get("description"), "description"),
            "severity_id": SEVERITY_BY_VALUE[severity] if severity else SeverityId.unknown,
            "status_id": STATUS_BY_SLUG[slug] if slug else StatusId.unknown,
            "first_seen": clean.timestamp(record.get("reported_at"), "first_seen"),
            "created_at": clean.timestamp(record.get("created_at"), "created_at"),
            "updated_at": clean.timestamp(record.get("updated_at"), "updated_at"),
            "resources": [
                records.resource(uid=uid, name=name, type="asset")
                for uid, name in _refs(record.get("assets"), "resources")
            ],
            "assignee": owners[0][1] if owners else None,
            "url": clean.url(record.get("link"), "url"),
            "vendor_severity": SEVERITY_LABELS[severity] if severity else clean.text(raw_severity, "vendor_severity"),
            "vendor_status": slug or clean.text(raw_status, "vendor_status"),
            "raw": record if include_raw else None,
        }
    )
