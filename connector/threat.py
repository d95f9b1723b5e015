"""The common threat shape every vendor's records are normalised into.

Aligned with OCSF 1.8.0 findings: ``severity_id`` and ``status_id`` use OCSF's ids, ``kind``
names the finding class (detection: Detection Finding 2004, vulnerability: Vulnerability Finding
2002, incident: Incident Finding 2005). The vendor's own labels stay beside the mapped ids
(``vendor_severity``, ``vendor_status``), and ``raw`` can carry the untouched record.

``schemas/threat.json`` is generated from this model (``make schemas``); a test fails when the
two drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from connector.errors import BadVendorAnswer


class Kind(StrEnum):
    """Which OCSF finding class a record is."""

    detection = "detection"
    vulnerability = "vulnerability"
    incident = "incident"


class SeverityId(IntEnum):
    """OCSF severity_id."""

    unknown = 0
    informational = 1
    low = 2
    medium = 3
    high = 4
    critical = 5
    fatal = 6
    other = 99


class StatusId(IntEnum):
    """OCSF finding status_id; ``closed`` stands where OCSF says Archived."""

    unknown = 0
    new = 1
    in_progress = 2
    suppressed = 3
    resolved = 4
    closed = 5
    other = 99


class ConfidenceId(IntEnum):
    """OCSF confidence_id."""

    unknown = 0
    low = 1
    medium = 2
    high = 3
    other = 99


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resource(_Part):
    """An asset the threat concerns: an endpoint, a domain, a cloud resource."""

    uid: str | None = None
    name: str | None = None
    type: str | None = None
    hostname: str | None = None
    ip: list[str] = Field(default_factory=list)
    os: str | None = None


class Observable(_Part):
    """A value worth pivoting on: a hash, an IP, a domain, a path, a user."""

    type: str
    value: str
    name: str | None = None


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
    ip: str | None = None
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
    url: str | None = None
    vendor_severity: str | None = None
    vendor_status: str | None = None
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


@contextmanager
def building(what: str) -> Iterator[None]:
    """Build a common record from a vendor's answer: a value the model refuses becomes one line,
    ``<what>: <field>: <rule>``, as a :class:`BadVendorAnswer` (the vendor answered oddly)."""
    try:
        yield
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise BadVendorAnswer(f"{what}: {field}: {error['msg']}") from None


def schema_document(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``model``, as kept in ``schemas/<name>``."""
    schema = model.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
