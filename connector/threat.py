"""The common threat shape every vendor's records are normalised into.

Aligned with OCSF 1.8.0 findings: ``severity_id`` and ``status_id`` use OCSF's ids, ``kind``
names the finding class (detection: Detection Finding 2004, vulnerability: Vulnerability Finding
2002, incident: Incident Finding 2005). The vendor's own labels stay beside the mapped ids
(``vendor_severity``, ``vendor_status``), and ``raw`` can carry the untouched record.

``schemas/threat.json`` is generated from this model (``make schemas``); a test fails when the
two drift.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
    model_validator,
)

from connector.enums import ConfidenceId, Kind, SeverityId, StatusId
from connector.hygiene import SPECIAL_ADDRESS_PATTERN

IP_SCHEMA: dict[str, Any] = {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
IpAddress = Annotated[str, WithJsonSchema(IP_SCHEMA)]
"""An IP address in the canonical form ``ipaddress`` writes (the mappers' hygiene ensures it)."""
URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$"
DOMAIN_PATTERN = r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$"
HASH_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}


def _value_rule(kind: str, rule: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"properties": {"type": {"const": kind}}}, "then": {"properties": {"value": rule}}}


OBSERVABLE_RULES: list[JsonValue] = [
    *(_value_rule(f"file_hash.{name}", {"pattern": f"^[0-9a-f]{{{digits}}}$"}) for name, digits in HASH_DIGITS.items()),
    _value_rule("ip", {**IP_SCHEMA, "not": {"pattern": SPECIAL_ADDRESS_PATTERN}}),
    _value_rule("domain", {"pattern": DOMAIN_PATTERN}),
    _value_rule("email", {"format": "email", "pattern": r"^[^@\s]+@[a-z0-9_-]+(\.[a-z0-9_-]+)+$"}),
    _value_rule("url", {"pattern": URL_PATTERN}),
]
"""What each observable type's value must look like, as JSON Schema conditions on ``value``."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Container(_Part):
    """The container, and the Kubernetes workload, a resource runs in."""

    uid: str | None = None
    name: str | None = None
    image: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    pod: str | None = None
    node: str | None = None


class Cloud(_Part):
    """Where a resource runs in a cloud: provider, account, region and instance."""

    provider: str | None = None
    account_uid: str | None = None
    region: str | None = None
    instance_uid: str | None = None


class Resource(_Part):
    """An asset the threat concerns: an endpoint, a domain, a cloud resource."""

    uid: str | None = None
    name: str | None = None
    type: str | None = None
    hostname: str | None = None
    ip: list[IpAddress] = Field(default_factory=list)
    os: str | None = None
    agent_version: str | None = Field(None, description="Version of the vendor's agent on the endpoint")
    machine_type: str | None = Field(None, description="server, desktop, laptop, kubernetes node...")
    container: Container | None = None
    cloud: Cloud | None = None


class Observable(_Part):
    """A value worth pivoting on: a hash, an IP, a domain, a path, a user.

    Types: ``file_hash.<md5|sha1|sha256|sha512>``, ``ip``, ``domain``, ``hostname``, ``email``,
    ``url``, ``file_path``, ``user``; the schema checks the value of the first six.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": OBSERVABLE_RULES})

    type: str
    value: str
    name: str | None = None


class File(_Part):
    """The file a detection is about."""

    name: str | None = None
    path: str | None = None
    size: int | None = Field(None, ge=0, description="Bytes")


class Process(_Part):
    """The process a detection is about: its command line, its user and the process that started it."""

    command_line: str | None = None
    user: str | None = None
    parent_name: str | None = None


class Vulnerability(_Part):
    """A CVE with its CVSS score and vector."""

    cve: str | None = None
    cvss_score: float | None = Field(None, ge=0, le=10)
    cvss_vector: str | None = None


class Attack(_Part):
    """A MITRE ATT&CK tactic and technique."""

    tactic: str | None = None
    technique_uid: str | None = None
    technique_name: str | None = None


class DnsRecord(_Part):
    """One DNS record observed for a domain."""

    type: str | None = None
    name: str | None = None
    ip: IpAddress | None = None
    country_code: str | None = None


class Indicator(_Part):
    """Evidence about a domain: whois, DNS records and the website seen there."""

    domain: str
    whois: dict[str, Any] | None = None
    dns_records: list[DnsRecord] = Field(default_factory=list)
    website: dict[str, Any] | None = None


class Threat(BaseModel):
    """One threat, vulnerability, detection or incident, whatever vendor it came from."""

    model_config = ConfigDict(extra="forbid", title="Threat")

    uid: str = Field(description="<vendor>:<vendor_id>, unique across vendors")
    vendor: str
    vendor_id: str
    kind: Kind
    title: str
    description: str | None = None
    severity: str = Field("unknown", description="Lower-case name of severity_id (filled from it)")
    severity_id: SeverityId
    status: str = Field("unknown", description="Lower-case name of status_id (filled from it)")
    status_id: StatusId
    confidence_id: ConfidenceId = ConfidenceId.unknown
    verdict: str | None = None
    disposition: str | None = None
    score: float | None = Field(None, ge=0, le=10)
    first_seen: AwareDatetime | None = None
    last_seen: AwareDatetime | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    resources: list[Resource] = Field(default_factory=list)
    observables: list[Observable] = Field(default_factory=list)
    vulnerabilities: list[Vulnerability] = Field(default_factory=list)
    attacks: list[Attack] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    assignee: str | None = None
    url: Annotated[str, Field(pattern=URL_PATTERN)] | None = None
    vendor_severity: str | None = None
    vendor_status: str | None = None
    classification: str | None = Field(None, description="The vendor's class of threat: Trojan, Ransomware, PUA...")
    classification_source: str | None = Field(None, description="What classified it: Static, Cloud, Engine...")
    detection_type: str | None = Field(None, description="static, dynamic... as the vendor says")
    detection_engines: list[str] = Field(default_factory=list, description="The vendor's engines that detected it")
    vendor_threat_id: str | None = Field(
        None, description="The vendor's id of the threat itself, when the record's own id is another"
    )
    correlation_uid: str | None = Field(None, description="Groups related detections (SentinelOne storyline)")
    file: File | None = None
    process: Process | None = None
    raw: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _names_from_ids(cls, data: Any) -> Any:
        """Mappers set the OCSF ids; the lower-case names follow from them."""
        if isinstance(data, dict):
            if "severity" not in data and "severity_id" in data:
                data = {**data, "severity": SeverityId(data["severity_id"]).name}
            if "status" not in data and "status_id" in data:
                data = {**data, "status": StatusId(data["status_id"]).name}
        return data


class Change(_Part):
    """What an event changed: one field, from one value to another."""

    field: str
    old_value: Any = None
    new_value: Any = None


class Event(BaseModel):
    """Something that happened at a vendor at one instant: a domain detected, a status changed.

    Nameshield events carry the detection as a common ``threat``; MySecutec log entries name the
    threat they concern (``threat_uid``) and what changed.
    """

    model_config = ConfigDict(extra="forbid", title="Event")

    uid: str = Field(description="<vendor>:<event id>")
    vendor: str
    vendor_id: str
    type: str = Field(description="The vendor's event type or operation")
    time: AwareDatetime
    summary: str
    actor: str | None = None
    threat_uid: str | None = None
    threat: Threat | None = None
    change: Change | None = None
    raw: dict[str, Any] | None = None


def schema_document(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``model``, as kept in ``schemas/<name>``."""
    schema = model.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
