"""The common shapes as plain dicts: what every mapper returns, built without a model per record.

Mapping is the hot path of every read: a model per record and per nested part, dumped again,
cost more than the download itself (see BENCHMARKS.md). The builders here lay a record out
exactly as ``Model(...).model_dump(mode="json")`` would (every field, in the model's order,
defaults included), from values the mappers have already cleaned with :mod:`connector.hygiene`.
The models in :mod:`connector.threat` stay the one source of the field list and of the JSON
Schemas, and tests prove that every record a mapper builds validates against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from connector.threat import (
    Attack,
    Change,
    Cloud,
    ConfidenceId,
    Container,
    DnsRecord,
    Event,
    File,
    Indicator,
    Kind,
    Observable,
    Process,
    Resource,
    SeverityId,
    StatusId,
    Threat,
    Vulnerability,
)

Layout = tuple[tuple[str, Any, Callable[[], Any] | None], ...]
"""(field, default, default factory) of each field of a model, in the model's order."""


def _layout(model: type[BaseModel]) -> Layout:
    return tuple(
        (name, info.default if info.default_factory is None else None, info.default_factory)  # type: ignore[misc]
        for name, info in model.model_fields.items()
    )


def _build(layout: Layout, values: dict[str, Any], what: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    used = 0
    for name, default, factory in layout:
        if name in values:
            record[name] = values[name]
            used += 1
        else:
            # A fresh list per record: defaults must never be shared between records.
            record[name] = factory() if factory is not None else default
    if used != len(values):
        unknown = sorted(set(values) - set(record))
        raise TypeError(f"{what}: no field(s) {', '.join(unknown)}")
    return record


_THREAT, _EVENT = _layout(Threat), _layout(Event)
_RESOURCE, _OBSERVABLE, _VULNERABILITY = _layout(Resource), _layout(Observable), _layout(Vulnerability)
_ATTACK, _DNS_RECORD, _INDICATOR = _layout(Attack), _layout(DnsRecord), _layout(Indicator)
_CHANGE, _CONTAINER, _CLOUD = _layout(Change), _layout(Container), _layout(Cloud)
_FILE, _PROCESS = _layout(File), _layout(Process)
_SEVERITY_NAMES = {int(member): member.name for member in SeverityId}
_STATUS_NAMES = {int(member): member.name for member in StatusId}


def threat(**values: Any) -> dict[str, Any]:
    """A Threat record; ``severity`` and ``status`` follow from the ids, enums become plain values."""
    severity_id, status_id = int(values["severity_id"]), int(values["status_id"])
    values["severity_id"], values["status_id"] = severity_id, status_id
    values.setdefault("severity", _SEVERITY_NAMES[severity_id])
    values.setdefault("status", _STATUS_NAMES[status_id])
    values["kind"] = Kind(values["kind"]).value
    values["confidence_id"] = int(values.get("confidence_id", ConfidenceId.unknown))
    return _build(_THREAT, values, "Threat")


def event(**values: Any) -> dict[str, Any]:
    """An Event record (``threat``, when given, is a :func:`threat` record)."""
    return _build(_EVENT, values, "Event")


def resource(**values: Any) -> dict[str, Any]:
    """A Resource part."""
    return _build(_RESOURCE, values, "Resource")


def observable(type: str, value: str, name: str | None = None) -> dict[str, Any]:
    """An Observable part."""
    return {"type": type, "value": value, "name": name}


def vulnerability(**values: Any) -> dict[str, Any]:
    """A Vulnerability part."""
    return _build(_VULNERABILITY, values, "Vulnerability")


def attack(**values: Any) -> dict[str, Any]:
    """An Attack part."""
    return _build(_ATTACK, values, "Attack")


def dns_record(**values: Any) -> dict[str, Any]:
    """A DnsRecord part."""
    return _build(_DNS_RECORD, values, "DnsRecord")


def indicator(**values: Any) -> dict[str, Any]:
    """An Indicator part."""
    return _build(_INDICATOR, values, "Indicator")


def change(**values: Any) -> dict[str, Any]:
    """A Change part."""
    return _build(_CHANGE, values, "Change")


def container(**values: Any) -> dict[str, Any] | None:
    """A Container part, or None when every value is null."""
    return _build(_CONTAINER, values, "Container") if any(v is not None for v in values.values()) else None


def cloud(**values: Any) -> dict[str, Any] | None:
    """A Cloud part, or None when every value is null."""
    return _build(_CLOUD, values, "Cloud") if any(v is not None for v in values.values()) else None


def file(**values: Any) -> dict[str, Any] | None:
    """A File part, or None when every value is null."""
    return _build(_FILE, values, "File") if any(v is not None for v in values.values()) else None


def process(**values: Any) -> dict[str, Any] | None:
    """A Process part, or None when every value is null."""
    return _build(_PROCESS, values, "Process") if any(v is not None for v in values.values()) else None


def unique_observables(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (type, value) once, the first seen kept (an A record often names the domain itself)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in found:
        seen.setdefault((item["type"], item["value"]), item)
    return list(seen.values())
