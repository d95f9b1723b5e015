"""Seeded SentinelOne threats shaped like the API v2.1 ``GET /threats`` records (newer schema).

The shape (keys, nesting, types, where nulls appear) follows the captured page in
``fixtures/real/sentinelone/threats_page_eventcollector.json``; a contract test keeps them in step.
Threats are built on demand from (seed, index) by :class:`SeededThreats`, so a sandbox of 100,000
threats starts in about a second; agent-level objects (``agentDetectionInfo``, ``agentRealtimeInfo``)
are shared between the threats of one agent and never mutated.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from connector.sandbox.common import (
    ANCHOR,
    MITRE_TECHNIQUES,
    fake_datetime,
    fake_hex,
    fake_hostname,
    fake_ipv4,
    fake_ipv6,
    fake_numeric_id,
    fake_uuid,
    iso_z,
    rng_for,
)

Threat = dict[str, Any]

INCIDENT_STATUSES = {"unresolved": "Unresolved", "in_progress": "In progress", "resolved": "Resolved"}
ANALYST_VERDICTS = {
    "true_positive": "True positive",
    "suspicious": "Suspicious",
    "false_positive": "False positive",
    "undefined": "Undefined",
}
MITIGATION_STATUSES = {
    "not_mitigated": "Not mitigated",
    "mitigated": "Mitigated",
    "marked_as_benign": "Marked as benign",
    "pending": "Pending",
    "blocked": "Blocked",
}
CONFIDENCE_LEVELS = ("malicious", "suspicious", "n/a")

_ACCOUNTS = (("Acme Corp", ("Paris HQ", "Lyon DC")), ("Globex", ("Cloud Fleet",)))
_GROUPS = ("Default Group", "Servers", "Workstations")
_OSES = {
    "windows": (
        ("Windows 10 Pro", "19045"), ("Windows 11 Enterprise", "22631"), ("Windows Server 2022", "20348"),
    ),
    "linux": (("Ubuntu 22.04.3 LTS", "5.15.0-91-generic"), ("Red Hat Enterprise Linux 8.9", "4.18.0-513")),
    "macos": (("macOS Sonoma", "14.2.1"),),
}
_USERS = ("jdoe", "asmith", "mbernard", "lmartin", "svc_backup", "root", "admin")
_ENGINES = {
    "reputation": "Reputation",
    "pre_execution": "On-Write Static AI",
    "executables": "Behavioral AI - Executables",
    "data_files": "Documents, Scripts",
    "exploits": "Anti Exploitation / Fileless",
    "sentinelone_cloud": "SentinelOne Cloud",
    "manual": "Manual",
}
_INITIATORS = (
    ("agent_policy", "Agent Policy"),
    ("star_active", "Custom Rule"),
    ("full_disk_scan", "Full Disk Scan"),
    ("console_api", "Console API"),
)
# (threat name, classification, file extension or "" when fileless, extension type)
_SAMPLES = (
    ("invoice_2024.exe", "Trojan", "exe", "Executable"),
    ("mimikatz.exe", "Hacktool", "exe", "Executable"),
    ("svch0st.exe", "Malware", "exe", "Executable"),
    ("LaZagne.exe", "Infostealer", "exe", "Executable"),
    ("WannaCry.exe", "Ransomware", "exe", "Executable"),
    ("keylogger.dll", "Infostealer", "dll", "Executable"),
    ("update.ps1", "Malware", "ps1", "Script"),
    ("Q3_report.docm", "Ransomware", "docm", "Document"),
    ("setup_crack.exe", "PUA", "exe", "Executable"),
    ("xmrig", "Miner", "elf", "Executable"),
    ("payload.elf", "Exploit", "elf", "Executable"),
    ("cmd.exe (interactive session)", "Manual", "", "None"),
    ("powershell.exe (interactive session)", "Manual", "", "None"),
)
_CATEGORIES = {
    "Execution": "General", "Persistence": "Persistence", "Privilege Escalation": "Exploitation",
    "Defense Evasion": "Evasion", "Credential Access": "InfoStealer", "Discovery": "Reconnaissance",
    "Lateral Movement": "Post Exploitation", "Command and Control": "Network", "Impact": "Ransomware",
}
_NULL_CONTAINER = {"id": None, "image": None, "isContainerQuarantine": None, "labels": None, "name": None}
_NULL_KUBERNETES = {
    "cluster": None, "controllerKind": None, "controllerLabels": None, "controllerName": None,
    "isContainerQuarantine": None, "namespace": None, "namespaceLabels": None, "node": None, "pod": None,
    "podLabels": None,
}


class SeededThreats:
    """``size`` threats drawn from ``seed``, each built on demand from (seed, index): same seed, same bytes.

    Only what ordering and the agents' counters need is drawn up front, from the first draws of each
    threat's own generator (creation time, agent, incident status); the rest of a threat is drawn
    when it is asked for, so start-up and memory grow with a few dozen bytes per threat, not 10 KB.
    Agents (one for about six threats) are built on demand too, and kept in a bounded cache.
    """

    def __init__(self, seed: int, size: int) -> None:
        self.seed, self.size = seed, size
        self._agent_count = max(3, size // 6)
        # A bijection of the index onto 18-digit numbers: unique ids with no set to check against.
        self._id_offset = rng_for(seed, "sentinelone-ids").randrange(_ID_SPAN)
        self.ids = [str(10**17 + (self._id_offset + index * _ID_STRIDE) % _ID_SPAN) for index in range(size)]
        self.created_at: list[str] = []
        active = [0] * self._agent_count
        for index in range(size):
            created, agent, _verdict, status = self._first_draws(self._rng(index))
            self.created_at.append(iso_z(created))
            if status != "resolved":
                active[agent] += 1
        self._active = active
        self.agent = lru_cache(maxsize=4096)(self._build_agent)

    def __len__(self) -> int:
        return self.size

    def _rng(self, index: int) -> random.Random:
        return random.Random(f"{self.seed}:sentinelone:{index}")

    def _first_draws(self, rng: random.Random) -> tuple[datetime, int, str, str]:
        """(createdAt, agent index, analystVerdict, incidentStatus): the draws every threat starts with."""
        created = fake_datetime(rng)
        agent = rng.randrange(self._agent_count)
        verdict = rng.choices(tuple(ANALYST_VERDICTS), weights=(25, 10, 15, 50))[0]
        status = "resolved" if verdict == "false_positive" and rng.random() < 0.8 else rng.choices(
            tuple(INCIDENT_STATUSES), weights=(45, 15, 40))[0]
        return created, agent, verdict, status

    def _build_agent(self, index: int) -> dict[str, Any]:
        agent = _agent(random.Random(f"{self.seed}:sentinelone-agent:{index}"))
        if self._active[index]:
            agent["realtime"]["activeThreats"] = self._active[index]
            agent["realtime"]["agentInfected"] = True
        return agent

    def threat(self, index: int) -> Threat:
        """A fresh copy of the threat at ``index`` as seeded (agent parts are shared and must not change)."""
        rng = self._rng(index)
        created, agent, verdict, status = self._first_draws(rng)
        return _threat(rng, self.ids[index], self.agent(agent), created, verdict, status)


_ID_SPAN = 9 * 10**17
_ID_STRIDE = 600_000_000_000_000_007
"""Coprime with _ID_SPAN (whose only prime factors are 2, 3 and 5), so index -> id never repeats."""


def _agent(rng: random.Random) -> dict[str, Any]:
    account_index = rng.randrange(len(_ACCOUNTS))
    account_name, sites = _ACCOUNTS[account_index]
    site_index = rng.randrange(len(sites))
    os_type = rng.choices(("windows", "linux", "macos"), weights=(6, 3, 1))[0]
    os_name, os_revision = rng.choice(_OSES[os_type])
    kubernetes = os_type == "linux" and rng.random() < 0.4
    machine = "kubernetes node" if kubernetes else ("server" if "Server" in os_name or os_type == "linux" else
                                                   rng.choice(("desktop", "laptop")))
    ipv4, ipv6 = fake_ipv4(rng), fake_ipv6(rng)
    hostname = fake_hostname(rng) if os_type == "windows" else fake_hostname(rng).lower()
    user = rng.choice(_USERS)
    common = {
        "accountId": str(225494730938493800 + account_index),
        "accountName": account_name,
        "agentDomain": rng.choice(("WORKGROUP", "CORP", "acme.local")),
        "agentMitigationMode": rng.choice(("protect", "protect", "detect")),
        "agentOsName": os_name,
        "agentOsRevision": os_revision,
        "agentUuid": fake_hex(rng, 32),
        "agentVersion": ".".join(str(part) for part in (rng.choice((22, 23, 24)), *rng.choices(range(9), k=2),
                                                          rng.randrange(400))),
        "groupId": str(10**18 + account_index * 100 + site_index * 10 + rng.randrange(len(_GROUPS))),
        "siteId": str(900000000000000000 + account_index * 10 + site_index),
        "siteName": sites[site_index],
    }
    common["groupName"] = _GROUPS[int(common["groupId"]) % 10]
    registered = fake_datetime(rng, ANCHOR - timedelta(days=1200), ANCHOR - timedelta(days=740))
    detection: dict[str, Any] = {
        **common,
        "agentDetectionState": rng.choice(("full_mode", "full_mode", "slim_mode")),
        "agentIpV4": ipv4,
        "agentIpV6": ipv6,
        "agentLastLoggedInUpn": None,
        "agentLastLoggedInUserMail": rng.choice((None, f"{user}@acme.example")),
        "agentLastLoggedInUserName": user,
        "agentRegisteredAt": iso_z(registered),
        "cloudProviders": {},
        "externalIp": fake_ipv4(rng),
    }
    scan_start = fake_datetime(rng, ANCHOR - timedelta(days=30), ANCHOR - timedelta(days=1))
    realtime = {
        **common,
        "activeThreats": 0,
        "agentComputerName": hostname,
        "agentDecommissionedAt": None,
        "agentId": fake_numeric_id(rng),
        "agentInfected": False,
        "agentIsActive": rng.random() < 0.85,
        "agentIsDecommissioned": False,
        "agentMachineType": machine,
        "agentNetworkStatus": rng.choice(("connected", "connected", "disconnected", "connecting")),
        "agentOsType": os_type,
        "networkInterfaces": [{
            "id": fake_numeric_id(rng),
            "inet": [ipv4],
            "inet6": [ipv6],
            "name": "Ethernet0" if os_type == "windows" else "eth0",
            "physical": ":".join(fake_hex(rng, 2) for _ in range(6)),
        }],
        "operationalState": "na",
        "rebootRequired": rng.random() < 0.1,
        "scanAbortedAt": None,
        "scanFinishedAt": iso_z(scan_start + timedelta(minutes=rng.randrange(5, 240))),
        "scanStartedAt": iso_z(scan_start),
        "scanStatus": "finished",
        "storageName": None,
        "storageType": None,
        "userActionsNeeded": rng.choice(([], [], ["reboot_needed"])),
    }
    return {"detection": detection, "realtime": realtime, "user": user, "kubernetes": kubernetes}


def _threat(
    rng: random.Random, threat_id: str, agent: dict[str, Any], created: datetime, verdict: str, status: str
) -> Threat:
    later = min(ANCHOR, created + timedelta(seconds=rng.randrange(60, 20 * 86400)))
    updated = created if rng.random() < 0.3 else later
    name, classification, extension, extension_type = rng.choice(_SAMPLES)
    fileless = extension == ""
    realtime, kubernetes = agent["realtime"], agent["kubernetes"]
    mitigation = "marked_as_benign" if verdict == "false_positive" and rng.random() < 0.5 else rng.choices(
        tuple(MITIGATION_STATUSES), weights=(30, 60, 0, 5, 5))[0]
    engines = rng.sample(sorted(_ENGINES), k=rng.randrange(1, 3)) if not fileless else ["manual"]
    initiated_by, initiated_description = rng.choice(_INITIATORS)
    ticket = rng.random() < 0.15
    return {
        "agentDetectionInfo": agent["detection"],
        "agentRealtimeInfo": realtime,
        "containerInfo": _container(rng) if kubernetes else _NULL_CONTAINER,
        "id": threat_id,
        "indicators": [_indicator(rng) for _ in range(rng.randrange(0, 4))],
        "kubernetesInfo": _kubernetes(rng, realtime["agentComputerName"]) if kubernetes else _NULL_KUBERNETES,
        "mitigationStatus": _mitigation_history(rng, mitigation, fileless, created),
        "threatInfo": {
            "analystVerdict": verdict,
            "analystVerdictDescription": ANALYST_VERDICTS[verdict],
            "automaticallyResolved": status == "resolved" and rng.random() < 0.2,
            "browserType": None,
            "certificateId": "",
            "classification": classification,
            "classificationSource": rng.choice(("Static", "Engine", "Cloud")),
            "cloudFilesHashVerdict": None if fileless else rng.choice((None, "black", "provider_unknown")),
            "collectionId": fake_numeric_id(rng),
            "confidenceLevel": rng.choices(CONFIDENCE_LEVELS, weights=(60, 35, 5))[0],
            "createdAt": iso_z(created),
            "detectionEngines": [{"key": key, "title": _ENGINES[key]} for key in engines],
            "detectionType": "dynamic" if fileless else rng.choice(("static", "dynamic")),
            "engines": [_ENGINES[key] for key in engines],
            "externalTicketExists": ticket,
            "externalTicketId": f"INC{rng.randrange(10000, 99999)}" if ticket else None,
            "failedActions": rng.random() < 0.05,
            "fileExtension": extension,
            "fileExtensionType": extension_type,
            "filePath": "" if fileless else _file_path(rng, realtime["agentOsType"], agent["user"], name),
            "fileSize": 0 if fileless else rng.randrange(2_000, 9_000_000),
            "fileVerificationType": rng.choice(("NotSigned", "NotSigned", "SignedVerified")),
            "identifiedAt": iso_z(created - timedelta(microseconds=rng.randrange(0, 5_000_000))),
            "incidentStatus": status,
            "incidentStatusDescription": INCIDENT_STATUSES[status],
            "initiatedBy": initiated_by,
            "initiatedByDescription": initiated_description,
            "initiatingUserId": None,
            "initiatingUsername": None,
            "isFileless": fileless,
            "isValidCertificate": False,
            "maliciousProcessArguments": f"-enc {fake_hex(rng, 24)}" if name.endswith(".ps1") else "",
            "md5": None if fileless or rng.random() < 0.5 else fake_hex(rng, 32),
            "mitigatedPreemptively": rng.random() < 0.1,
            "mitigationStatus": mitigation,
            "mitigationStatusDescription": MITIGATION_STATUSES[mitigation],
            "originatorProcess": rng.choice((None, "explorer.exe", "outlook.exe", "bash", "winword.exe")),
            "pendingActions": mitigation == "pending",
            "processUser": f"{realtime['agentComputerName']}\\{agent['user']}",
            "publisherName": "",
            "reachedEventsLimit": False,
            "rebootRequired": False,
            "sha1": "" if fileless else fake_hex(rng, 40),
            "sha256": None if fileless or rng.random() < 0.3 else fake_hex(rng, 64),
            "storyline": fake_hex(rng, 16).upper(),
            "threatId": threat_id,
            "threatName": name,
            "updatedAt": iso_z(updated),
        },
        "whiteningOptions": [] if fileless else ["hash", "path"],
    }


def _file_path(rng: random.Random, os_type: str, user: str, name: str) -> str:
    if os_type == "windows":
        folder = rng.choice(("Downloads", "AppData\\Local\\Temp", "Desktop"))
        return f"\\Device\\HarddiskVolume3\\Users\\{user}\\{folder}\\{name}"
    if os_type == "macos":
        return f"/Users/{user}/Downloads/{name}"
    return rng.choice((f"/tmp/{name}", f"/home/{user}/.cache/{name}", f"/var/lib/docker/overlay2/{name}"))


def _indicator(rng: random.Random) -> dict[str, Any]:
    tactic, technique, title = rng.choice(MITRE_TECHNIQUES)
    return {
        "category": _CATEGORIES[tactic],
        "description": f"{title} behaviour was observed",
        "ids": [rng.randrange(1, 400)],
        "tactics": [{
            "name": tactic,
            "source": "MITRE",
            "techniques": [{"link": f"https://attack.mitre.org/techniques/{technique}/", "name": technique}],
        }],
    }


def mitigation_entry(action: str, started: datetime, succeeded: int = 1) -> dict[str, Any]:
    """One ``mitigationStatus[]`` entry for ``action`` run at ``started`` on ``succeeded`` processes."""
    return {
        "action": action,
        "actionsCounters": {
            "failed": 0, "notFound": 0, "pendingReboot": 0, "success": succeeded, "total": succeeded,
        },
        "agentSupportsReport": True,
        "groupNotFound": False,
        "lastUpdate": iso_z(started + timedelta(milliseconds=900)),
        "latestReport": "",
        "mitigationEndedAt": iso_z(started + timedelta(milliseconds=400)),
        "mitigationStartedAt": iso_z(started),
        "status": "success",
    }


def _mitigation_history(rng: random.Random, mitigation: str, fileless: bool, created: datetime) -> list[Any]:
    if mitigation != "mitigated":
        return []
    started = created + timedelta(milliseconds=rng.randrange(100, 5000))
    history = [mitigation_entry("kill", started, rng.randrange(1, 5))]
    if not fileless:
        history.append(mitigation_entry("quarantine", started + timedelta(milliseconds=600)))
    return history


def _container(rng: random.Random) -> dict[str, Any]:
    app = rng.choice(("web", "api", "worker", "cron"))
    return {
        "id": fake_hex(rng, 64),
        "image": rng.choice(("nginx:1.25", "python:3.11-slim", "node:20-alpine", "redis:7")),
        "isContainerQuarantine": False,
        "labels": [f"app:{app}", f"io.kubernetes.pod.uid:{fake_uuid(rng)}"],
        "name": f"{app}-{fake_hex(rng, 5)}",
    }


def _kubernetes(rng: random.Random, node: str) -> dict[str, Any]:
    app = rng.choice(("web", "api", "worker", "cron"))
    namespace = rng.choice(("prod", "staging", "payments"))
    return {
        "cluster": rng.choice(("prod-eu-1", "prod-us-2", "staging")),
        "controllerKind": rng.choice(("Deployment", "StatefulSet", "DaemonSet")),
        "controllerLabels": [f"app:{app}"],
        "controllerName": f"{app}-{namespace}",
        "isContainerQuarantine": False,
        "namespace": namespace,
        "namespaceLabels": [f"team:{rng.choice(('core', 'sre', 'data'))}"],
        "node": node,
        "pod": f"{app}-{fake_hex(rng, 10)}-{fake_hex(rng, 5)}",
        "podLabels": [f"app:{app}", f"pod-template-hash:{fake_hex(rng, 10)}"],
    }
