"""What the generated Cortex analyzer and responder programs call: job config in, report or error line out.

The programs keep only the cortexutils side (reading the job, writing ``output.json``); here the
job's configuration becomes a connection (the token in memory) and an action's input, the run's
envelope becomes Cortex's report, and a failed run becomes one line for ``Worker.error``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connector.connections import Connection
from connector.envelope import Envelope
from connector.export import runtime
from connector.export.cortex import ANALYZERS, PREFIX, RESPONDERS, Flavor
from connector.export.description import camel

SECRET_PHRASES = ("key", "password", "secret", "token")
"""Configuration items whose value cortexutils replaces by REMOVED in an error report."""

Outcome = tuple[dict[str, Any], str | None]
"""The full report, or the error line (then the report is empty)."""

LEVELS = {"critical": "malicious", "high": "malicious", "medium": "suspicious", "low": "suspicious"}
"""Taxonomy level by the most severe record; informational or unknown only is info, no record at all safe."""

_SEVERITY_ORDER = ("unknown", "informational", "low", "medium", "high", "critical")
_RECORD_KEYS = ("threats", "events", "incidents")
_ARTIFACT_TYPES = {"ip": "ip", "hostname": "hostname", "domain": "domain", "email": "mail", "url": "url"}
_THEHIVE_SEVERITY = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def analyze(config: dict[str, Any], data_type: str, data: Any) -> Outcome:
    """Run the analyzer flavor ``config`` names on observable ``data`` of type ``data_type``."""
    flavor, problem = _flavor(ANALYZERS, config, data_type)
    if flavor is None:
        return {}, problem
    values: dict[str, Any] = {"search": data, **_settings(flavor, config)}
    if flavor.action == "list_incidents":
        values["include_raw"] = True  # the reference (ref_id) is only in the vendor's record
    envelope = runtime.run(flavor.action, values, lambda: _connection(flavor, config))
    if envelope.status == "failed":
        return {}, _error_line(envelope)
    report = _report(envelope)
    if flavor.action == "list_incidents":
        # The vendor's search matches words anywhere; a reference lookup wants the one incident.
        found = [record for record in report["incidents"] if (record.get("raw") or {}).get("ref_id") == data]
        report["incidents"] = found
        report["count"] = report["total"] = len(report["incidents"])
    return report, None


def respond(config: dict[str, Any], data_type: str, data: Any) -> Outcome:
    """Run the responder flavor ``config`` names on the TheHive alert or case ``data``."""
    flavor, problem = _flavor(RESPONDERS, config, data_type)
    if flavor is None:
        return {}, problem
    if not isinstance(data, dict):
        return {}, f"data: expected the TheHive {data_type.removeprefix('thehive:')} object"
    values, refused = _responder_input(flavor, data_type, data, config)
    if refused:
        return {}, refused
    envelope = runtime.run(flavor.action, values, lambda: _connection(flavor, config))
    if envelope.status == "failed":
        return {}, _error_line(envelope)
    report = _report(envelope)
    if flavor.action == "update_threat_status":
        report["requested_status"] = values["status"]  # the operations' tag says what was set
    return report, None


def taxonomies(report: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """One taxonomy (level, namespace, predicate, value): how many records match, levelled by the worst severity.

    The value is the vendor's count of matches (``total``), not the records on the page read.
    """
    key = next(key for key in _RECORD_KEYS if key in report)
    records = [_threat(record) for record in report[key]]
    worst = max((_SEVERITY_ORDER.index(record.get("severity") or "unknown") for record in records), default=None)
    level = "safe" if worst is None else LEVELS.get(_SEVERITY_ORDER[worst], "info")
    total = report.get("total")
    value = total if isinstance(total, int) and total >= len(records) else len(records)
    return [(level, PREFIX, f"{camel(report['vendor'])}{camel(key)}", value)]


def artifacts(report: dict[str, Any], observed: Any) -> list[tuple[str, str]]:
    """The records' observables as TheHive artifacts (data type, value), without the one analyzed."""
    found: dict[tuple[str, str], None] = {}
    for record in next(report[key] for key in _RECORD_KEYS if key in report):
        for observable in _threat(record).get("observables") or []:
            kind = "hash" if observable["type"].startswith("file_hash.") else _ARTIFACT_TYPES.get(observable["type"])
            if kind and observable["value"] != observed:
                found[(kind, observable["value"])] = None
    return list(found)


def operations(report: dict[str, Any], data_type: str) -> list[tuple[str, dict[str, str]]]:
    """What TheHive applies after a responder ran (type, parameters): a tag on the case or alert saying what it did."""
    target = "Case" if data_type == "thehive:case" else "Alert"
    vendor = report["vendor"]
    if report["action"] == "create_incident":
        tags = [f"{vendor}:incident:{report['incident']['vendor_id']}"]
    elif report["action"] == "add_threat_note":
        tags = [f"{vendor}:noted"]
    else:
        tags = [f"{vendor}:{report['requested_status']}"]
    return [(f"AddTagTo{target}", {"tag": tag}) for tag in tags]


def _threat(record: dict[str, Any]) -> dict[str, Any]:
    """The record's threat: an event keeps its severity and observables under ``threat``."""
    threat = record.get("threat")
    return threat if isinstance(threat, dict) else record


def _flavor(flavors: tuple[Flavor, ...], config: dict[str, Any], data_type: str) -> tuple[Flavor | None, str]:
    service, vendor = config.get("service"), config.get("vendor")
    flavor = next((flavor for flavor in flavors if (flavor.action, flavor.vendor) == (service, vendor)), None)
    if flavor is None:
        return None, f"config.service: {service!r} at {vendor!r} is not a connector flavor (see the definitions)"
    if data_type not in flavor.data_types:
        supported = ", ".join(flavor.data_types)
        return None, f"dataType: {data_type!r} is not supported by {flavor.name} (supported: {supported})"
    return flavor, ""


def _settings(flavor: Flavor, config: dict[str, Any]) -> dict[str, Any]:
    return {name: config[name] for name in flavor.settings if config.get(name) not in (None, "", [])}


def _connection(flavor: Flavor, config: dict[str, Any]) -> Connection:
    return runtime.connection(
        flavor.name, flavor.vendor, config.get("base_url") or "", config.get("api_key"), config.get("verify_tls", True)
    )


def _responder_input(
    flavor: Flavor, data_type: str, data: dict[str, Any], config: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    kind = data_type.removeprefix("thehive:")
    identifier = data.get("_id") or data.get("id")
    if flavor.action == "create_incident":
        if not identifier:
            return {}, "data._id: missing (the case's id, which makes the incident's ref_id)"
        values = {
            "ref_id": f"thehive:{identifier}",
            "name": str(data.get("title") or f"TheHive case {identifier}")[:200],
            "description": data.get("description"),
            "severity": _THEHIVE_SEVERITY.get(data.get("severity", 0), "unknown"),
            "reported_at": _instant(data.get("createdAt")),
            **_settings(flavor, config),
        }
        return {name: value for name, value in values.items() if value is not None}, None
    ids = list(_threat_ids(data, flavor.vendor))
    if not ids:
        return {}, f"data.tags: no {flavor.vendor} threat on this {kind} (tag it {flavor.vendor}:<threat id>)"
    number = data.get("caseId") or data.get("number")
    note = f"TheHive {kind} {f'#{number}' if number else identifier}: {data.get('title') or ''}".rstrip(": ")
    if flavor.action == "add_threat_note":
        return {"ids": ids, "text": note}, None
    return {"ids": ids, "note": note, **_settings(flavor, config)}, None


def _threat_ids(data: dict[str, Any], vendor: str) -> Iterator[str]:
    """The vendor ids named ``<vendor>:<id>`` (a common threat's uid) in the tags and sourceRef, once each."""
    seen = set()
    for text in [*(data.get("tags") or []), data.get("sourceRef") or ""]:
        prefix, _, identifier = str(text).partition(":")
        if prefix == vendor and identifier and identifier not in seen:
            seen.add(identifier)
            yield identifier


def _instant(milliseconds: Any) -> str | None:
    if not isinstance(milliseconds, int | float):
        return None
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat().replace("+00:00", "Z")


def _report(envelope: Envelope) -> dict[str, Any]:
    return {
        "action": envelope.action,
        "vendor": envelope.vendor,
        "status": envelope.status,
        "errors": [error.model_dump() for error in envelope.errors],
        **envelope.output,
    }


def _error_line(envelope: Envelope) -> str:
    lines = [f"{error.item}: {error.message}" if error.item else error.message for error in envelope.errors]
    return "; ".join(lines) or f"{envelope.action} failed"
