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

import keyword
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


_KIND_VALUES = {member: member.value for member in Kind}


def threat(values: dict[str, Any]) -> dict[str, Any]:
    """A Threat record of ``values`` (taken over: the caller's dict display, not copied); ``severity``
    and ``status`` follow from the ids, enums become plain values.

    One dict rather than keyword arguments: binding some thirty keywords costs more than the display.
    """
    severity_id, status_id = int(values["severity_id"]), int(values["status_id"])
    values["severity_id"], values["status_id"] = severity_id, status_id
    values.setdefault("severity", _SEVERITY_NAMES[severity_id])
    values.setdefault("status", _STATUS_NAMES[status_id])
    kind = values["kind"]
    # A table rather than Kind(kind): an enum call costs more than the rest of this function.
    values["kind"] = _KIND_VALUES[kind] if kind in _KIND_VALUES else Kind(kind).value
    values["confidence_id"] = int(values.get("confidence_id", ConfidenceId.unknown))
    return _build(_THREAT, values)


def _compiled(layout: Layout, name: str, doc: str, *, none_when_empty: bool = False) -> Callable[..., Any]:
    """A function of keyword arguments that writes ``layout``'s dict out directly, in its order.

    The parts are built several times per record: one dict display costs a third of copying the
    template and updating it. An unknown field is refused as any unknown keyword argument is (a
    TypeError naming the function). With ``none_when_empty``, None when every value is null.
    """
    fields = list(layout.template)
    factories = dict(layout.factories)
    unnamable = [field for field in fields if not field.isidentifier() or keyword.iskeyword(field)]
    if unnamable:  # the models' fields are Python names: only a hand-edited schema could get here
        raise ValueError(f"{layout.name}: field(s) {', '.join(unnamable)} cannot be keyword arguments")
    namespace: dict[str, Any] = {"_unset": _UNSET}
    parameters, items = [], []
    for index, field in enumerate(fields):
        if field in factories:
            namespace[f"_factory{index}"] = factories[field]
            parameters.append(f"{field}=_unset")
            items.append(f"{field!r}: _factory{index}() if {field} is _unset else {field}")
        else:
            namespace[f"_default{index}"] = layout.template[field]
            parameters.append(f"{field}=_default{index}")
            items.append(f"{field!r}: {field}")
    body = f"    return {{{', '.join(items)}}}"
    if none_when_empty:
        body = f"    if {' and '.join(f'{field} is None' for field in fields)}:\n        return None\n{body}"
    # The source holds nothing but the layout's field names, each checked above to be a plain identifier.
    exec(f"def {name}(*, {', '.join(parameters)}):\n{body}\n", namespace)
    built: Callable[..., Any] = namespace[name]
    built.__doc__ = doc.removesuffix(".") + ", or None when every value is null." if none_when_empty else doc
    built.__module__ = __name__
    return built


_UNSET = object()
Builder = Callable[..., dict[str, Any]]
OptionalBuilder = Callable[..., dict[str, Any] | None]
event: Builder = _compiled(_EVENT, "event", "An Event record (``threat``, when given, is a :func:`threat` record).")
resource: Builder = _compiled(_RESOURCE, "resource", "A Resource part.")
vulnerability: Builder = _compiled(_VULNERABILITY, "vulnerability", "A Vulnerability part.")
attack: Builder = _compiled(_ATTACK, "attack", "An Attack part.")
dns_record: Builder = _compiled(_DNS_RECORD, "dns_record", "A DnsRecord part.")
indicator: Builder = _compiled(_INDICATOR, "indicator", "An Indicator part.")
change: Builder = _compiled(_CHANGE, "change", "A Change part.")
container: OptionalBuilder = _compiled(_CONTAINER, "container", "A Container part.", none_when_empty=True)
cloud: OptionalBuilder = _compiled(_CLOUD, "cloud", "A Cloud part.", none_when_empty=True)
file: OptionalBuilder = _compiled(_FILE, "file", "A File part.", none_when_empty=True)
process: OptionalBuilder = _compiled(_PROCESS, "process", "A Process part.", none_when_empty=True)


def observable(type: str, value: str, name: str | None = None) -> dict[str, Any]:
    """An Observable part."""
    return {"type": type, "value": value, "name": name}


def identified(record: Any, what: str) -> tuple[dict[str, Any], str]:
    """``record`` as an object, and its id cleaned as an identifier; a record that is no object or
    has no usable id is refused in one line, ``<what>: id: missing (keys: ...)``."""
    if not isinstance(record, dict):
        raise BadVendorAnswer(f"{what}: expected an object, got {type(record).__name__}")
    found = hygiene.ident(record.get("id"), "vendor_id")
    if found is None:
        raise BadVendorAnswer(f"{what}: id: missing (keys: {hygiene.keys_of(record)})")
    return record, found
