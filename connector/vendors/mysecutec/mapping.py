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
from typing import Any

from connector.errors import BadVendorAnswer
from connector.threat import (
    Change,
    Event,
    Kind,
    Observable,
    Resource,
    SeverityId,
    StatusId,
    Threat,
    Vulnerability,
    building,
)

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
OBSERVABLE_BY_ASSET_TYPE = {
    "domain": "domain",
    "subdomain": "domain",
    "ip": "ip",
    "host": "hostname",
    "email": "email",
}
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


def severity_id(label: str | None, cvss_score: Any) -> SeverityId:
    """The OCSF severity of a threat: its label, else the CVSS band of its score, else unknown."""
    if label is not None:
        return SEVERITY_BY_LABEL.get(label, SeverityId.unknown)
    if not isinstance(cvss_score, int | float) or isinstance(cvss_score, bool):
        return SeverityId.unknown
    for lowest, band in CVSS_BANDS:
        if cvss_score >= lowest:
            return band
    return SeverityId.low if cvss_score > 0 else SeverityId.informational


def combined_status(record: dict[str, Any]) -> str | None:
    """The combined status; when absent, what the vendor combines it from (user over system)."""
    status = record.get("status") or record.get("user_status") or record.get("system_status")
    return str(status) if status is not None else None


def is_cve(value: Any) -> bool:
    """Whether ``value`` is a CVE id."""
    return isinstance(value, str) and _CVE.match(value) is not None


def normalize_threat(record: dict[str, Any], *, include_raw: bool = False) -> Threat:
    """Map one MySecutec Threat (list, get or patch answer) to the common Threat."""
    vendor_id = str(record.get("id") or "")
    if not vendor_id:
        raise BadVendorAnswer(f"{NAME}: a threat without id (keys: {', '.join(sorted(record))[:200]})")
    status = combined_status(record)
    severity = severity_id(record.get("severity"), record.get("cvss_score"))
    status_id = STATUS_BY_LABEL.get(status or "", StatusId.unknown)
    module = (record.get("tech_solution") or {}).get("license_module_slug")
    external_id = record.get("external_id")
    with building(f"{NAME}: threat {vendor_id}"):
        return Threat(
            uid=f"{NAME}:{vendor_id}",
            vendor=NAME,
            vendor_id=vendor_id,
            kind=Kind.vulnerability if is_cve(external_id) else Kind.detection,
            title=record.get("name") or external_id or "unnamed threat",
            description=record.get("description"),
            severity_id=severity,
            status_id=status_id,
            verdict=VERDICT_BY_STATUS.get(status or ""),
            disposition=DISPOSITION_BY_STATUS.get(status or ""),
            score=record.get("cvss_score"),
            first_seen=record.get("first_seen_at"),
            created_at=record.get("created_at"),
            updated_at=record.get("updated_at"),
            resources=_resources(record),
            observables=_observables(record),
            vulnerabilities=_vulnerabilities(record, module),
            vendor_severity=record.get("severity"),
            vendor_status=status,
            raw=record if include_raw else None,
        )


def _asset(record: dict[str, Any]) -> dict[str, Any]:
    asset = record.get("asset")
    return asset if isinstance(asset, dict) else {}


def _resources(record: dict[str, Any]) -> list[Resource]:
    asset = _asset(record)
    uid = asset.get("id") or record.get("asset_id")
    if not uid and not asset.get("name"):
        return []
    host = (record.get("data") or {}).get("host")
    host = host if isinstance(host, dict) else {}
    kind = asset.get("type")
    return [
        Resource(
            uid=uid,
            name=asset.get("name"),
            type=kind,
            hostname=host.get("hostname") or (asset.get("name") if kind == "host" else None),
            ip=[asset["name"]] if kind == "ip" and asset.get("name") else [],
            os=host.get("os"),
        )
    ]


def _observables(record: dict[str, Any]) -> list[Observable]:
    asset = _asset(record)
    kind = OBSERVABLE_BY_ASSET_TYPE.get(str(asset.get("type")))
    if kind is None or not asset.get("name"):
        return []
    return [Observable(type=kind, value=str(asset["name"]), name="asset")]


def _vulnerabilities(record: dict[str, Any], module: str | None) -> list[Vulnerability]:
    external_id = record.get("external_id")
    cve = external_id if is_cve(external_id) else None
    score, vector = record.get("cvss_score"), record.get("cvss_vector")
    if cve is None and score is None and vector is None:
        return []
    if cve is None and module not in VULNERABILITY_MODULES:
        # A darknet or M365 finding with a score is not a software flaw: the score stays in ``score``.
        return []
    return [Vulnerability(cve=cve, cvss_score=score, cvss_vector=vector)]


def normalize_log(entry: dict[str, Any], *, include_raw: bool = False) -> Event:
    """Map one ThreatLog entry to the common Event."""
    log_id = str(entry.get("id") or "")
    if not log_id:
        keys = ", ".join(sorted(entry))[:200]
        raise BadVendorAnswer(f"{NAME}: a threat log entry without id (keys: {keys})")
    operation = str(entry.get("operation") or "unknown")
    actor = entry.get("created_by")
    threat_id = entry.get("threat_id")
    change_data = entry.get("change_data")
    change_data = change_data if isinstance(change_data, dict) else {}
    change = None
    if isinstance(change_data.get("field"), str):
        change = Change(field=change_data["field"], old_value=change_data.get("old_value"),
                        new_value=change_data.get("new_value"))
    with building(f"{NAME}: threat log {log_id}"):
        # Validated from data: created_at is the vendor's timestamp text, parsed by the model.
        return Event.model_validate({
            "uid": f"{NAME}:{log_id}",
            "vendor": NAME,
            "vendor_id": log_id,
            "type": operation,
            "time": entry.get("created_at"),
            "summary": log_summary(operation, actor, change_data),
            "actor": actor,
            "threat_uid": f"{NAME}:{threat_id}" if threat_id else None,
            "change": change,
            "raw": entry if include_raw else None,
        })


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
