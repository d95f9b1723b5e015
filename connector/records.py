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
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from connector import hygiene
from connector.errors import BadVendorAnswer
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


@dataclass(frozen=True)
class Layout:
    """A model's fields in its order with their defaults, and those whose default comes from a factory."""

    name: str
    template: dict[str, Any]
    factories: tuple[tuple[str, Callable[[], Any]], ...]


def _layout(model: type[BaseModel]) -> Layout:
    fields = model.model_fields
    return Layout(
        name=model.__name__,
        template={name: None if info.default is PydanticUndefined else info.default for name, info in fields.items()},
        factories=tuple(
            (name, info.default_factory)  # type: ignore[misc]
            for name, info in fields.items()
            if info.default_factory is not None
        ),
    )


def _build(layout: Layout, values: dict[str, Any]) -> dict[str, Any]:
    # Copying the template and updating it keeps the model's key order whatever order values come in.
    record = layout.template.copy()
    record.update(values)
    for name, factory in layout.factories:
        if name not in values:
            record[name] = factory()  # a fresh list per record: defaults are never shared
    if len(record) != len(layout.template):
        unknown = sorted(set(record) - set(layout.template))
        raise TypeError(f"{layout.name}: no field(s) {', '.join(unknown)}")
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
    return _build(_THREAT, values)


def event(**values: Any) -> dict[str, Any]:
    """An Event record (``threat``, when given, is a :func:`threat` record)."""
    return _build(_EVENT, values)


def resource(**values: Any) -> dict[str, Any]:
    """A Resource part."""
    return _build(_RESOURCE, values)


def observable(type: str, value: str, name: str | None = None) -> dict[str, Any]:
    """An Observable part."""
    return {"type": type, "value": value, "name": name}


def vulnerability(**values: Any) -> dict[str, Any]:
    """A Vulnerability part."""
    return _build(_VULNERABILITY, values)


def attack(**values: Any) -> dict[str, Any]:
    """An Attack part."""
    return _build(_ATTACK, values)


def dns_record(**values: Any) -> dict[str, Any]:
    """A DnsRecord part."""
    return _build(_DNS_RECORD, values)


def indicator(**values: Any) -> dict[str, Any]:
    """An Indicator part."""
    return _build(_INDICATOR, values)


def change(**values: Any) -> dict[str, Any]:
    """A Change part."""
    return _build(_CHANGE, values)


def container(**values: Any) -> dict[str, Any] | None:
    """A Container part, or None when every value is null."""
    return _build(_CONTAINER, values) if any(v is not None for v in values.values()) else None


def cloud(**values: Any) -> dict[str, Any] | None:
    """A Cloud part, or None when every value is null."""
    return _build(_CLOUD, values) if any(v is not None for v in values.values()) else None


def file(**values: Any) -> dict[str, Any] | None:
    """A File part, or None when every value is null."""
    return _build(_FILE, values) if any(v is not None for v in values.values()) else None


def process(**values: Any) -> dict[str, Any] | None:
    """A Process part, or None when every value is null."""
    return _build(_PROCESS, values) if any(v is not None for v in values.values()) else None


def unique_observables(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (type, value) once, the first seen kept (an A record often names the domain itself)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in found:
        seen.setdefault((item["type"], item["value"]), item)
    return list(seen.values())


def identified(record: Any, what: str) -> tuple[dict[str, Any], str]:
    """``record`` as an object, and its id cleaned as an identifier; a record that is no object or
    has no usable id is refused in one line, ``<what>: id: missing (keys: ...)``."""
    if not isinstance(record, dict):
        raise BadVendorAnswer(f"{what}: expected an object, got {type(record).__name__}")
    found = hygiene.ident(record.get("id"), "vendor_id")
    if found is None:
        raise BadVendorAnswer(f"{what}: id: missing (keys: {hygiene.keys_of(record)})")
    return record, found
