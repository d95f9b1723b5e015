"""SentinelOne: the tables between its threat records and the common shapes, both ways.

Reading (``GET /threats`` -> common Threat, applied by :mod:`.threats`), lossy spots marked:
- severity: classic threats carry none, so it is derived from ``confidenceLevel`` (LOSSY: a
  malicious threat is ``high``, never ``critical``).
- status: ``incidentStatus`` unresolved/in_progress/resolved -> new/in_progress/resolved, and an
  analyst verdict of false_positive makes it ``suppressed`` whatever the incident status (LOSSY:
  the incident status is then only in ``vendor_status``).
- unknown enum values map to ``unknown`` and keep the vendor's label.

Writing (update_threat_status's common status -> ``POST threats/incident`` data):
- new/in_progress/resolved -> incidentStatus unresolved/in_progress/resolved;
- false_positive -> incidentStatus resolved + analystVerdict false_positive (it reads back as
  ``suppressed``);
- accepted/suppressed/closed have no SentinelOne equivalent and are refused as bad input.
"""

from __future__ import annotations

from typing import Any

from connector.enums import ConfidenceId, SeverityId, StatusId
from connector.errors import BadInput
from connector.paging import query_value

NAME = "sentinelone"

SEVERITY_BY_CONFIDENCE = {
    "malicious": SeverityId.high,
    "suspicious": SeverityId.medium,
    "n/a": SeverityId.unknown,
}
CONFIDENCE_BY_LEVEL = {
    "malicious": ConfidenceId.high,
    "suspicious": ConfidenceId.medium,
    "n/a": ConfidenceId.unknown,
}
STATUS_BY_INCIDENT_STATUS = {
    "unresolved": StatusId.new,
    "in_progress": StatusId.in_progress,
    "resolved": StatusId.resolved,
}
SUPPRESSING_VERDICT = "false_positive"
MAPPINGS: dict[str, dict[str, str]] = {
    "severity (from confidenceLevel)": {level: severity.name for level, severity in SEVERITY_BY_CONFIDENCE.items()},
    "status (from incidentStatus)": {status: common.name for status, common in STATUS_BY_INCIDENT_STATUS.items()},
}
"""Vendor value -> common value, per field, as the generated docs show them (``connector docs``)."""

INCIDENT_CHANGE_BY_STATUS: dict[str, dict[str, str]] = {
    "new": {"incidentStatus": "unresolved"},
    "in_progress": {"incidentStatus": "in_progress"},
    "resolved": {"incidentStatus": "resolved"},
    "false_positive": {"incidentStatus": "resolved", "analystVerdict": SUPPRESSING_VERDICT},
}
"""update_threat_status's common status -> the ``data`` of ``POST threats/incident``."""
INCIDENT_STATUSES = tuple(STATUS_BY_INCIDENT_STATUS)
"""The incidentStatus values SentinelOne accepts (vendor_status must be one of them)."""



def error_detail(body: Any) -> str | None:
    """``title: detail`` of the first entry of SentinelOne's ``errors`` list."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors or not isinstance(errors, list) or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    parts = [str(first[key]) for key in ("title", "detail") if first.get(key)]
    return ": ".join(parts) or None


def threat_query(filters: dict[str, Any]) -> dict[str, Any]:
    """The ``GET /threats`` query for get_threats' common filters plus the vendor's own.

    A key set by both a common filter and ``vendor_filters`` takes the ``vendor_filters`` value.
    """
    query: dict[str, Any] = {}
    if "severity" in filters:
        levels = [level for level, sev in SEVERITY_BY_CONFIDENCE.items() if sev.name in filters["severity"]]
        query["confidenceLevels"] = levels
    if "status" in filters:
        query.update(_status_query(set(filters["status"])))
    if "since" in filters:
        query["updatedAt__gte"] = filters["since"]
    if "until" in filters:
        query["updatedAt__lte"] = filters["until"]
    if "search" in filters:
        query["query"] = filters["search"]
    if "ids" in filters:
        query["ids"] = filters["ids"]
    if "asset" in filters:
        query["computerName__contains"] = [filters["asset"]]
    query.update(filters.get("vendor_filters") or {})
    return {key: query_value(value) for key, value in query.items()}


def _status_query(wanted: set[str]) -> dict[str, list[str]]:
    """The filters selecting exactly the common statuses ``wanted``, where SentinelOne can say it.

    ``suppressed`` is a verdict, the others are incident statuses, and filters combine with AND:
    a mix of both cannot be asked for, so it is left to :func:`needs_status_check` on each threat.
    """
    statuses = [s for s, mapped in STATUS_BY_INCIDENT_STATUS.items() if mapped.name in wanted]
    if StatusId.suppressed.name not in wanted:
        return {"incidentStatuses": statuses, "analystVerdictsNin": [SUPPRESSING_VERDICT]}
    if not statuses:
        return {"analystVerdicts": [SUPPRESSING_VERDICT]}
    return {}


def needs_status_check(filters: dict[str, Any]) -> bool:
    """Whether the status filter could not be sent whole, so that returned threats must be checked."""
    wanted = set(filters.get("status") or ())
    incident = {status.name for status in STATUS_BY_INCIDENT_STATUS.values()}
    return StatusId.suppressed.name in wanted and bool(incident & wanted)


def incident_change(update: dict[str, Any]) -> dict[str, str]:
    """The ``data`` of ``POST threats/incident`` (or ``threats/analyst-verdict``) for update_threat_status.

    ``vendor_status`` overrides ``status``; a ``verdict`` is sent as analystVerdict. BadInput, naming
    the field and SentinelOne's values, when the change cannot be expressed.
    """
    change: dict[str, str] = {}
    if "vendor_status" in update:
        if update["vendor_status"] not in INCIDENT_STATUSES:
            raise BadInput(
                f"input.vendor_status: {update['vendor_status']!r} is not a sentinelone incidentStatus "
                f"(allowed: {', '.join(INCIDENT_STATUSES)})"
            )
        change["incidentStatus"] = update["vendor_status"]
    elif "status" in update:
        if update["status"] not in INCIDENT_CHANGE_BY_STATUS:
            raise BadInput(
                f"input.status: {update['status']!r} cannot be expressed for sentinelone (allowed: "
                f"{', '.join(INCIDENT_CHANGE_BY_STATUS)}; or vendor_status {'|'.join(INCIDENT_STATUSES)})"
            )
        change.update(INCIDENT_CHANGE_BY_STATUS[update["status"]])
    verdict = update.get("verdict")
    if verdict is not None:
        if change.get("analystVerdict", verdict) != verdict:
            raise BadInput(
                f"input.verdict: {verdict!r} contradicts status false_positive "
                "(which sets the verdict false_positive)"
            )
        change["analystVerdict"] = verdict
    return change


def applied(record: dict[str, Any], change: dict[str, str]) -> bool:
    """Whether a ``GET /threats`` record shows every field of ``change`` (incidentStatus, analystVerdict)."""
    info = record.get("threatInfo") or {}
    return all(info.get(key) == value for key, value in change.items())
