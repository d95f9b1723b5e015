"""MySecutec TAM payloads -> the common shapes, as pure functions with the tables at the top.

Severity (OCSF severity_id): critical/high/medium/low/info -> 5/4/3/2/1. A threat without a
severity takes the CVSS 3.1 band of its ``cvss_score`` (9+ critical, 7+ high, 4+ medium, >0 low,
0 info); with neither it is ``unknown``, and so is a label outside the table (kept in
``vendor_severity``).

Status (combined ``status``): unsolved/solved/accepted/false_positive -> new/resolved/suppressed/
suppressed. LOSSY: accepted and false positive both read ``suppressed``; the label stays in
``vendor_status``, a false positive also gets ``verdict: false_positive`` and an accepted risk
``disposition: accepted``. Which of system_status and user_status made the combined status is only
in ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connector import hygiene as clean
from connector import records
from connector.enums import Kind, SeverityId, StatusId
from connector.errors import BadVendorAnswer

NAME = "mysecutec"

SEVERITY_BY_LABEL = {
    "critical": SeverityId.critical,
    "high": SeverityId.high,
    "medium": SeverityId.medium,
    "low": SeverityId.low,
    "info": SeverityId.informational,
}
CVSS_BANDS = (
    (9.0, SeverityId.critical),
    (7.0, SeverityId.high),
    (4.0, SeverityId.medium),
)
"""Lowest score of each band, highest band first; below them >0 is low and 0 is informational."""
STATUS_BY_LABEL = {
    "unsolved": StatusId.new,
    "solved": StatusId.resolved,
    "accepted": StatusId.suppressed,
    "false_positive": StatusId.suppressed,
}
MAPPINGS: dict[str, dict[str, str]] = {
    "severity": {label: severity.name for label, severity in SEVERITY_BY_LABEL.items()},
    "status (from user_status)": {label: status.name for label, status in STATUS_BY_LABEL.items()},
}
"""Vendor value -> common value, per field, as the generated docs show them (``connector docs``)."""
VERDICT_BY_STATUS = {"false_positive": "false_positive"}
DISPOSITION_BY_STATUS = {"accepted": "accepted"}
USER_STATUS_BY_COMMON = {
    "new": "unsolved",
    "resolved": "solved",
    "accepted": "accepted",
    "false_positive": "false_positive",
}
"""update_threat_status: common status -> the bulk endpoint's user_status (others are refused)."""
BULK_USER_STATUSES = ("unsolved", "false_positive", "accepted", "solved")
OBSERVABLE_BY_ASSET_TYPE: dict[str, tuple[str, Callable[[Any, str], str | None]]] = {
    "domain": ("domain", clean.domain),
    "subdomain": ("domain", clean.domain),
    "ip": ("ip", lambda value, field: clean.ip(value, field, observable=True)),
    "host": ("hostname", clean.text),
    "email": ("email", clean.email),
}
"""Asset type -> the observable type of its name, and the cleaner its value goes through."""
CVSS_RANGE = (0.0, 10.0)
VULNERABILITY_MODULES = frozenset({"asm", "lcm"})
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$", re.IGNORECASE)
_SUMMARY_VALUE_CHARS = 80


def error_detail(body: Any) -> str | None:
    """The vendor's own words from an error body.

    The API answers ``{"error": {"code", "message"}}``; gateways in front of it (and FastAPI-style
    validation) answer ``{"detail": "..."}`` or ``{"detail": [{"loc", "msg"}]}``.
    """
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        parts = [str(error[key]) for key in ("code", "message") if error.get(key)]
        return ": ".join(parts) or None
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail or None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        where = ".".join(str(step) for step in detail[0].get("loc") or ())
        text = str(detail[0].get("msg") or "")
        return f"{where}: {text}" if where else text or None
    message = body.get("message")
    return str(message) if message else None


def severity_id(label: str | None, cvss_score: float | None) -> SeverityId:
    """The OCSF severity of a threat: its label, else the CVSS band of its score, else unknown."""
    if label is not None:
        return SEVERITY_BY_LABEL.get(label, SeverityId.unknown)
    if cvss_score is None:
        return SeverityId.unknown
    for lowest, band in CVSS_BANDS:
        if cvss_score >= lowest:
            return band
    return SeverityId.low if cvss_score > 0 else SeverityId.informational


def combined_status(record: dict[str, Any]) -> str | None:
    """The combined status; when absent, what the vendor combines it from (user over system)."""
    for key in ("status", "user_status", "system_status"):
        status = clean.text(record.get(key), "vendor_status")
        if status is not None:
            return status
    return None


def is_cve(value: Any) -> bool:
    """Whether ``value`` is a CVE id."""
    return isinstance(value, str) and _CVE.match(value) is not None


def normalize_threat(record: Any, *, include_raw: bool = False) -> dict[str, Any]:
    """Map one MySecutec Threat (list, get or patch answer) to a common Threat record."""
    record, vendor_id = records.identified(record, f"{NAME}: threat")
    status = combined_status(record)
    label = clean.label(record.get("severity"), "vendor_severity", SEVERITY_BY_LABEL)
    score = clean.number(record.get("cvss_score"), "score", low=CVSS_RANGE[0], high=CVSS_RANGE[1])
    external_id = clean.text(record.get("external_id"), "title")
    cve = external_id if is_cve(external_id) else None
    module = clean.text(
        clean.mapping(record.get("tech_solution"), "vulnerabilities").get("license_module_slug"), "vulnerabilities"
    )
    return records.threat(
        {
            "uid": f"{NAME}:{vendor_id}",
            "vendor": NAME,
            "vendor_id": vendor_id,
            "kind": Kind.vulnerability if cve else Kind.detection,
            "title": clean.text(record.get("name"), "title") or external_id or "unnamed threat",
            "description": clean.text(record.get("description"), "description"),
            "severity_id": severity_id(label, score),
            "status_id": STATUS_BY_LABEL.get(status or "", StatusId.unknown),
            "verdict": VERDICT_BY_STATUS.get(status or ""),
            "disposition": DISPOSITION_BY_STATUS.get(status or ""),
            "score": score,
            "first_seen": clean.timestamp(record.get("first_seen_at"), "first_seen"),
            "created_at": clean.timestamp(record.get("created_at"), "created_at"),
            "updated_at": clean.timestamp(record.get("updated_at"), "updated_at"),
            "resources": _resources(record),
            "observables": _observables(record),
            "vulnerabilities": _vulnerabilities(record, cve, score, module),
            "vendor_severity": label,
            "vendor_status": status,
            "raw": record if include_raw else None,
        }
    )


def _resources(record: dict[str, Any]) -> list[dict[str, Any]]:
    asset = clean.mapping(record.get("asset"), "resources")
    uid = clean.ident(asset.get("id"), "resources.uid") or clean.ident(record.get("asset_id"), "resources.uid")
    name = clean.text(asset.get("name"), "resources.name")
    if not uid and not name:
        return []
    host = clean.mapping(clean.mapping(record.get("data"), "resources").get("host"), "resources")
    kind = clean.text(asset.get("type"), "resources.type")
    return [
        records.resource(
            uid=uid,
            name=name,
            type=kind,
            hostname=clean.text(host.get("hostname"), "resources.hostname") or (name if kind == "host" else None),
            ip=clean.ips(name, "resources.ip") if kind == "ip" and name else [],
            os=clean.text(host.get("os"), "resources.os"),
        )
    ]


def _observables(record: dict[str, Any]) -> list[dict[str, Any]]:
    asset = clean.mapping(record.get("asset"), "observables")
    kind = OBSERVABLE_BY_ASSET_TYPE.get(str(asset.get("type")))
    if kind is None:
        return []
    observable_type, cleaner = kind
    value = cleaner(asset.get("name"), f"observables.{observable_type}")
    return [records.observable(observable_type, value, "asset")] if value else []


def _vulnerabilities(
    record: dict[str, Any], cve: str | None, score: float | None, module: str | None
) -> list[dict[str, Any]]:
    vector = clean.text(record.get("cvss_vector"), "vulnerabilities.cvss_vector")
    if cve is None and score is None and vector is None:
        return []
    if cve is None and module not in VULNERABILITY_MODULES:
        # A darknet or M365 finding with a score is not a software flaw: the score stays in ``score``.
        return []
    return [records.vulnerability(cve=cve, cvss_score=score, cvss_vector=vector)]


def normalize_log(entry: Any, *, include_raw: bool = False) -> dict[str, Any]:
    """Map one ThreatLog entry to a common Event record."""
    entry, log_id = records.identified(entry, f"{NAME}: threat log entry")
    time = clean.timestamp(entry.get("created_at"), "time")
    if time is None:
        raise BadVendorAnswer(f"{NAME}: threat log {log_id}: created_at: missing or not a timestamp")
    operation = clean.text(entry.get("operation"), "type") or "unknown"
    actor = clean.text(entry.get("created_by"), "actor")
    threat_id = clean.ident(entry.get("threat_id"), "threat_uid")
    change_data = clean.mapping(entry.get("change_data"), "change")
    field = clean.text(change_data.get("field"), "change.field") if isinstance(change_data.get("field"), str) else None
    return records.event(
        uid=f"{NAME}:{log_id}",
        vendor=NAME,
        vendor_id=log_id,
        type=operation,
        time=time,
        summary=log_summary(operation, actor, change_data),
        actor=actor,
        threat_uid=f"{NAME}:{threat_id}" if threat_id else None,
        change=records.change(field=field, old_value=change_data.get("old_value"),
                              new_value=change_data.get("new_value")) if field else None,
        raw=entry if include_raw else None,
    )


def log_summary(operation: str, actor: Any, change_data: dict[str, Any]) -> str:
    """One line saying who did what: ``status_change by a@b.c: user_status unsolved -> accepted``."""
    line = f"{operation} by {actor or 'unknown'}"
    if isinstance(change_data.get("field"), str):
        old, new = (_short(change_data.get(key)) for key in ("old_value", "new_value"))
        line += f": {change_data['field']} {old} -> {new}"
    if change_data.get("note"):
        line += f" (note: {_short(change_data['note'])})"
    return line


def _short(value: Any) -> str:
    text = "null" if value is None else " ".join(str(value).split())
    return text if len(text) <= _SUMMARY_VALUE_CHARS else text[: _SUMMARY_VALUE_CHARS - 1] + "…"
