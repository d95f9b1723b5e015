"""The common shapes as plain dicts: what every mapper returns, built without a model per record.

Mapping is the hot path of every read: a model per record and per nested part, dumped again,
cost more than the download itself (see BENCHMARKS.md). The builders here lay a record out
exactly as ``Model(...).model_dump(mode="json")`` would (every field, in the model's order,
defaults included), from values the mappers have already cleaned with :mod:`connector.hygiene`.
The models in :mod:`connector.threat` stay the one source of the field list and of the JSON
Schemas; the layouts are read from those generated schemas, and tests prove that every record a
mapper builds validates against them and that each layout is its model's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from connector import hygiene
from connector.catalog import schemas_dir
from connector.enums import ConfidenceId, Kind, SeverityId, StatusId
from connector.errors import BadVendorAnswer


@dataclass(frozen=True)
class Layout:
    """A model's fields in its order with their defaults, and those whose default comes from a factory."""

    name: str
    template: dict[str, Any]
    factories: tuple[tuple[str, Callable[[], Any]], ...]


def layout(name: str, schema: dict[str, Any]) -> Layout:
    """The layout of the object ``schema`` describes (a generated schema, or one of its ``$defs``).

    The generated schema files keep the model's field order; a field without a default is null in
    the template when it is required, and a fresh empty list (or object) per record otherwise: that
    is how the model writes a ``default_factory`` field.
    """
    required = set(schema.get("required", ()))
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for field, rule in schema["properties"].items():
        template[field] = rule.get("default")
        if "default" not in rule and field not in required:
            factories.append((field, list if rule.get("type") == "array" else dict))
    return Layout(name, template, tuple(factories))


def _layouts(file: str) -> dict[str, Layout]:
    # Read once at import, from the schemas generated from connector.threat's models: building those
    # models here would cost every run pydantic's start-up (see BENCHMARKS.md).
    document = orjson.loads((schemas_dir() / file).read_bytes())
    found = {document["title"]: layout(document["title"], document)}
    for name, schema in document.get("$defs", {}).items():
        if "properties" in schema:
            found[name] = layout(name, schema)
    return found


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


LAYOUTS = {**_layouts("threat.json"), **_layouts("event.json")}
"""Each model of :mod:`connector.threat` by name -> its layout."""
_THREAT, _EVENT = LAYOUTS["Threat"], LAYOUTS["Event"]
_RESOURCE, _OBSERVABLE, _VULNERABILITY = LAYOUTS["Resource"], LAYOUTS["Observable"], LAYOUTS["Vulnerability"]
_ATTACK, _DNS_RECORD, _INDICATOR = LAYOUTS["Attack"], LAYOUTS["DnsRecord"], LAYOUTS["Indicator"]
_CHANGE, _CONTAINER, _CLOUD = LAYOUTS["Change"], LAYOUTS["Container"], LAYOUTS["Cloud"]
_FILE, _PROCESS = LAYOUTS["File"], LAYOUTS["Process"]
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
