"""Common records -> OCSF 1.8.0 events, as pure functions.

A common Threat becomes a Detection Finding (2004), a Vulnerability Finding (2002, MySecutec CVEs)
or an Incident Finding (2005, CISO Assistant incidents), by its ``kind``; a Nameshield Event is the
Detection Finding of the threat it carries, at the event's time. What goes where:

- ``metadata``: the vendor's product, the OCSF version, the profiles used (``cloud`` when a
  resource has cloud details), ``uid`` (the common uid) and ``correlation_uid`` (storyline);
- ``finding_info``: uid, title, description, classification as ``types``, times, URL,
  ``uid_alt`` (SentinelOne's threatId), MITRE ATT&CK ``attacks``;
- ``severity_id``, ``status_id``, ``confidence_id``: the common ids, which are OCSF's (an
  incident has no "suppressed": it becomes Other); ``time``: the last update, else the last or
  first sighting, else creation; a record with none of them gets the time it was read, which
  ``metadata`` marks (``processed_time`` and the tag ``time: read``), never an invented event time;
- ``observables`` with their OCSF ``type_id``; resources as ``resources`` and an endpoint also as
  ``device`` (with its OS); the file as ``evidences[].file`` with its hashes; the classification
  as ``malware``; CVEs with CVSS as ``vulnerabilities``; Nameshield's whois, DNS records and
  website as ``enrichments``; the raw record, when kept, as ``raw_data``.
- ``unmapped``: what has no OCSF home in these classes: vendor, vendor_id, kind, the vendor's own
  severity and status labels, verdict and disposition, score, detection type and engines,
  classification source, the process (OCSF's process needs a pid the vendors do not give),
  containers, the event type, and for incidents the assets (their uids are also observables).

MySecutec threat log entries carry no finding (only the uid of the threat they changed): they
have no OCSF form and :func:`to_ocsf` refuses them with :class:`NotAFinding`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from connector.hygiene.network import SPECIAL_ADDRESS_PATTERN

VERSION = "1.8.0"
CATEGORY = (2, "Findings")
CLASS_BY_KIND: dict[str, tuple[int, str]] = {
    "detection": (2004, "Detection Finding"),
    "vulnerability": (2002, "Vulnerability Finding"),
    "incident": (2005, "Incident Finding"),
}
PRODUCT_BY_VENDOR: dict[str, dict[str, str]] = {
    "sentinelone": {"name": "Singularity Platform", "vendor_name": "SentinelOne"},
    "mysecutec": {"name": "Threat & Asset Management", "vendor_name": "MySecutec"},
    "nameshield": {"name": "CTI", "vendor_name": "Nameshield"},
    "ciso_assistant": {"name": "CISO Assistant", "vendor_name": "intuitem"},
}
SEVERITY_CAPTIONS = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal",
                     99: "Other"}
FINDING_STATUS = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived", 99: "Other"}
INCIDENT_STATUS = {0: "Unknown", 1: "New", 2: "In Progress", 4: "Resolved", 5: "Closed", 99: "Other"}
CONFIDENCE_CAPTIONS = {0: "Unknown", 1: "Low", 2: "Medium", 3: "High", 99: "Other"}
OBSERVABLE_TYPE_IDS: dict[str, tuple[int, str]] = {
    "hostname": (1, "Hostname"),
    "domain": (1, "Hostname"),
    "ip": (2, "IP Address"),
    "user": (4, "User Name"),
    "email": (5, "Email Address"),
    "url": (6, "URL String"),
    "file_hash": (8, "Hash"),
    "file_path": (45, "File Path"),
    "resource_uid": (10, "Resource UID"),
}
"""Common observable type (before any ``.``) -> OCSF observable type_id and its caption."""
HASH_ALGORITHMS = {"md5": (1, "MD5"), "sha1": (2, "SHA-1"), "sha256": (3, "SHA-256"), "sha512": (4, "SHA-512")}
DEVICE_TYPES = {"server": (1, "Server"), "desktop": (2, "Desktop"), "laptop": (3, "Laptop"),
                "kubernetes node": (6, "Virtual"), "storage": (99, "Other")}
OS_TYPES = ((re.compile(r"windows", re.I), 100, "Windows"), (re.compile(r"mac ?os|os x|darwin", re.I), 300, "macOS"),
            (re.compile(r"linux|ubuntu|debian|centos|red hat|rhel|suse|fedora|amazon", re.I), 200, "Linux"))
MALWARE_CLASSES = {
    "adware": 1, "backdoor": 2, "bot": 3, "bootkit": 4, "ddos": 5, "downloader": 6, "dropper": 7, "exploit": 8,
    "keylogger": 9, "ransomware": 10, "remote access": 11, "rootkit": 15, "spyware": 17, "trojan": 18, "virus": 19,
    "webshell": 20, "wiper": 21, "worm": 22, "infostealer": 17, "miner": 13, "cryptominer": 13,
}
"""Classification words -> OCSF malware classification_ids (the first word found wins; else Other)."""
READ_TIME_TAG = {"name": "time", "value": "read"}
"""In ``metadata.tags`` when the record has no time of its own: ``time`` is then the time it was read
(also ``metadata.processed_time``), not a time of the finding."""
UNASSIGNED = {"name": "unassigned"}
"""An Incident Finding must name an assignee or a group: an incident without owner gets this group."""
_SPECIAL_ADDRESS = re.compile(SPECIAL_ADDRESS_PATTERN)
UNMAPPED_FIELDS = ("vendor", "vendor_id", "kind", "vendor_severity", "vendor_status", "verdict", "disposition", "score",
                   "detection_type", "detection_engines", "classification_source", "process")


class NotAFinding(ValueError):
    """The record is no finding (a MySecutec threat log entry): it has no OCSF form."""


def profiles_of(event: dict[str, Any]) -> list[str]:
    """The OCSF profiles an event built here uses (to pick the schema it validates against)."""
    profiles: list[str] = event["metadata"]["profiles"]
    return profiles


def to_ocsf(record: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The OCSF event of a common Threat record, or of a Nameshield Event record (its threat)."""
    if "threat" in record and "kind" not in record:
        threat = record.get("threat")
        if not isinstance(threat, dict):
            raise NotAFinding(f"{record.get('uid')}: a {record.get('type')} log entry carries no finding")
        return _finding(threat, event=record, now=now)
    return _finding(record, event=None, now=now)


def _ms(stamp: str | None) -> int | None:
    return None if stamp is None else int(datetime.fromisoformat(stamp).timestamp() * 1000)


def _finding(threat: dict[str, Any], *, event: dict[str, Any] | None, now: datetime | None) -> dict[str, Any]:
    class_uid, class_name = CLASS_BY_KIND[threat["kind"]]
    incident = threat["kind"] == "incident"
    created, updated = _ms(threat["created_at"]), _ms(threat["updated_at"])
    activity_id, activity = (2, "Update") if updated is not None and updated != created else (1, "Create")
    moment = (event and _ms(event["time"])) or updated or _ms(threat["last_seen"]) or _ms(threat["first_seen"])
    moment = moment or created
    # No time at all in the record: OCSF requires one, so the time it was read, said in metadata.
    read_at = None if moment else int((now or datetime.now(UTC)).timestamp() * 1000)
    statuses = INCIDENT_STATUS if incident else FINDING_STATUS
    status_id = threat["status_id"] if threat["status_id"] in statuses else 99
    cloud = _cloud(threat)
    found: dict[str, Any] = {
        "class_uid": class_uid, "class_name": class_name,
        "category_uid": CATEGORY[0], "category_name": CATEGORY[1],
        "activity_id": activity_id, "activity_name": activity,
        "type_uid": class_uid * 100 + activity_id, "type_name": f"{class_name}: {activity}",
        "time": moment or read_at,
        "severity_id": threat["severity_id"], "severity": SEVERITY_CAPTIONS[threat["severity_id"]],
        "status_id": status_id, "status": statuses[status_id] if status_id != 99 else threat["status"],
        "confidence_id": threat["confidence_id"], "confidence": CONFIDENCE_CAPTIONS[threat["confidence_id"]],
        "message": threat["title"],
        "metadata": _metadata(threat, event, cloud is not None, read_at),
        "observables": _observables(threat),
    }
    info = _finding_info(threat)
    if incident:
        found["finding_info_list"] = [info]
        found["desc"] = threat["description"]
        found["src_url"] = threat["url"]
        owner = threat["assignee"]
        found["assignee" if owner else "assignee_group"] = {"name": owner} if owner else UNASSIGNED
    else:
        found["finding_info"] = info
        found["resources"] = [_resource(item) for item in threat["resources"] if item["uid"] or item["name"]]
        found["device"] = _device(threat)
        found["evidences"] = _evidences(threat)
        found["enrichments"] = _enrichments(threat)
        found["cloud"] = cloud
    if threat["kind"] == "detection":
        found["malware"] = _malware(threat)
    if threat["kind"] == "vulnerability":
        found["vulnerabilities"] = [_vulnerability(item, threat) for item in threat["vulnerabilities"]]
    raw = (event or threat).get("raw")
    if raw is not None:
        found["raw_data"] = orjson.dumps(raw).decode()
    found["unmapped"] = _unmapped(threat, event)
    return {key: value for key, value in found.items() if value not in (None, [], {})}


def _metadata(threat: dict[str, Any], event: dict[str, Any] | None, cloud: bool, read_at: int | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "product": PRODUCT_BY_VENDOR.get(threat["vendor"], {"name": threat["vendor"]}),
        "version": VERSION,
        "profiles": ["cloud"] if cloud else [],
        "uid": (event or threat)["uid"],
    }
    if threat["correlation_uid"]:
        metadata["correlation_uid"] = threat["correlation_uid"]
    if read_at is not None:
        metadata["processed_time"] = read_at
        metadata["tags"] = [dict(READ_TIME_TAG)]
    return metadata


def _finding_info(threat: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "uid": threat["uid"],
        "title": threat["title"],
        "desc": threat["description"],
        "types": [threat["classification"]] if threat["classification"] else None,
        "created_time": _ms(threat["created_at"]),
        "modified_time": _ms(threat["updated_at"]),
        "first_seen_time": _ms(threat["first_seen"]),
        "last_seen_time": _ms(threat["last_seen"]),
        "src_url": threat["url"],
        "uid_alt": threat["vendor_threat_id"],
        "attacks": [_attack(item) for item in threat["attacks"] if item["tactic"] or item["technique_uid"]
                    or item["technique_name"]],
    }
    return {key: value for key, value in info.items() if value not in (None, [])}


def _attack(attack: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if attack["tactic"]:
        found["tactic"] = {"name": attack["tactic"]}
    if attack["technique_uid"] or attack["technique_name"]:
        technique = {"uid": attack["technique_uid"], "name": attack["technique_name"]}
        found["technique"] = {key: value for key, value in technique.items() if value}
    return found


def _observables(threat: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in threat["observables"]:
        type_id, caption = OBSERVABLE_TYPE_IDS.get(item["type"].split(".")[0], (99, "Other"))
        found.append({"name": item["type"], "type_id": type_id, "type": caption, "value": item["value"]})
    if threat["kind"] == "incident":
        found.extend({"name": "resources.uid", "type_id": 10, "type": "Resource UID", "value": resource["uid"]}
                     for resource in threat["resources"] if resource["uid"])
    return found


def _resource(resource: dict[str, Any]) -> dict[str, Any]:
    found = {"uid": resource["uid"], "name": resource["name"], "type": resource["type"],
             "hostname": resource["hostname"], "ip": _address(resource["ip"])}
    return {key: value for key, value in found.items() if value is not None}


def _address(addresses: list[str]) -> str | None:
    """The address OCSF's one ``ip`` takes: the first routable one, else the first (a link-local or
    loopback address names the host only to itself)."""
    return next((item for item in addresses if not _SPECIAL_ADDRESS.match(item)), addresses[0] if addresses else None)


def _device(threat: dict[str, Any]) -> dict[str, Any] | None:
    """The endpoint a detection was seen on (the first resource of type endpoint)."""
    endpoint = next((item for item in threat["resources"] if item["type"] == "endpoint"), None)
    if endpoint is None or not (endpoint["uid"] or endpoint["hostname"] or endpoint["ip"]):
        return None
    type_id, caption = DEVICE_TYPES.get((endpoint["machine_type"] or "").lower(), (0, "Unknown"))
    device: dict[str, Any] = {**_resource(endpoint), "type_id": type_id, "type": caption}
    if endpoint["os"]:
        os_id, os_type = next(((i, t) for pattern, i, t in OS_TYPES if pattern.search(endpoint["os"])), (0, "Unknown"))
        device["os"] = {"name": endpoint["os"], "type_id": os_id, "type": os_type}
    return device


def _cloud(threat: dict[str, Any]) -> dict[str, Any] | None:
    for resource in threat["resources"]:
        cloud = resource.get("cloud")
        if cloud and cloud["provider"]:
            found = {"provider": cloud["provider"], "region": cloud["region"],
                     "account": {"uid": cloud["account_uid"]} if cloud["account_uid"] else None}
            return {key: value for key, value in found.items() if value is not None}
    return None


def _evidences(threat: dict[str, Any]) -> list[dict[str, Any]]:
    file = threat["file"]
    if not file or not file["name"]:
        return []
    hashes = [
        {"algorithm_id": HASH_ALGORITHMS[item["type"].split(".")[1]][0],
         "algorithm": HASH_ALGORITHMS[item["type"].split(".")[1]][1], "value": item["value"]}
        for item in threat["observables"] if item["type"].split(".")[-1] in HASH_ALGORITHMS
    ]
    found = {"name": file["name"], "type_id": 0, "path": file["path"], "size": file["size"], "hashes": hashes}
    return [{"file": {key: value for key, value in found.items() if value not in (None, [])}}]


def _malware(threat: dict[str, Any]) -> list[dict[str, Any]]:
    classification = threat["classification"]
    if not classification:
        return []
    words = classification.lower()
    class_id = next((value for word, value in MALWARE_CLASSES.items() if word in words), 99)
    return [{"name": threat["title"], "classification_ids": [class_id], "classifications": [classification]}]


def _vulnerability(item: dict[str, Any], threat: dict[str, Any]) -> dict[str, Any]:
    cve: dict[str, Any] = {"uid": item["cve"].upper()}
    vector, score = item["cvss_vector"], item["cvss_score"]
    version = re.match(r"CVSS:(\d\.\d)/", vector or "")
    if score is not None and version:
        cve["cvss"] = [{"base_score": score, "version": version.group(1), "vector_string": vector}]
    found = {"cve": cve, "title": threat["title"], "desc": threat["description"],
             "severity": SEVERITY_CAPTIONS[threat["severity_id"]]}
    return {key: value for key, value in found.items() if value is not None}


def _enrichments(threat: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for indicator in threat["indicators"]:
        for name in ("whois", "website"):
            if indicator[name]:
                found.append({"name": name, "value": indicator["domain"], "data": indicator[name]})
        if indicator["dns_records"]:
            found.append({"name": "dns_records", "value": indicator["domain"],
                          "data": {"records": indicator["dns_records"]}})
    return found


def _unmapped(threat: dict[str, Any], event: dict[str, Any] | None) -> dict[str, Any]:
    found = {name: threat[name] for name in UNMAPPED_FIELDS if threat[name] not in (None, [])}
    if threat["kind"] == "incident" and threat["resources"]:
        found["assets"] = [{"uid": item["uid"], "name": item["name"]} for item in threat["resources"]]
    elif threat["kind"] != "incident" and threat["assignee"]:
        found["assignee"] = threat["assignee"]
    containers = [item["container"] for item in threat["resources"] if item.get("container")]
    if containers:
        found["containers"] = containers
    if event is not None:
        found["event_type"] = event["type"]
    return found
