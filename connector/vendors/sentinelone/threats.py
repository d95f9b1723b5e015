"""SentinelOne threat records -> the common Threat, as plain dicts, every value cleaned.

Two shapes are read. The v2.1 shape nests the threat in ``threatInfo``, the endpoint in
``agentRealtimeInfo`` and ``agentDetectionInfo``. The older flat v2.0 shape (still answered by
older consoles and kept in other tools' data) has neither object: its fields are moved into the
v2.1 places through :data:`FLAT_INFO` and :data:`FLAT_AGENT` and then mapped alike. A record
with neither shape is refused in one line, never turned into an empty "unnamed threat".

What goes where (LOSSY spots are in the action notes, see ``actions/get_threats.yaml``):
- classification and its source, detection type and engines, storyline (``correlation_uid``),
  threatId when it differs from id (``vendor_threat_id``);
- the file (name, path, size) and the process (command line, user, originator process);
- the endpoint: agent id, computer name, addresses (every valid one; link-local kept), OS, agent
  version, machine type, container/Kubernetes and cloud information where present;
- observables: hashes typed by length, the file path, the computer name, the addresses minus
  loopback, link-local and unspecified ones, the process user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from connector import hygiene as clean
from connector import records
from connector.enums import ConfidenceId, Kind, SeverityId, StatusId
from connector.errors import BadVendorAnswer
from connector.vendors.sentinelone.mapping import (
    CONFIDENCE_BY_LEVEL,
    NAME,
    SEVERITY_BY_CONFIDENCE,
    STATUS_BY_INCIDENT_STATUS,
    SUPPRESSING_VERDICT,
)

FLAT_INFO: dict[str, str] = {
    "threatName": "threatName",
    "fileDisplayName": "threatName",
    "classification": "classification",
    "classificationSource": "classificationSource",
    "confidenceLevel": "confidenceLevel",
    "fileContentHash": "sha1",
    "fileSha256": "sha256",
    "fileMd5": "md5",
    "filePath": "filePath",
    "fileSize": "fileSize",
    "createdAt": "createdAt",
    "updatedAt": "updatedAt",
    "identifiedAt": "identifiedAt",
    "mitigationStatus": "mitigationStatus",
    "incidentStatus": "incidentStatus",
    "analystVerdict": "analystVerdict",
    "engines": "engines",
    "detectionType": "detectionType",
    "commandLineArguments": "maliciousProcessArguments",
    "maliciousProcessArguments": "maliciousProcessArguments",
    "originatorProcess": "originatorProcess",
    "username": "processUser",
    "processUser": "processUser",
    "storyline": "storyline",
    "threatId": "threatId",
}
"""v2.0 flat field -> its v2.1 ``threatInfo`` name (the first present wins)."""
FLAT_AGENT: dict[str, str] = {
    "agentComputerName": "agentComputerName",
    "agentId": "agentId",
    "agentOsName": "agentOsName",
    "agentOsType": "agentOsName",
    "agentVersion": "agentVersion",
    "threatAgentVersion": "agentVersion",
    "agentMachineType": "agentMachineType",
}
"""v2.0 flat field -> its v2.1 ``agentRealtimeInfo`` name."""
FLAT_MARKERS = frozenset(
    {"threatName", "classification", "agentComputerName", "fileContentHash", "agentIp", "resolved"}
)
"""Fields only the flat shape has at the top level: one of them and no threatInfo means v2.0."""
CONTAINER_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "containerInfo": (("id", "uid"), ("name", "name"), ("image", "image")),
    "kubernetesInfo": (("cluster", "cluster"), ("namespace", "namespace"), ("pod", "pod"), ("node", "node")),
}
"""SentinelOne object -> (its field, the common Container field)."""
SCORE_RANGE = (0.0, 10.0)
"""The v2.0 ``rank`` is a 0-10 score."""
UNNAMED = "unnamed threat"
TECHNIQUE_CACHE_SIZE = 1024
"""Distinct (name, link) pairs of techniques remembered (MITRE ATT&CK has about 600 with sub-techniques)."""
_TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")


def normalize_threat(record: Any, *, include_raw: bool = False) -> dict[str, Any]:
    """Map one record of ``GET /threats`` (v2.1, or the flat v2.0 shape) to a common Threat record."""
    if not isinstance(record, dict):
        raise BadVendorAnswer(f"{NAME}: threat: expected an object, got {type(record).__name__}")
    info, agent, detection = _parts(record)
    vendor_id = _vendor_id(record, info)
    confidence = clean.label(info.get("confidenceLevel"), "vendor_severity", SEVERITY_BY_CONFIDENCE)
    incident_status = clean.text(info.get("incidentStatus"), "vendor_status")
    verdict = clean.text(info.get("analystVerdict"), "verdict")
    status = STATUS_BY_INCIDENT_STATUS.get(incident_status or "", StatusId.unknown)
    if verdict == SUPPRESSING_VERDICT:
        status = StatusId.suppressed
    computer = clean.text(agent.get("agentComputerName"), "resources.hostname")
    path = clean.text(info.get("filePath"), "file.path")
    classification = clean.text(info.get("classification"), "classification")
    created = clean.timestamp(info.get("createdAt"), "created_at")
    updated = clean.timestamp(info.get("updatedAt"), "updated_at")
    threat_id = clean.ident(info.get("threatId"), "vendor_threat_id")
    addresses = clean.ips(_addresses(agent, detection), "resources.ip")
    return records.threat(
        {
            "uid": f"{NAME}:{vendor_id}",
            "vendor": NAME,
            "vendor_id": vendor_id,
            "kind": Kind.detection,
            "title": clean.text(info.get("threatName"), "title") or UNNAMED,
            "description": _description(classification, confidence, computer, path),
            "severity_id": SEVERITY_BY_CONFIDENCE.get(confidence or "", SeverityId.unknown),
            "status_id": status,
            "confidence_id": CONFIDENCE_BY_LEVEL.get(confidence or "", ConfidenceId.unknown),
            "verdict": verdict,
            "disposition": clean.text(info.get("mitigationStatus"), "disposition"),
            "score": clean.number(record.get("rank"), "score", low=SCORE_RANGE[0], high=SCORE_RANGE[1]),
            "first_seen": clean.timestamp(info.get("identifiedAt"), "first_seen") or created,
            "last_seen": updated or created,
            "created_at": created,
            "updated_at": updated,
            "resources": [_endpoint(record, agent, detection, computer, addresses)],
            "observables": _observables(info, computer, path, addresses),
            "attacks": _attacks(record.get("indicators")),
            "vendor_severity": confidence,
            "vendor_status": incident_status,
            "classification": classification,
            "classification_source": clean.text(info.get("classificationSource"), "classification_source"),
            "detection_type": clean.text(info.get("detectionType"), "detection_type"),
            "detection_engines": _engines(info),
            "vendor_threat_id": threat_id if threat_id != vendor_id else None,
            "correlation_uid": clean.text(info.get("storyline"), "correlation_uid"),
            **_file_and_process(info, path),
            "raw": record if include_raw else None,
        }
    )


def _vendor_id(record: dict[str, Any], info: dict[str, Any]) -> str:
    """The threat's id (``id``, else threatInfo's threatId); a record without one, or with neither
    shape, is refused."""
    vendor_id = clean.ident(record.get("id"), "vendor_id") or clean.ident(info.get("threatId"), "vendor_id")
    if vendor_id is None:
        keys = clean.keys_of(record)
        raise BadVendorAnswer(f"{NAME}: threat: id: missing (neither id nor threatInfo.threatId; keys: {keys})")
    if not info:
        raise BadVendorAnswer(
            f"{NAME}: threat {vendor_id}: threatInfo: missing or not an object, and no field of the flat v2.0 shape"
        )
    return vendor_id


def _file_and_process(info: dict[str, Any], path: str | None) -> dict[str, Any]:
    """The common ``file`` (the threat's file, when a path names it) and ``process``."""
    return {
        "file": records.file(
            name=_basename(path) if path else None,
            path=path,
            size=clean.integer(info.get("fileSize"), "file.size") if path else None,
        ),
        "process": records.process(
            command_line=clean.text(info.get("maliciousProcessArguments"), "process.command_line"),
            user=clean.text(info.get("processUser"), "process.user"),
            parent_name=clean.text(info.get("originatorProcess"), "process.parent_name"),
        ),
    }


def _parts(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """threatInfo, agentRealtimeInfo and agentDetectionInfo, the flat v2.0 fields moved into them."""
    if "threatInfo" in record or FLAT_MARKERS.isdisjoint(record):
        return (
            clean.mapping(record.get("threatInfo"), "threatInfo"),
            clean.mapping(record.get("agentRealtimeInfo"), "resources"),
            clean.mapping(record.get("agentDetectionInfo"), "resources"),
        )
    info: dict[str, Any] = {}
    for old, new in FLAT_INFO.items():
        if not clean.is_null(record.get(old)):
            info.setdefault(new, record[old])
    resolved = clean.flag(record.get("resolved"), "vendor_status")
    if resolved is not None:
        info.setdefault("incidentStatus", "resolved" if resolved else "unresolved")
    if clean.flag(record.get("markedAsBenign"), "verdict"):
        info.setdefault("analystVerdict", SUPPRESSING_VERDICT)
    agent = {new: record[old] for old, new in reversed(FLAT_AGENT.items()) if not clean.is_null(record.get(old))}
    return info, agent, {"agentIpV4": record.get("agentIp")}


def _description(classification: str | None, confidence: str | None, computer: str | None, path: str | None) -> str:
    what = f"{classification or 'Threat'} ({confidence or 'n/a'}) on {computer or 'an unknown endpoint'}"
    return what + (f": {path}" if path else "")


def _basename(path: str) -> str | None:
    # Windows and POSIX paths alike: the agent reports both.
    return path[max(path.rfind("/"), path.rfind("\\")) + 1 :] or None


def _addresses(agent: dict[str, Any], detection: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for interface in clean.objects(agent.get("networkInterfaces"), "resources.ip"):
        found.extend(_listed(interface.get("inet")))
        found.extend(_listed(interface.get("inet6")))
    found += (detection.get("agentIpV4"), detection.get("agentIpV6"), detection.get("externalIp"))
    return found  # nulls among them are left to ips(), which reads them as null and drops nothing


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _endpoint(
    record: dict[str, Any], agent: dict[str, Any], detection: dict[str, Any], computer: str | None, addresses: list[str]
) -> dict[str, Any]:
    return records.resource(
        uid=clean.ident(agent.get("agentId"), "resources.uid")
        or clean.ident(detection.get("agentUuid"), "resources.uid"),
        name=computer,
        type="endpoint",
        hostname=computer,
        ip=addresses,
        os=_either(agent, detection, "agentOsName", "resources.os"),
        agent_version=_either(agent, detection, "agentVersion", "resources.agent_version"),
        machine_type=clean.text(agent.get("agentMachineType"), "resources.machine_type"),
        container=_container(record),
        cloud=_cloud(clean.mapping(detection.get("cloudProviders"), "resources.cloud")),
    )


def _container(record: dict[str, Any]) -> dict[str, Any] | None:
    """containerInfo and kubernetesInfo, when they say anything (most endpoints are no container)."""
    values: dict[str, str] = {}
    for part, fields in CONTAINER_FIELDS.items():
        found = clean.mapping(record.get(part), "resources.container")
        for key, name in fields:
            value = found.get(key)
            if value is not None:
                value = clean.text(value, f"resources.container.{name}")
                if value is not None:
                    values[name] = value
    return records.container(**values) if values else None


def _either(agent: dict[str, Any], detection: dict[str, Any], key: str, field: str) -> str | None:
    """The realtime value of ``key``, else the one recorded at detection time."""
    return clean.text(agent.get(key), field) or clean.text(detection.get(key), field)


def _cloud(providers: dict[str, Any]) -> dict[str, Any] | None:
    """The first provider's account, region and instance (``{"AWS": {"cloudAccount": ...}}``)."""
    for provider, details in providers.items():
        if isinstance(details, dict):
            return records.cloud(
                provider=clean.text(provider, "resources.cloud.provider"),
                account_uid=clean.text(details.get("cloudAccount"), "resources.cloud.account_uid"),
                region=clean.text(details.get("cloudLocation"), "resources.cloud.region"),
                instance_uid=clean.text(details.get("cloudInstanceId"), "resources.cloud.instance_uid"),
            )
    return None


def _engines(info: dict[str, Any]) -> list[str]:
    """detectionEngines' titles (objects in newer records, plain names in the docs), else engines.

    Each is one name, never split on its commas: "Documents, Scripts" is one engine.
    """
    titles = (
        (engine.get("title") or engine.get("key")) if isinstance(engine, dict) else engine
        for engine in _listed(info.get("detectionEngines"))
    )
    return _names(titles) or _names(_listed(info.get("engines")))


def _names(values: Iterable[Any]) -> list[str]:
    """The texts of ``values``, each whole and once."""
    found = (clean.text(value, "detection_engines") for value in values if value is not None)
    return list(dict.fromkeys(name for name in found if name is not None))


def _observables(
    info: dict[str, Any], computer: str | None, path: str | None, addresses: list[str]
) -> list[dict[str, Any]]:
    # Each (type, value) once: only a hash can come twice (typed by length, whichever field it came
    # in), the other kinds are there once each and the addresses are already unique.
    hashes: dict[str, str] = {}
    for key in ("sha256", "sha1", "md5"):
        for value in clean.texts(info.get(key), "observables.file_hash"):
            typed = clean.file_hash(value, "observables.file_hash")
            if typed is not None:
                hashes.setdefault(typed[1], typed[0])
    found = [records.observable(f"file_hash.{algorithm}", digest) for digest, algorithm in hashes.items()]
    if path:
        found.append(records.observable("file_path", path))
    if computer:
        found.append(records.observable("hostname", computer))
    for address in clean.observable_ips(addresses, "observables.ip"):
        found.append(records.observable("ip", address))
    user = clean.text(info.get("processUser"), "observables.user")
    if user:
        found.append(records.observable("user", user))
    return found


def _attacks(indicators: Any) -> list[dict[str, Any]]:
    attacks: list[dict[str, Any]] = []
    for indicator in clean.objects(indicators, "attacks"):
        for tactic in clean.objects(indicator.get("tactics"), "attacks"):
            for technique in clean.objects(tactic.get("techniques"), "attacks") or [{}]:
                label = clean.text(technique.get("name"), "attacks.technique_name") or ""
                link = clean.text(technique.get("link"), "attacks.technique_uid") or ""
                short = len(label) + len(link) <= clean.REMEMBERED_LONGEST
                uid, name = (_remembered_technique if short else _technique)(label, link)
                attack = records.attack(
                    tactic=clean.text(tactic.get("name"), "attacks.tactic"), technique_uid=uid, technique_name=name
                )
                if attack not in attacks:
                    attacks.append(attack)
    return attacks


def _technique(label: str, link: str) -> tuple[str | None, str | None]:
    """(technique id, technique name) of a technique's name and link: the id found in either, else the
    name as it is."""
    uid = _TECHNIQUE_ID.search(label) or _TECHNIQUE_ID.search(link)
    return (uid.group(0), None) if uid else (None, label or None)


_remembered_technique = lru_cache(maxsize=TECHNIQUE_CACHE_SIZE)(_technique)
""":func:`_technique`, remembered: every threat names a few of the same few hundred MITRE techniques."""
