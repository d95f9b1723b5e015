"""Messy data: a seeded share of each vendor's records served with real-world damage.

Real answers are messier than the vendors' documentation, and so must the sandbox be when asked
(``connector sandbox --messy RATE``, ``SandboxConfig(messy=RATE)``). :class:`MessyRecords` sits in
front of one vendor's simulator and rewrites the records of its read answers as they are served,
so the simulators' stores stay clean and every filter still works on the clean values.

Which record is damaged, and how, follows from the seed and the record's id alone: a record is
served the same way on every page and every read. The kinds of damage, from data seen in the
wild: nulls spelled as text, joined lists, invalid and special addresses, hashes that are words,
scalars where objects are documented, missing newer keys, empty and very long strings,
non-ASCII text, masked ids, other time formats, and SentinelOne's older flat v2.0 shape.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Record = dict[str, Any]
Mutator = Callable[[Record, random.Random], Record]

NULL_SPELLINGS = ("None", "null", "N/A", "-", "", "NULL")
LONG_TEXT = "Lorem ipsum dolor sit amet " * 800
NON_ASCII = ("Ünïcødé façade", "угроза", "威胁检测", "تهديد", "🛡️ alert")
BAD_ADDRESSES = ("999.1.2.3", "10.0.0", "not-an-ip", "127.0.0.1", "0.0.0.0", "169.254.10.20", "::1")


def _null(rng: random.Random) -> str:
    return rng.choice(NULL_SPELLINGS)


def _part(record: Record, key: str) -> Record:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


# SentinelOne ------------------------------------------------------------------------------------

S1_FLAT: dict[str, tuple[str, str]] = {
    "threatName": ("threatInfo", "threatName"),
    "classification": ("threatInfo", "classification"),
    "classificationSource": ("threatInfo", "classificationSource"),
    "fileContentHash": ("threatInfo", "sha1"),
    "filePath": ("threatInfo", "filePath"),
    "createdAt": ("threatInfo", "createdAt"),
    "updatedAt": ("threatInfo", "updatedAt"),
    "mitigationStatus": ("threatInfo", "mitigationStatus"),
    "username": ("threatInfo", "processUser"),
    "engines": ("threatInfo", "engines"),
    "agentComputerName": ("agentRealtimeInfo", "agentComputerName"),
    "agentId": ("agentRealtimeInfo", "agentId"),
    "agentOsType": ("agentRealtimeInfo", "agentOsType"),
    "agentVersion": ("agentRealtimeInfo", "agentVersion"),
    "agentMachineType": ("agentRealtimeInfo", "agentMachineType"),
    "agentIp": ("agentDetectionInfo", "agentIpV4"),
}
"""The older flat v2.0 field -> where the v2.1 record keeps it."""


def s1_flat(record: Record, rng: random.Random) -> Record:
    """The record in the older flat v2.0 shape (no threatInfo, agentRealtimeInfo...)."""
    flat: Record = {"id": record.get("id"), "indicators": record.get("indicators")}
    for name, (part, key) in S1_FLAT.items():
        flat[name] = _part(record, part).get(key)
    info = _part(record, "threatInfo")
    flat["resolved"] = info.get("incidentStatus") == "resolved"
    flat["markedAsBenign"] = info.get("analystVerdict") == "false_positive"
    flat["rank"] = rng.randint(0, 10)
    return flat


def s1_addresses(record: Record, rng: random.Random) -> Record:
    """Addresses joined into one string, invalid ones, loopback and link-local ones."""
    agent = record.setdefault("agentRealtimeInfo", {})
    interfaces = agent.get("networkInterfaces") or [{}]
    if isinstance(interfaces, list) and interfaces and isinstance(interfaces[0], dict):
        first = interfaces[0]
        first["inet"] = ", ".join([*(first.get("inet") or []), rng.choice(BAD_ADDRESSES)])
    detection = record.setdefault("agentDetectionInfo", {})
    if isinstance(detection, dict):
        detection["agentIpV4"] = rng.choice(BAD_ADDRESSES)
        detection["externalIp"] = "203.0.113.7,198.51.100.9"
    return record


def s1_words(record: Record, rng: random.Random) -> Record:
    """Nulls written as text in the threat's fields, a hash that is a word, an id only in threatId."""
    info = record.setdefault("threatInfo", {})
    for key in ("sha256", "sha1", "md5", "classification", "filePath", "storyline"):
        info[key] = _null(rng)
    info["sha1"] = "unknown"
    info["createdAt"] = rng.choice(("2024-05-01 10:00:00", 1714557600000, "2024-05-01T12:00:00+02:00"))
    return record


def s1_scalars(record: Record, rng: random.Random) -> Record:
    """Scalars and integer lists where the docs show objects."""
    record["indicators"] = [1, 2, 3]
    record["containerInfo"] = "n/a"
    record["kubernetesInfo"] = None
    agent = record.get("agentRealtimeInfo")
    if isinstance(agent, dict):
        agent["networkInterfaces"] = [7, {"inet": "10.1.2.3"}]
    return record


def s1_missing(record: Record, rng: random.Random) -> Record:
    """Newer keys missing (as older agents and consoles answer), a very long name, non-ASCII text."""
    for key in ("agentDetectionInfo", "containerInfo", "kubernetesInfo", "indicators"):
        record.pop(key, None)
    info = record.get("threatInfo")
    if isinstance(info, dict):
        for key in ("detectionEngines", "storyline", "classificationSource", "detectionType", "fileSize"):
            info.pop(key, None)
        info["threatName"] = rng.choice((LONG_TEXT, *NON_ASCII))
    agent = record.get("agentRealtimeInfo")
    if isinstance(agent, dict):
        agent["agentComputerName"] = rng.choice(NON_ASCII)
    return record


def s1_masked(record: Record, rng: random.Random) -> Record:
    """The id masked by a tool in between (threatInfo.threatId still holds it)."""
    record["id"] = "*" * 18
    return record


# MySecutec -------------------------------------------------------------------------------------


def ms_values(record: Record, rng: random.Random) -> Record:
    """Numbers as strings, out-of-range scores, nulls as text, epoch timestamps."""
    record["cvss_score"] = rng.choice(("7.5", "11", "high", None))
    record["severity"] = _null(rng)
    record["created_at"] = rng.choice((1714557600, 1714557600123, "2024-05-01 10:00:00"))
    record["updated_at"] = "2024-05-01t10:00:00.5z"
    record["description"] = LONG_TEXT
    return record


def ms_asset(record: Record, rng: random.Random) -> Record:
    """An asset as a bare string, or joined addresses, or an e-mail that is none."""
    choice = rng.randrange(3)
    if choice == 0:
        record["asset"] = "srv-01"
    elif choice == 1:
        record["asset"] = {"id": "a-1", "name": "10.0.0.1, 192.0.2.44 ;127.0.0.1", "type": "ip"}
    else:
        record["asset"] = {"id": _null(rng), "name": "redacted", "type": "email"}
    record["tech_solution"] = [1]
    record["data"] = "none"
    return record


def ms_missing(record: Record, rng: random.Random) -> Record:
    """Newer keys missing, non-ASCII names, or the id masked (refused: nothing else identifies it)."""
    for key in ("system_status", "user_status", "first_seen_at", "cvss_vector", "tech_solution"):
        record.pop(key, None)
    record["name"] = rng.choice(NON_ASCII)
    if rng.random() < 0.2:
        record["id"] = "<redacted>"
    return record


# Nameshield ------------------------------------------------------------------------------------


def ns_observed(record: Record, rng: random.Random) -> Record:
    """DNS records as integers and text, addresses that are none, a redacted e-mail, a bad URL."""
    observed = record.get("observed_data")
    observed = observed if isinstance(observed, dict) else {}
    observed["dns_records"] = [3, {"type": "A", "name": "ns1", "ip": rng.choice(BAD_ADDRESSES)}, "A 1.2.3.4"]
    observed["whois"] = {"owner_email": rng.choice(("REDACTED FOR PRIVACY", "N/A", "abuse@")), "registrar": None}
    observed["website"] = {"final_url": "not a url", "origin_url": _null(rng)}
    record["observed_data"] = observed
    return record


def ns_shapes(record: Record, rng: random.Random) -> Record:
    """Scalars for objects, the vendor's own time format, an upper-case internationalised domain."""
    record["criticality"] = rng.choice(("HIGH", None, {"level": "None"}))
    record["brand"] = rng.choice(("Acme", {"id": None, "name": rng.choice(NON_ASCII)}))
    date = str(record.get("date") or "2024-05-01T10:00:00Z")
    record["date"] = date.replace("T", " ")[:19]
    domain = str(record.get("domain") or "example.com")
    record["domain"] = rng.choice((domain.upper(), "bücher-" + domain))
    record["comments"] = "see ticket"
    return record


# CISO Assistant --------------------------------------------------------------------------------


def ca_values(record: Record, rng: random.Random) -> Record:
    """Nulls as text, relations as bare strings or integers, another time format, a long text."""
    record["severity"] = _null(rng)
    record["status"] = rng.choice(("None", 2, {"str": "New"}))
    record["assets"] = [rng.choice(("5d1a1c0e-0000-4000-8000-000000000001", 17)), None]
    record["owners"] = "nobody"
    record["link"] = rng.choice(("N/A", "ticket 42", "https://tickets.example/42"))
    record["reported_at"] = "2024-05-01 10:00:00"
    record["description"] = LONG_TEXT
    return record


def ca_missing(record: Record, rng: random.Random) -> Record:
    """Newer keys missing, empty strings and non-ASCII names."""
    for key in ("created_at", "updated_at", "owners", "ref_id"):
        record.pop(key, None)
    record["name"] = rng.choice(("", *NON_ASCII))
    return record


MUTATORS: dict[str, tuple[Mutator, ...]] = {
    "sentinelone": (s1_flat, s1_addresses, s1_words, s1_scalars, s1_missing, s1_masked),
    "mysecutec": (ms_values, ms_asset, ms_missing),
    "nameshield": (ns_observed, ns_shapes),
    "ciso_assistant": (ca_values, ca_missing),
}
"""Each vendor's kinds of damage; a messy record gets one of them."""

ROUTES: dict[str, tuple[tuple[str, re.Pattern[str], tuple[str, ...] | None], ...]] = {
    "sentinelone": (("GET", re.compile(r"/threats$"), ("data",)),),
    "mysecutec": (
        ("GET", re.compile(r"/tam/v1/threats/?$"), ("threats",)),
        ("GET", re.compile(r"/tam/v1/threats/[0-9a-fA-F-]{36}$"), None),
    ),
    "nameshield": (
        ("GET", re.compile(r"/cti/v2/events$"), ("data",)),
        ("GET", re.compile(r"/cti/v2/events/[^/]+$"), None),
        ("POST", re.compile(r"/cti/v1/events/search$"), ("data", "results")),
    ),
    "ciso_assistant": (
        ("GET", re.compile(r"/api/incidents/$"), ("results",)),
        ("GET", re.compile(r"/api/incidents/[0-9a-fA-F-]{36}/$"), None),
    ),
}
"""(method, path, where the records are in the answer; None: the answer is one record) per vendor."""


def mess_up(vendor: str, record: Any, rate: float, seed: int) -> Any:
    """``record`` as the messy sandbox serves it: damaged by one of the vendor's mutators with
    probability ``rate``, decided by the seed and the record's id (the same every time)."""
    if not isinstance(record, dict) or rate <= 0:
        return record
    rng = random.Random(f"{seed}:{vendor}:{record.get('id')}")
    if rng.random() >= rate:
        return record
    return rng.choice(MUTATORS[vendor])(copy.deepcopy(record), rng)


class MessyRecords:
    """ASGI middleware in front of one vendor's simulator that serves its records messy."""

    def __init__(self, app: ASGIApp, vendor: str, rate: float, seed: int) -> None:
        if not 0 <= rate <= 1:
            raise ValueError("sandbox: messy must be a share between 0 and 1")
        self.app, self.vendor, self.rate, self.seed = app, vendor, rate, seed

    def _route(self, scope: Scope) -> tuple[bool, tuple[str, ...] | None]:
        """Whether the request reads records, and where they are in its answer."""
        if scope["type"] == "http":
            for method, path, where in ROUTES[self.vendor]:
                if scope["method"] == method and path.search(scope["path"]):
                    return True, where
        return False, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reads, where = self._route(scope)
        if not reads:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                await self._send(start, b"".join(chunks), where, send)

        await self.app(scope, receive, capture)

    async def _send(self, start: Message, body: bytes, where: tuple[str, ...] | None, send: Send) -> None:
        if start.get("status") == 200:
            body = self._messy_body(body, where)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _messy_body(self, body: bytes, where: tuple[str, ...] | None) -> bytes:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body  # not JSON: left as it is
        if where is None:
            return orjson.dumps(mess_up(self.vendor, document, self.rate, self.seed))
        container = document
        for key in where[:-1]:
            container = container.get(key) if isinstance(container, dict) else None
        if isinstance(container, dict) and isinstance(container.get(where[-1]), list):
            records = container[where[-1]]
            container[where[-1]] = [mess_up(self.vendor, item, self.rate, self.seed) for item in records]
        return orjson.dumps(document)
