"""JSON Schemas: loading them, validating against them, and one-line errors that name the field.

Schemas are JSON files (draft 2020-12), one per file; a schema is known by its file name, which
is also its ``$id``, so files refer to each other with ``{"$ref": "threat.json"}``. Running
``python -m connector.schemas`` rewrites the schemas generated from pydantic models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.exceptions import PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

from connector.documents import QUOTE_LIMIT, check_depth, quoted
from connector.errors import BadInput
from connector.suggest import did_you_mean

if TYPE_CHECKING:
    from referencing._core import Resolver  # referencing exports the class for typing only from here


class SchemaStore:
    """All known schemas, resolvable by file name."""

    def __init__(self, folders: Iterable[Path]) -> None:
        self._schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        for folder in folders:
            for path in sorted(folder.glob("*.json")):
                document = orjson.loads(path.read_bytes())
                self._schemas[path.name] = {"$id": path.name, **document}

    def __contains__(self, name: object) -> bool:
        return name in self._schemas

    def get(self, name: str) -> dict[str, Any]:
        """The schema stored as ``name`` (a file name such as ``get_threats.input.json``)."""
        try:
            return self._schemas[name]
        except KeyError:
            raise BadInput(f"schema {name!r} is not known") from None

    @cached_property
    def _registry(self) -> Registry[Any]:
        # Crawled once here: an uncrawled registry would find each file's anchors and subschemas
        # again on every lookup of every validation.
        resources = [(name, Resource.from_contents(doc, DRAFT202012)) for name, doc in self._schemas.items()]
        return Registry().with_resources(resources).crawl()

    def validator(self, name: str) -> Draft202012Validator:
        """A validator for the schema ``name`` that resolves references to the other files.

        Built once per schema and kept: a validator holds no state of the instances it checks, and
        building one (with its resolver and format checker) costs more than checking a record.
        """
        try:
            return self._validators[name]
        except KeyError:
            built = Draft202012Validator(self.get(name), registry=self._registry, format_checker=FormatChecker())
            return self._validators.setdefault(name, built)

    def validate(self, name: str, instance: Any, label: str) -> None:
        """Raise :class:`BadInput` with one line naming the path and the rule when ``instance`` is invalid."""
        validator = self.validator(name)
        if validator.is_valid(instance):
            return  # the valid case stops at no error; collecting them all is for the message
        error = best_match(validator.iter_errors(instance))
        if error is not None:
            raise BadInput(describe_error(error, label, self._forms(name)))

    def resolver(self, name: str) -> Resolver[Any]:
        """A resolver of the references in the schema ``name`` (to walk a schema beside a document)."""
        return self._registry.resolver(base_uri=name)

    def inline_registry(self, schema: Mapping[str, Any]) -> Registry[Any]:
        """A registry for an inline schema (a playbook's inputs): the files it refers to, theirs in
        turn, and the schema itself as :data:`INLINE_URI`."""
        resources, pending = {INLINE_URI: schema}, [schema]
        while pending:
            for ref in refs_in(pending.pop()):
                name = ref.partition("#")[0]
                if name and name not in resources and name in self:
                    resources[name] = self.get(name)
                    pending.append(resources[name])
        return Registry().with_resources(
            (name, Resource.from_contents(document, DRAFT202012)) for name, document in resources.items()
        )

    def unresolved_refs(self, schema: Mapping[str, Any]) -> list[str]:
        """Each ``$ref`` of an inline schema that leads nowhere: "'nope.json' is not a known schema"."""
        resolver = self.inline_registry(schema).resolver(base_uri=INLINE_URI)
        problems = []
        for ref in refs_in(schema):
            try:
                resolver.lookup(ref)
            except PointerToNowhere:
                problems.append(f"{ref!r}: the part after # names nothing in that schema")
            except Unresolvable:
                problems.append(f"{ref!r}: not a known schema (see schemas/)")
        return problems

    def _forms(self, name: str) -> FormNamer:
        resolver = self.resolver(name)

        def form(branch: Any) -> str:
            # A branch of anyOf/oneOf, told by its type: "string", "array", or a const/enum's values.
            if isinstance(branch, dict) and "$ref" in branch:
                try:
                    branch = resolver.lookup(branch["$ref"]).contents
                except Exception:  # an unresolvable ref still names something readable
                    return str(branch["$ref"]).rsplit("/", 1)[-1]
            if not isinstance(branch, dict):
                return "any value" if branch is True else "nothing"
            if "const" in branch:
                return repr(branch["const"])
            if "enum" in branch:
                return " or ".join(repr(value) for value in branch["enum"])
            if "required" in branch and "type" not in branch:
                return "with " + " and ".join(branch["required"])
            kind = branch.get("type", "value")
            kinds = " or ".join(kind) if isinstance(kind, list) else str(kind)
            return f"{kinds} ({branch['description']})" if "description" in branch else kinds

        return form


FormNamer = Callable[[Any], str]

INLINE_URI = "urn:connector:inline"
"""Where an inline schema sits in its registry, so that its own ``#/...`` references resolve."""


def refs_in(node: Any) -> Iterator[str]:
    """Every ``$ref`` string in a schema, however deep."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def load_object(text: str | bytes, label: str) -> dict[str, Any]:
    """The JSON object in ``text`` (blank text is ``{}``); BadInput naming ``label`` otherwise."""
    try:
        document = orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"{label}: not valid JSON: {exc.args[0]}") from None
    if not isinstance(document, dict):
        raise BadInput(f"{label}: expected a JSON object, got {type(document).__name__}")
    check_depth(document, label)
    return document


def describe_error(error: ValidationError, label: str, form: FormNamer | None = None) -> str:
    """``label.path[0].field: what is wrong (rule: keyword)`` for one validation error.

    For anyOf/oneOf, whose own message ("not valid under any of the given schemas") names no rule a
    person can act on, ``form`` names each allowed form of the value instead.
    """
    where = label + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    message = _short_message(error)
    if form is not None and error.validator in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
        forms = "; ".join(dict.fromkeys(form(branch) for branch in error.validator_value))
        instance = error.instance
        subject = quoted(instance)
        if isinstance(instance, dict | list):
            subject = "the object" if isinstance(instance, dict) else "the array"
        message = f"{subject} is none of the allowed forms: {forms}"
    return f"{where}: {message} (rule: {error.validator}){_suggestion(error)}"


def _suggestion(error: ValidationError) -> str:
    """A key or an enum value close to the one given: ``; did you mean 'severity'?``, else nothing."""
    if error.validator == "enum" and isinstance(error.instance, str) and isinstance(error.validator_value, list):
        return did_you_mean(error.instance, error.validator_value)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        unexpected = [key for key in error.instance if key not in known]
        if len(unexpected) == 1:
            return did_you_mean(str(unexpected[0]), known)
    return ""


def _short_message(error: ValidationError) -> str:
    """jsonschema's message, with the value it starts with quoted short: a list of a thousand threats
    given where a string belongs must not put megabytes of vendor data in one error line."""
    message = error.message
    if error.validator in ("anyOf", "oneOf", "additionalProperties", "required"):
        return message  # these name keys, or are rewritten by the caller, rather than quote the value
    full = repr(error.instance)
    if len(full) > QUOTE_LIMIT and message.startswith(full):
        return quoted(error.instance) + message[len(full) :]
    return message
