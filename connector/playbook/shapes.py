"""What an expression yields, as far as the schemas tell: the static check of field references.

A :class:`Shape` is what is known of a value: nothing (:class:`Anything`), a part of a JSON Schema
(:class:`Fragment`, resolving ``$ref`` to other schema files through the host's store), a record the
engine builds (:class:`Record`: the scope, ``steps``, one step) or a list the expression builds
(:class:`ListOf`). :func:`walk` follows a JMESPath syntax tree over shapes: fields, indexes, slices,
flattening, projections and filters, pipes, multi-selects and function arguments, and raises
:class:`Problem` at the first field the schemas do not declare. Where the tree is too dynamic to
tell (literals, function results, object-valued projections) the shape becomes :class:`Anything`
and nothing more is checked: the check errs on the side of letting a playbook run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jmespath import functions

from connector.errors import BadInput

Node = Mapping[str, Any]
SchemaPart = tuple[Mapping[str, Any], str]
"""A JSON Schema fragment and the name of the document it sits in (for local ``#/...`` references)."""

MAX_LISTED = 12


class Problem(Exception):
    """A reference the schemas say cannot resolve; the message names the path and what is wrong."""


@dataclass(frozen=True)
class Shape:
    """What is known of a value; ``label`` says how it was reached (``steps.a.output.threats[]``)."""

    label: str


@dataclass(frozen=True)
class Anything(Shape):
    """Nothing is known: every field and index is accepted."""


@dataclass(frozen=True)
class Fragment(Shape):
    """A value described by one or more JSON Schema parts (more than one: any of them)."""

    parts: tuple[SchemaPart, ...]


@dataclass(frozen=True)
class Record(Shape):
    """An object the engine builds, with exactly these fields."""

    fields: Mapping[str, Shape]
    missing: Callable[[str], str] = field(default=lambda name: f"no field '{name}'")


@dataclass(frozen=True)
class ListOf(Shape):
    """A list the expression builds (a projection, a flatten, a multi-select)."""

    items: Shape


class Schemas:
    """Resolves ``$ref`` between schema documents: the store's files and inline ones (playbook inputs)."""

    def __init__(
        self, lookup: Callable[[str], Mapping[str, Any]], inline: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self._lookup = lookup
        self._inline = inline

    def document(self, name: str) -> Mapping[str, Any] | None:
        """The whole schema document called ``name``, or None when no one knows it."""
        if name in self._inline:
            return self._inline[name]
        try:
            return self._lookup(name)
        except BadInput:  # an unresolvable $ref only makes the check less precise
            return None

    def fragment(self, name: str, label: str) -> Fragment:
        """The shape of a whole document, e.g. an action's output schema."""
        return Fragment(label, ((self.document(name) or {}, name),))

    def parts(self, part: SchemaPart, depth: int = 0) -> Iterator[SchemaPart]:
        """``part`` and what it combines (``$ref``, ``allOf``, ``anyOf``, ``oneOf``), without null parts."""
        schema, doc = part
        if depth > 20 or schema.get("type") == "null":
            return
        yield part
        if isinstance(schema.get("$ref"), str):
            target = self._resolve(schema["$ref"], doc)
            if target is not None:
                yield from self.parts(target, depth + 1)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(keyword, ()):
                if isinstance(sub, Mapping):
                    yield from self.parts((sub, doc), depth + 1)

    def _resolve(self, ref: str, doc: str) -> SchemaPart | None:
        name, _, pointer = ref.partition("#")
        name = name or doc
        target: Any = self.document(name)
        for token in filter(None, pointer.split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            target = target.get(token) if isinstance(target, Mapping) else None
        return (target, name) if isinstance(target, Mapping) else None


def field_of(shape: Shape, name: str, schemas: Schemas) -> Shape:
    """The shape of ``shape.name``; :class:`Problem` when the shape says there is no such field."""
    label = f"{shape.label}.{name}" if shape.label else name
    if isinstance(shape, Record):
        if name not in shape.fields:
            raise Problem(shape.missing(name))
        return shape.fields[name]
    if isinstance(shape, ListOf):
        raise Problem(_not_object(shape.label, "a list", name))
    if isinstance(shape, Fragment):
        return _fragment_field(shape, name, label, schemas)
    return Anything(label)


def items_of(shape: Shape, schemas: Schemas) -> Shape:
    """The shape of one item of ``shape`` (indexing, projecting); :class:`Problem` when it is no list."""
    label = f"{shape.label}[]"
    if isinstance(shape, ListOf):
        return shape.items
    if isinstance(shape, Record):
        raise Problem(f"{shape.label} is an object, not a list")
    if isinstance(shape, Fragment):
        parts = [part for top in shape.parts for part in schemas.parts(top)]
        found = [(schema["items"], doc) for schema, doc in parts if isinstance(schema.get("items"), Mapping)]
        if found:
            return Fragment(label, tuple(found))
        types = _declared_types(parts)
        if types and "array" not in types:
            raise Problem(f"{shape.label} is {_kind(types)}, not a list")
    return Anything(label)


def walk(node: Node, current: Shape, schemas: Schemas) -> Shape:
    """The shape of JMESPath syntax tree ``node`` evaluated on ``current``; checks every field on the way."""
    kind, children = node["type"], node.get("children", [])
    if kind == "field":
        return field_of(current, node["value"], schemas)
    if kind == "subexpression":
        for child in children:
            current = walk(child, current, schemas)
        return current
    if kind == "pipe":
        return walk(children[1], walk(children[0], current, schemas), schemas)
    if kind in ("current", "identity"):
        return current
    if kind == "index_expression":
        left = walk(children[0], current, schemas)
        return items_of(left, schemas) if children[1]["type"] == "index" else left
    if kind == "flatten":
        item = items_of(walk(children[0], current, schemas), schemas)
        return ListOf(item.label, _flattened(item, schemas))
    if kind in ("projection", "filter_projection"):
        item = items_of(walk(children[0], current, schemas), schemas)
        if kind == "filter_projection":
            walk(children[2], item, schemas)
        return ListOf(item.label, walk(children[1], item, schemas))
    if kind == "value_projection":
        walk(children[0], current, schemas)
        return ListOf(current.label, walk(children[1], Anything(f"{current.label}.*"), schemas))
    if kind == "function_expression":
        return _function(node, current, schemas)
    if kind == "multi_select_list":
        shapes = [walk(child, current, schemas) for child in children]
        # [a.threats, b.threats][] is how two lists are joined: keep what their items are.
        if shapes and all(isinstance(shape, Fragment) for shape in shapes):
            joined = tuple(part for shape in shapes if isinstance(shape, Fragment) for part in shape.parts)
            return ListOf(current.label, Fragment(current.label, joined))
        return ListOf(current.label, Anything(current.label))
    # Comparisons, and/or/not, multi-select hashes, literals: check what they read, not what they give.
    for child in children:
        if isinstance(child, dict):
            walk(child, current, schemas)
    return Anything(current.label)


def _function(node: Node, current: Shape, schemas: Schemas) -> Shape:
    _check_call(node["value"], len(node["children"]))
    arguments = [child for child in node["children"] if child["type"] != "expref"]
    shapes = [walk(child, current, schemas) for child in arguments]
    # sort_by(list, &field), max_by, min_by, map(&expr, list): the expression applies to each item.
    item: Shape = Anything(current.label)
    for shape in shapes:
        if isinstance(shape, ListOf | Fragment):
            try:
                item = items_of(shape, schemas)
            except Problem:
                continue
            break
    for child in node["children"]:
        if child["type"] == "expref":
            walk(child["children"][0], item, schemas)
    return Anything(current.label)


_FUNCTIONS: Mapping[str, Mapping[str, Any]] = functions.Functions.FUNCTION_TABLE
"""JMESPath's built-in functions and their signatures: the only ones a playbook can call."""


def _check_call(name: str, count: int) -> None:
    """A call of a function JMESPath has, with as many arguments as it takes; :class:`Problem` otherwise."""
    function = _FUNCTIONS.get(name)
    if function is None:
        close = difflib.get_close_matches(name, _FUNCTIONS, n=1)
        hint = f"did you mean {close[0]}()? " if close else ""
        raise Problem(f"{name}(): not a JMESPath function ({hint}see https://jmespath.org/specification.html)")
    signature = function["signature"]
    variadic = bool(signature) and signature[-1].get("variadic", False)
    if count < len(signature) or (count > len(signature) and not variadic):
        wanted = f"{len(signature)} or more" if variadic else str(len(signature))
        raise Problem(f"{name}(): takes {wanted} argument{'' if wanted == '1' else 's'}, not {count}")


def _flattened(item: Shape, schemas: Schemas) -> Shape:
    """``list[]`` flattens one level: lists of lists become lists of their items, other items stay."""
    if isinstance(item, ListOf):
        return item.items
    if isinstance(item, Fragment):
        parts = [part for top in item.parts for part in schemas.parts(top)]
        if any("items" in schema for schema, _doc in parts) or "array" in _declared_types(parts):
            return items_of(item, schemas)
    return item


def _fragment_field(shape: Fragment, name: str, label: str, schemas: Schemas) -> Shape:
    parts = [part for top in shape.parts for part in schemas.parts(top)]
    found: list[SchemaPart] = []
    declared: list[str] = []
    extra: list[SchemaPart] = []
    for schema, doc in parts:
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            declared.extend(properties)
            if isinstance(properties.get(name), Mapping):
                found.append((properties[name], doc))
        for pattern, sub in (schema.get("patternProperties") or {}).items():
            if re.search(pattern, name) and isinstance(sub, Mapping):
                found.append((sub, doc))
        if isinstance(schema.get("additionalProperties"), Mapping):
            extra.append((schema["additionalProperties"], doc))
    if found:
        return Fragment(label, tuple(found))
    if extra:
        return Fragment(label, tuple(extra))
    if declared:
        raise Problem(_undeclared(shape.label, name, sorted(set(declared)), _title(parts)))
    types = _declared_types(parts)
    if types and "object" not in types:
        raise Problem(_not_object(shape.label, _kind(types), name))
    return Anything(label)


def _declared_types(parts: list[SchemaPart]) -> set[str]:
    types: set[str] = set()
    for schema, _doc in parts:
        declared = schema.get("type")
        types.update([declared] if isinstance(declared, str) else declared or ())
        if "enum" in schema and "type" not in schema:
            types.update(json_type(value) for value in schema["enum"])
    return types - {"null"}


def json_type(value: Any) -> str:
    """The JSON type name of a Python value: object, array, string, number, boolean or null."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def _kind(types: set[str]) -> str:
    names = {"array": "a list", "object": "an object", "string": "a string", "integer": "an integer"}
    return " or ".join(sorted(names.get(kind, f"a {kind}") for kind in types))


def _title(parts: list[SchemaPart]) -> str:
    for schema, doc in parts:
        if isinstance(schema.get("properties"), Mapping):
            return str(schema.get("title") or doc or "the schema")
    return "the schema"


def _undeclared(where: str, name: str, declared: list[str], title: str) -> str:
    close = difflib.get_close_matches(name, declared, n=1)
    if close:
        hint = f" (did you mean '{close[0]}'?)"
    elif len(declared) <= MAX_LISTED:
        hint = f" (declared: {', '.join(declared)})"
    else:
        hint = ""
    subject = f"{where}.{name}" if where else name
    return f"{subject}: no field '{name}' in {title}{hint}"


def _not_object(where: str, kind: str, name: str) -> str:
    hint = f" (use {where}[].{name} for each item, or {where}[0].{name})" if kind == "a list" else ""
    return f"{where}.{name}: {where} is {kind}, it has no fields{hint}"
