"""The one description of the actions that every SOAR export is generated from.

It is read from the same sources as ``manifest.yaml`` (the registered actions and vendors) and
from the JSON Schemas, and carries the rules both platforms share:

- naming: an action keeps its connector name (``get_threats``), which is a Python identifier on
  both platforms; a parameter keeps its input property name, with ``_`` appended when it is a
  Python keyword; :func:`camel` makes ``GetThreats`` / ``CisoAssistant`` for Cortex's names.
- types: every input property gets one :data:`Kind` from its schema (:func:`kind_of`), which
  each platform renders its own way (Shuffle: a text field, options, multiline; Cortex: a
  configuration item type and ``multi``), and which :func:`parse_value` uses to turn the text a
  platform hands over back into the JSON value the action's schema expects.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass, field
from typing import Any, Literal

from connector import __version__
from connector.errors import BadInput
from connector.manifest import build_manifest
from connector.plugins import Host, default_host

Kind = Literal["string", "integer", "number", "boolean", "choice", "list", "json"]
"""How a value travels as text: ``list`` is comma-separated (or a JSON array), ``json`` is JSON."""

SHARED_DOCUMENTS = ("threat.json", "event.json")
"""The common record schemas that action outputs refer to."""

_SCALARS: dict[str, Kind] = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


@dataclass(frozen=True)
class Param:
    """One input property of an action, as the platforms show it."""

    name: str
    property: str
    description: str
    required: bool
    kind: Kind
    options: tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class ActionDescription:
    """One action, with what both exports need of it."""

    name: str
    title: str
    description: str
    mutates: bool
    vendors: tuple[str, ...]
    params: tuple[Param, ...]
    returns: dict[str, Any]


@dataclass(frozen=True)
class Description:
    """The connector as the exports see it: name, version, vendors and actions."""

    name: str
    version: str
    vendors: dict[str, str]
    actions: tuple[ActionDescription, ...]
    connection: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The shared schemas the output schemas refer to (``threat.json``, ``event.json``), by name."""

    def action(self, name: str) -> ActionDescription:
        """The action called ``name``."""
        return next(action for action in self.actions if action.name == name)


def describe(host: Host | None = None) -> Description:
    """The description of every registered action, in the manifest's order."""
    host = host or default_host()
    manifest = build_manifest(host)
    actions = []
    for entry in manifest["actions"]:
        spec = host.action(entry["name"])
        schema = host.schemas.get(spec.input)
        actions.append(
            ActionDescription(
                name=spec.name,
                title=spec.title,
                description=" ".join(spec.description.split()),
                mutates=spec.mutates,
                vendors=tuple(spec.vendors),
                params=tuple(_params(schema, host)),
                returns=host.schemas.get(spec.output),
            )
        )
    return Description(
        name=manifest["name"],
        version=__version__,
        vendors={name: host.vendor(name).title for name in manifest["vendors"]},
        actions=tuple(actions),
        connection=host.schemas.get(manifest["connection_schema"]),
        documents={name: host.schemas.get(name) for name in SHARED_DOCUMENTS},
    )


def parameter_name(prop: str) -> str:
    """The parameter name of input property ``prop``: itself, or with ``_`` when it is a keyword."""
    return f"{prop}_" if keyword.iskeyword(prop) else prop


def camel(name: str) -> str:
    """``get_threats`` -> ``GetThreats``, ``ciso_assistant`` -> ``CisoAssistant``."""
    return "".join(part.capitalize() for part in name.split("_"))


def kind_of(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[Kind, tuple[str, ...]]:
    """The kind of a property's schema and, for a choice, its options (as text)."""
    schema = _resolve(schema, defs)
    if "enum" in schema:
        return "choice", _options(schema)
    types = schema.get("type")
    if isinstance(types, list):
        types = next((kind for kind in types if kind != "null"), None)
    if types == "array":
        items = _resolve(schema.get("items") or {}, defs)
        if "enum" in items or items.get("type") == "string":
            return "list", _options(items)
        return "json", ()
    if isinstance(types, str) and types in _SCALARS:
        return _SCALARS[types], ()
    return "json", ()


def _options(schema: dict[str, Any]) -> tuple[str, ...]:
    values = [value for value in schema.get("enum", []) if value is not None]
    return tuple(value if isinstance(value, str) else json.dumps(value) for value in values)


def parse_value(param: Param, text: Any) -> Any:
    """The JSON value of ``text`` (what a platform handed over) for ``param``; BadInput names the rule."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    try:
        if param.kind == "integer":
            return int(text)
        if param.kind == "number":
            return float(text) if any(mark in text for mark in ".eE") else int(text)
        if param.kind == "boolean":
            return {"true": True, "false": False}[text.lower()]
        if param.kind == "choice":
            return _option(param, text)
        if param.kind == "list":
            if text.startswith("["):
                return json.loads(text)
            return [_option(param, part.strip()) for part in text.split(",") if part.strip()]
        if param.kind == "json":
            return json.loads(text)
    except (ValueError, KeyError):
        raise BadInput(f"input.{param.property}: {text[:40]!r} is not {_RULES[param.kind]}") from None
    return text


def _option(param: Param, text: str) -> Any:
    # Options that are not strings (CISO Assistant's severities 1..6) are written as JSON; any
    # other text is left to the action's schema, whose message names the allowed values.
    if text not in param.options:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, str) else value


_RULES: dict[str, str] = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "list": "a comma-separated list or a JSON array",
    "json": "JSON",
}


def _params(schema: dict[str, Any], host: Host) -> list[Param]:
    required = set(schema.get("required", []))
    params = []
    for prop, (declared, defs) in _properties(schema, schema.get("$defs", {}), host).items():
        kind, options = kind_of(declared, defs)
        resolved = _resolve(declared, defs)
        description = resolved.get("description") or declared.get("description") or prop.replace("_", " ").capitalize()
        params.append(
            Param(
                name=parameter_name(prop),
                property=prop,
                description=" ".join(str(description).split()),
                required=prop in required,
                kind=kind,
                options=options,
                example=_example(resolved, kind, options),
            )
        )
    return params


def _properties(schema: dict[str, Any], defs: dict[str, Any], host: Host) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Every property of an object schema with the ``$defs`` it resolves in, including those of the ``$ref`` it extends.

    The ``$ref`` is local (``#/$defs/x``) or another action's (``create_incident.input.json#/$defs/fields``).
    """
    found: dict[str, tuple[Any, dict[str, Any]]] = {}
    document, _, pointer = schema.get("$ref", "").partition("#/$defs/")
    if pointer:
        if document:
            defs = host.schemas.get(document).get("$defs", {})
        found.update(_properties(defs[pointer], defs, host))
    found.update({prop: (declared, defs) for prop, declared in schema.get("properties", {}).items()})
    return found


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref", "")
    if reference.startswith("#/$defs/"):
        target = _resolve(defs[reference.removeprefix("#/$defs/")], defs)
        return {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
    return schema


def _example(schema: dict[str, Any], kind: Kind, options: tuple[str, ...]) -> str:
    if "default" in schema:
        default = schema["default"]
        return default if isinstance(default, str) else json.dumps(default)
    if kind == "choice":
        return options[0]
    if kind == "list" and options:
        return ",".join(options[:2])
    return {"integer": "10", "number": "10", "boolean": "false"}.get(kind, "")
