"""Seeded MySecutec TAM records: organisations' assets, threats of the four license modules, their logs.

Every organisation has a root domain and the assets hanging off it (subdomains, IPs, hosts, a Microsoft 365
tenant, mailboxes); an asset is related to its organisation's root domain and the root to all of them, which
is what ``related_to_asset_id`` follows. Threats are stored in the public shape of the spec, so a list page
is serialised without copying; what the API does not show (soft deletion, relations, search text) sits
beside the record in :class:`StoredThreat`. Threats are built on demand from (seed, index) by
:class:`SeededThreats`, so a sandbox of 100,000 threats starts in seconds and holds a few columns.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connector.sandbox.common import (
    ANCHOR,
    fake_cve,
    fake_datetime,
    fake_domain,
    fake_hex,
    fake_hostname,
    fake_ipv4,
    fake_uuid,
    iso_z,
    rng_for,
)
from connector.sandbox.mysecutec.cvss import base_score, realistic_vector

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("unsolved", "solved", "accepted", "false_positive")
SYSTEM_STATUSES = ("unsolved", "solved", "false_positive")
USER_STATUSES = ("unsolved", "accepted", "solved", "false_positive")
MODULES = ("asm", "lcm", "m365", "dnm")
ITEM_TYPES = ("BLACK_MARKET", "BOTNET", "PII_EXPOSURE", "IM_CONTENT", "SUSPICIOUS_CONTENT")
LABELS = {
    "critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info",
    "unsolved": "Unsolved", "solved": "Solved", "accepted": "Accepted", "false_positive": "False Positive",
    "asm": "ASM", "lcm": "LCM", "m365": "M365", "dnm": "DNM",
}
SYSTEM_ACTOR = "system"
SYSTEM_OPERATIONS = frozenset({"sync", "merge"})

_MODULE_WEIGHTS = (40, 30, 20, 10)
_REMEDIATION_DAYS = {"critical": 15, "high": 30, "medium": 60, "low": 90, "info": 180}
_RISK_BASE = {"critical": 92.0, "high": 75.0, "medium": 50.0, "low": 25.0, "info": 5.0}
_ANALYSTS = ("soc.analyst@example.com", "j.martin@example.com", "secops@example.com")
_NOTES = ("Tracked in CHG-2231", "Owner notified by mail", "Compensating control in place (WAF rule 4412)")
_ANNOTATIONS = ("Waiting for the vendor patch", "Scheduled for the next maintenance window")
_SUBDOMAINS = ("www", "mail", "vpn", "api", "portal", "intranet", "shop")
_PEOPLE = ("j.martin", "a.dupont", "m.schmidt", "l.rossi", "s.nakamura")

_FLAWS = (
    "Remote Code Execution", "SQL Injection", "Cross-Site Scripting", "Path Traversal",
    "Authentication Bypass", "Server-Side Request Forgery", "Denial of Service", "Information Disclosure",
)
_SERVICES = (
    (443, "https", "nginx", "1.18.0"), (80, "http", "Apache httpd", "2.4.49"),
    (22, "ssh", "OpenSSH", "8.2p1"),
    (3389, "rdp", "Microsoft Terminal Services", "10.0"), (8443, "https", "Fortinet FortiOS", "7.0.11"),
    (25, "smtp", "Postfix", "3.4.13"), (3306, "mysql", "MySQL", "5.7.33"),
)
_ASM_CHECKS = (
    ("asm-tls-expired", "Expired TLS certificate", "medium"),
    ("asm-tls-weak-protocol", "TLS 1.0 still enabled", "low"),
    ("asm-open-rdp", "RDP exposed to the internet", "high"),
    ("asm-missing-dmarc", "Missing DMARC record", "low"),
    ("asm-directory-listing", "Directory listing enabled", "info"),
)
_SOFTWARE = (
    ("OpenSSL", "3.0.7", "3.0.8"), ("Apache Log4j", "2.14.1", "2.17.1"),
    ("Microsoft Exchange Server", "15.2.986.5", "15.2.1118.40"),
    ("Google Chrome", "116.0.5845.96", "116.0.5845.187"), ("OpenSSH", "8.9p1", "9.3p2"),
    ("VMware ESXi", "7.0.3", "7.0.3o"), ("Citrix ADC", "13.1-48.47", "13.1-49.13"),
)
_OPERATING_SYSTEMS = ("Windows Server 2019", "Windows 11 23H2", "Ubuntu 22.04 LTS", "RHEL 8.8")
_M365_CONTROLS = (
    ("CIS-M365-1.1.1", "MFA not enforced for administrative roles", "high"),
    ("CIS-M365-1.1.3", "More than four global administrators", "medium"),
    ("CIS-M365-5.1.1", "Legacy authentication protocols enabled", "high"),
    ("CIS-M365-6.1.1", "Mailbox auditing disabled", "medium"),
    ("CIS-M365-7.2.3", "External sharing allowed with anyone links", "medium"),
    ("CIS-M365-2.1.9", "DKIM signing not enabled", "low"),
    ("CIS-M365-3.1.1", "Unified audit log search disabled", "critical"),
)
# (item_type, breach category, breach name, usual severity): the darknet sources the DNM crawler reports.
_DNM_SOURCES = (
    ("BLACK_MARKET", "marketplace", "Russian Market listing", "high"),
    ("BLACK_MARKET", "combolist", "Collection #1 combolist", "high"),
    ("BOTNET", "stealer_log", "RedLine stealer logs", "critical"),
    ("BOTNET", "stealer_log", "Lumma stealer logs", "critical"),
    ("PII_EXPOSURE", "database_leak", "ShopCo customer database", "high"),
    ("PII_EXPOSURE", "paste", "Pastebin dump", "medium"),
    ("IM_CONTENT", "telegram_channel", "Telegram cloud-logs channel", "medium"),
    ("SUSPICIOUS_CONTENT", "forum_post", "BreachForums thread", "low"),
    ("SUSPICIOUS_CONTENT", "ransomware_leak", "LockBit leak site", "info"),
)


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset as the threat shows it (AssetMinimal), plus the organisation's root domain id."""

    id: str
    name: str
    type: str
    root_id: str


@dataclass(slots=True)
class StoredThreat:
    """A threat in its public shape plus what the API keeps hidden."""

    record: dict[str, Any]
    related_asset_ids: frozenset[str]
    search_text: str
    deleted: bool
    logs: list[dict[str, Any]] = field(default_factory=list)


def severity_for_score(score: float) -> str:
    """The CVSS 3.1 qualitative band, with MySecutec's ``info`` for a 0.0 score."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0.0 else "info"


def cvss_category(severity: str | None) -> dict[str, str]:
    """The CVSSCategory object; the spec does not make it nullable, so no severity reads ``unknown``."""
    if severity is None:
        return {"code": "unknown", "label": "Unknown"}
    return {"code": severity, "label": LABELS[severity]}


def log_entry(
    log_id: str, threat_id: str, operation: str, actor: str, stamp: str, change_data: dict[str, Any]
) -> dict[str, Any]:
    """One ThreatLog in the public shape; ``stamp`` is its ISO creation time."""
    return {
        "id": log_id, "threat_id": threat_id, "operation": operation, "created_by": actor,
        "created_at": stamp, "updated_at": stamp, "change_data": change_data,
    }


class SeededThreats:
    """``size`` threats drawn from ``seed``, each built on demand from (seed, index): same seed, same threats.

    Only the organisations (one for about 40 threats) and what the default order and the live count
    need are drawn up front: each threat's id, timeline and deletion are the first draws of its own
    generator, and the rest of it (finding, statuses, logs) is drawn when the threat is asked for.
    """

    def __init__(self, seed: int, size: int) -> None:
        self.seed, self.size = seed, size
        rng = rng_for(seed, "mysecutec")
        self._organisations = [_organisation(rng, index) for index in range(max(2, size // 40))]
        self.ids: list[str] = []
        self.created_at: list[str] = []
        self.deleted = bytearray(size)
        for index in range(size):
            threat_id, created, deleted = _first_draws(self._rng(index))
            self.ids.append(threat_id)
            self.created_at.append(iso_z(created[1]))
            self.deleted[index] = deleted

    def __len__(self) -> int:
        return self.size

    def _rng(self, index: int) -> random.Random:
        return random.Random(f"{self.seed}:mysecutec-threat:{index}")

    def threat(self, index: int) -> StoredThreat:
        """A fresh copy of the threat at ``index`` as seeded, with its seeded logs."""
        rng = self._rng(index)
        threat_id, created, deleted = _first_draws(rng)
        return _threat(rng, self._organisations, threat_id, _moments(rng, *created), deleted)


def build_threats(seed: int, size: int) -> list[StoredThreat]:
    """Every threat :class:`SeededThreats` holds, in its order: what the simulator serves for this seed."""
    seeded = SeededThreats(seed, size)
    return [seeded.threat(index) for index in range(size)]


def _first_draws(rng: random.Random) -> tuple[str, tuple[datetime, datetime], bool]:
    """(id, (first seen, created), deleted): every threat's first draws, all that ordering and counts need."""
    threat_id = fake_uuid(rng)
    first_seen = fake_datetime(rng, end=ANCHOR - timedelta(days=1))
    created = first_seen + timedelta(seconds=rng.randrange(0, 6 * 3600))
    return threat_id, (first_seen, created), rng.random() < 0.04


def _organisation(rng: random.Random, index: int) -> dict[str, list[Asset]]:
    """The assets of one organisation by type; its root domain is ``["domain"][0]``."""
    root_name = f"{fake_domain(rng).split('.')[0]}{index}.{rng.choice(('com', 'net', 'fr', 'de'))}"
    root_id = fake_uuid(rng)
    label = root_name.split(".")[0]

    def asset(name: str, kind: str) -> Asset:
        return Asset(fake_uuid(rng), name, kind, root_id)

    return {
        "domain": [Asset(root_id, root_name, "domain", root_id)],
        "subdomain": [asset(f"{sub}.{root_name}", "subdomain")
                      for sub in rng.sample(_SUBDOMAINS, rng.randint(2, 4))],
        "ip": [asset(fake_ipv4(rng), "ip") for _ in range(rng.randint(1, 3))],
        "host": [asset(fake_hostname(rng), "host") for _ in range(rng.randint(1, 3))],
        "m365_tenant": [asset(f"{label}.onmicrosoft.com", "m365_tenant")],
        "email": [asset(f"{person}@{root_name}", "email")
                  for person in rng.sample(_PEOPLE, rng.randint(1, 2))],
    }


def _threat(
    rng: random.Random, organisations: list[dict[str, list[Asset]]], threat_id: str,
    moments: dict[str, datetime], deleted: bool,
) -> StoredThreat:
    module = rng.choices(MODULES, weights=_MODULE_WEIGHTS)[0]
    org = rng.choice(organisations)
    finding = _FINDERS[module](rng, org)
    asset: Asset = finding.pop("asset")
    severity: str | None = finding.pop("severity")
    score: float | None = finding["cvss_score"]
    if score is None and rng.random() < 0.05:
        severity = None  # some sources send neither a score nor a severity
    system_status = rng.choices(SYSTEM_STATUSES, weights=(55, 30, 15))[0]
    user_status = rng.choice(USER_STATUSES) if rng.random() < 0.3 else None
    note = rng.choice(_NOTES) if rng.random() < 0.1 else None
    unsolved = (user_status or system_status) == "unsolved"
    annotation = rng.choice(_ANNOTATIONS) if unsolved and rng.random() < 0.1 else None
    risk = _RISK_BASE.get(severity or "", 0.0) if score is None else score * 10
    record: dict[str, Any] = {
        "id": threat_id,
        "name": finding["name"],
        "description": finding["description"],
        "note": note,
        "external_id": finding["external_id"],
        "cvss_score": score,
        "cvss_vector": finding["cvss_vector"],
        "severity": severity,
        "cvss_category": cvss_category(severity),
        "days_to_remediate": _REMEDIATION_DAYS.get(severity or "", 180),
        "risk_priority_score": round(min(100.0, risk * rng.uniform(0.85, 1.05)), 1),
        "status": user_status or system_status,
        "system_status": system_status,
        "user_status": user_status,
        "unsolved_annotation_note": annotation,
        "first_seen_at": None if rng.random() < 0.05 else iso_z(moments["first_seen"]),
        "status_updated_at": iso_z(_last_status_change(moments, system_status, user_status)),
        "created_at": iso_z(moments["created"]),
        "updated_at": iso_z(moments["updated"]),
        "asset_id": asset.id,
        "asset": {"id": asset.id, "name": asset.name, "type": asset.type},
        "tech_solution": finding["tech_solution"],
        "data": finding["data"],
    }
    if asset.id == asset.root_id:
        related = {member.id for group in org.values() for member in group}
    else:
        related = {asset.id, asset.root_id}
    searchable = (record["name"], record["description"], record["external_id"], asset.name)
    stored = StoredThreat(record, frozenset(related), "\n".join(searchable).lower(), deleted)
    stored.logs = _seed_logs(rng, record, moments)
    return stored


def _moments(rng: random.Random, first_seen: datetime, created: datetime) -> dict[str, datetime]:
    """A consistent timeline: first seen, created soon after, status changes and the last update later."""
    status_system = fake_datetime(rng, created, ANCHOR)
    status_user = fake_datetime(rng, status_system, ANCHOR)
    merged = fake_datetime(rng, created, ANCHOR)
    updated = fake_datetime(rng, max(status_user, merged), ANCHOR)
    return {
        "first_seen": first_seen, "created": created, "status_system": status_system,
        "status_user": status_user, "merged": merged, "updated": updated,
    }


def _last_status_change(
    moments: dict[str, datetime], system_status: str, user_status: str | None
) -> datetime:
    """When the status last moved: the analyst's change, else the scanner's, else the creation."""
    if user_status is not None:
        return moments["status_user"]
    return moments["created"] if system_status == "unsolved" else moments["status_system"]


def _seed_logs(
    rng: random.Random, record: dict[str, Any], moments: dict[str, datetime]
) -> list[dict[str, Any]]:
    """The history that explains the record: the scanner's syncs and merges, then the analysts' edits."""
    threat_id = record["id"]

    def change(operation: str, actor: str, when: datetime, name: str, old: Any, new: Any) -> dict[str, Any]:
        return log_entry(fake_uuid(rng), threat_id, operation, actor, iso_z(when),
                         {"field": name, "old_value": old, "new_value": new})

    logs = [change("sync", SYSTEM_ACTOR, moments["created"], "system_status", None, "unsolved")]
    if record["system_status"] != "unsolved":
        logs.append(change("sync", SYSTEM_ACTOR, moments["status_system"], "system_status", "unsolved",
                           record["system_status"]))
    if rng.random() < 0.4:
        merged_id = fake_uuid(rng)
        logs.append(change("merge", SYSTEM_ACTOR, moments["merged"], "merged_threat_id", None, merged_id))
    analyst = rng.choice(_ANALYSTS)
    if record["user_status"] is not None:
        logs.append(change("status_change", analyst, moments["status_user"], "user_status", None,
                           record["user_status"]))
    if record["note"] is not None:
        logs.append(change("note_change", analyst, moments["updated"], "note", None, record["note"]))
    if record["unsolved_annotation_note"] is not None:
        logs.append(change("annotation_change", analyst, moments["updated"], "unsolved_annotation_note", None,
                           record["unsolved_annotation_note"]))
    logs.sort(key=lambda entry: entry["created_at"])
    return logs


def _asm(rng: random.Random, org: dict[str, list[Asset]]) -> dict[str, Any]:
    asset = rng.choice(org["domain"] + org["subdomain"] + org["ip"])
    port, service, product, version = rng.choice(_SERVICES)
    data: dict[str, Any] = {"port": port, "protocol": "tcp", "service": service, "product": product,
                            "version": version}
    tech: dict[str, Any] = {"tech_solution_slug": "asm-scanner", "license_module_slug": "asm",
            "source_data": {"scan_id": fake_uuid(rng), "engine": "nuclei"}}
    if rng.random() < 0.2:
        check_id, title, severity = rng.choice(_ASM_CHECKS)
        return {"asset": asset, "severity": severity, "cvss_score": None, "cvss_vector": None,
                "external_id": check_id, "name": title, "tech_solution": tech, "data": data,
                "description": f"{title} on {asset.name} ({service} on port {port})."}
    cve = fake_cve(rng)
    vector = realistic_vector(rng)
    score = base_score(vector)
    flaw = rng.choice(_FLAWS)
    severity = severity_for_score(score)
    tech["source_data"]["template_id"] = cve
    data["references"] = [f"https://nvd.nist.gov/vuln/detail/{cve}"]
    return {"asset": asset, "severity": severity, "cvss_score": score, "cvss_vector": vector,
            "external_id": cve, "name": f"{cve} - {flaw}", "tech_solution": tech, "data": data,
            "description": f"{_article(severity).capitalize()} {severity} {flaw.lower()} vulnerability in "
                           f"{product} {version} "
                           f"exposed on {asset.name}:{port}."}


def _lcm(rng: random.Random, org: dict[str, list[Asset]]) -> dict[str, Any]:
    asset = rng.choice(org["host"])
    product, version, fixed = rng.choice(_SOFTWARE)
    cve = fake_cve(rng)
    vector = realistic_vector(rng)
    score = base_score(vector)
    flaw = rng.choice(_FLAWS)
    data = {"software": {"product": product, "version": version}, "fixed_version": fixed,
            "host": {"hostname": asset.name, "os": rng.choice(_OPERATING_SYSTEMS)},
            "end_of_life": rng.random() < 0.15}
    tech = {"tech_solution_slug": "lcm-agent", "license_module_slug": "lcm",
            "source_data": {"agent_id": fake_uuid(rng), "agent_version": "4.2.1"}}
    return {"asset": asset, "severity": severity_for_score(score), "cvss_score": score, "cvss_vector": vector,
            "external_id": cve, "name": f"{cve} - {product} {flaw}", "tech_solution": tech, "data": data,
            "description": f"{product} {version} on {asset.name} is affected by {_article(flaw)} "
                           f"{flaw.lower()} vulnerability; fixed in {fixed}."}


def _m365(rng: random.Random, org: dict[str, list[Asset]]) -> dict[str, Any]:
    asset = org["m365_tenant"][0]
    control_id, title, severity = rng.choice(_M365_CONTROLS)
    data = {"control_id": control_id, "benchmark": "CIS Microsoft 365 Foundations 3.1.0",
            "tenant_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, asset.name)),
            "affected_objects": rng.randint(1, 250)}
    tech = {"tech_solution_slug": "m365-posture", "license_module_slug": "m365",
            "source_data": {"graph_api": "v1.0", "policy_id": fake_uuid(rng)}}
    return {"asset": asset, "severity": severity, "cvss_score": None, "cvss_vector": None,
            "external_id": control_id, "name": title, "tech_solution": tech, "data": data,
            "description": f"{title} in tenant {asset.name} ({control_id})."}


def _dnm(rng: random.Random, org: dict[str, list[Asset]]) -> dict[str, Any]:
    asset = rng.choice(org["domain"] + org["email"])
    item_type, category, source_name, severity = rng.choice(_DNM_SOURCES)
    # Source ids are per breach, not per threat, so grouping by source_id gathers the same leak.
    source_id = "src-" + uuid.uuid5(uuid.NAMESPACE_URL, source_name).hex[:10]
    exposed = rng.randint(1, 5000)
    data: dict[str, Any] = {
        "item_type": item_type, "matched_term": asset.name, "exposed_records": exposed,
        "enriched": {"breach": {"category": category, "source_id": source_id, "name": source_name}},
    }
    if item_type == "BOTNET":
        data["infected_host"] = fake_hostname(rng)
    tech = {"tech_solution_slug": "darknet-monitor", "license_module_slug": "dnm",
            "source_data": {"crawler": "tor-crawler", "source_id": source_id}}
    title = item_type.replace("_", " ").lower()
    return {"asset": asset, "severity": severity, "cvss_score": None, "cvss_vector": None,
            "external_id": f"DNM-{fake_hex(rng, 12).upper()}", "tech_solution": tech, "data": data,
            "name": f"{source_name}: {asset.name}",
            "description": f"{exposed} records mentioning {asset.name} found in {source_name} ({title})."}


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


_FINDERS = {"asm": _asm, "lcm": _lcm, "m365": _m365, "dnm": _dnm}
