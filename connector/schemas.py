"""JSON Schemas: loading them, checking against them, and one-line errors that name the field.

Schemas are JSON files (draft 2020-12), one per file; a schema is known by its file name, which
is also its ``$id``, so files refer to each other with ``{"$ref": "threat.json"}``. Running
``python -m connector.generated`` rewrites the schemas generated from pydantic models.

Two libraries share the work. jsonschema-rs checks: a schema compiled once takes microseconds
where walking it in Python took two milliseconds a threat, the largest cost of a served one-record
action. jsonschema explains what jsonschema-rs refused, in the one line every surface prints
(:func:`describe_error`), and has the last word: a value the stricter Rust checker refuses and
jsonschema accepts (an email address jsonschema only asks an ``@`` of) is accepted, as it always
was. jsonschema and referencing are imported only then, or for a playbook's own schemas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from connector.documents import QUOTE_LIMIT, check_depth, quoted
from connector.errors import BadInput
from connector.suggest import did_you_mean

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

log = logging.getLogger(__name__)


class SchemaStore:
    """All known schemas, resolvable by file name.

    A file is read when a schema first needs it; each schema's checker and registry hold it and
    the files it refers to, in turn: a one-record run reads two schemas of the fifty.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self._paths: dict[str, Path] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        self._checkers: dict[str, jsonschema_rs.Validator] = {}
        self._registries: dict[str, jsonschema_rs.Registry] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        for folder in folders:
            for path in sorted(folder.glob("*.json")):
                self._paths[path.name] = path

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def get(self, name: str) -> dict[str, Any]:
        """The schema stored as ``name`` (a file name such as ``get_threats.input.json``)."""
        try:
            return self._schemas[name]
        except KeyError:
            pass
        try:
            path = self._paths[name]
        except KeyError:
            raise BadInput(f"schema {name!r} is not known") from None
        return self._schemas.setdefault(name, {"$id": name, **orjson.loads(path.read_bytes())})

    def closure(self, uri: str, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """``schema`` as ``uri`` and the known files it refers to, theirs in turn, by URI."""
        resources = {uri: schema}
        pending = [schema]
        while pending:
            for ref in refs_in(pending.pop()):
                name = ref.partition("#")[0]
                if name and name not in resources and name in self:
                    resources[name] = self.get(name)
                    pending.append(resources[name])
        return resources

    def checker(self, name: str) -> jsonschema_rs.Validator:
        """The compiled check of the schema ``name``, built once and kept (it holds no state of what it checks)."""
        try:
            return self._checkers[name]
        except KeyError:
            built = jsonschema_rs.validator_for(self.get(name), registry=self._rust_registry(name),
                                                validate_formats=True)
            return self._checkers.setdefault(name, built)

    def validator(self, name: str) -> Draft202012Validator:
        """jsonschema's validator of the schema ``name``, for its errors (:meth:`validate` checks faster)."""
        try:
            return self._validators[name]
        except KeyError:
            from jsonschema import Draft202012Validator, FormatChecker

            registry = self.registry_for(name, self.get(name)).crawl()
            built = Draft202012Validator(self.get(name), registry=registry, format_checker=FormatChecker())
            return self._validators.setdefault(name, built)

    def validate(self, name: str, instance: Any, label: str) -> None:
        """Raise :class:`BadInput` with one line naming the path and the rule when ``instance`` is invalid."""
        if _passes(self.checker(name), instance):
            return
        message = explained(self.validator(name), instance, label, self._forms(name))
        if message is not None:
            raise BadInput(message)
        log.debug("%s: refused by jsonschema-rs, accepted by jsonschema (schema %s)", label, name)

    def resolver(self, name: str) -> jsonschema_rs.Resolver:
        """A resolver of the references in the schema ``name`` (to walk a schema beside a document)."""
        return self._rust_registry(name).resolver(name)

    def registry_for(self, uri: str, schema: Mapping[str, Any]) -> Registry[Any]:
        """jsonschema's registry of ``schema`` as ``uri`` and the files it refers to (a playbook's inline inputs)."""
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        resources = self.closure(uri, dict(schema)).items()
        return Registry().with_resources(
            (name, Resource.from_contents(document, DRAFT202012)) for name, document in resources
        )

    def _rust_registry(self, name: str) -> jsonschema_rs.Registry:
        registry = self._registries.get(name)
        if registry is None:
            registry = self._registries[name] = jsonschema_rs.Registry(list(self.closure(name, self.get(name)).items()))
        return registry

    def unresolved_refs(self, schema: Mapping[str, Any]) -> list[str]:
        """Each ``$ref`` of an inline schema that leads nowhere: "'nope.json' is not a known schema"."""
        from referencing.exceptions import PointerToNowhere, Unresolvable

        resolver = self.registry_for(INLINE_URI, schema).resolver(base_uri=INLINE_URI)
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
        resolver = self.registry_for(name, self.get(name)).resolver(base_uri=name)

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


def _passes(checker: jsonschema_rs.Validator, instance: Any) -> bool:
    """Whether jsonschema-rs accepts ``instance``; False for a value it cannot take in (a datetime,
    an integer over 64 bits), which jsonschema then judges."""
    try:
        return checker.is_valid(instance)
    except (ValueError, TypeError, OverflowError):
        return False


def explained(validator: Draft202012Validator, instance: Any, label: str, form: FormNamer | None = None) -> str | None:
    """The one line of jsonschema's best error in ``instance`` (:func:`describe_error`), None when it finds none."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(instance))
    return None if error is None else describe_error(error, label, form)


class InlineSchema:
    """A schema that refers to no file (a request body's): checked by jsonschema-rs, explained by jsonschema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._checker = jsonschema_rs.validator_for(schema, validate_formats=True)
        self._validator: Draft202012Validator | None = None

    def validate(self, instance: Any, label: str) -> None:
        """Raise :class:`BadInput` with one line naming the path and the rule when ``instance`` is invalid."""
        if _passes(self._checker, instance):
            return
        if self._validator is None:
            from jsonschema import Draft202012Validator, FormatChecker

            self._validator = Draft202012Validator(self.schema, format_checker=FormatChecker())
        message = explained(self._validator, instance, label)
        if message is not None:
            raise BadInput(message)


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
