"""The static check: everything that can be known wrong before a single request is sent.

Per step: the action exists; the connection exists in the connections file (unless it is the
sandbox) and its vendor binds the action; every expression refers to an earlier step and to
fields that step's action declares in its output schema (through ``$ref`` into threat.json and
event.json); the literal part of the input is valid against the action's input schema, with
fields given by expressions left out and not required. Each problem is one line starting with
``step <id>:`` or ``outputs.<name>:``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from connector.actions import ActionSpec, aliased_input
from connector.catalog import canonical_name
from connector.connections import SANDBOX, Connection, ConnectionsFile, read_connections
from connector.errors import ConfigError
from connector.playbook.expressions import Expression, Interpolation, Template, expressions_in, is_templated
from connector.playbook.model import Compiled, CompiledStep, PlaybookInvalid, compile_playbook, read_playbook
from connector.playbook.shapes import (
    Anything,
    Fragment,
    ListOf,
    Problem,
    Record,
    Schemas,
    Shape,
    field_of,
    items_of,
    walk,
)
from connector.plugins import Host
from connector.schemas import describe_error
from connector.suggest import did_you_mean

INPUTS_DOC = "playbook inputs"
STEP_STATUSES = ["success", "partial", "failed", "skipped"]


@dataclass(frozen=True)
class Target:
    """Where a step runs: the connection name to use (None: the sandbox) and the vendor."""

    connection: str | None
    vendor: str | None


class Connections:
    """The connections file, read once and only if a step names a connection."""

    def __init__(self, config: Path | None) -> None:
        self._config = config
        self._read: ConnectionsFile | None = None
        self._error: str | None = None

    def get(self, name: str) -> Connection:
        """The connection ``name``; :class:`ConfigError` when the file is unreadable, or the connection
        is invalid or not defined (another connection's problem is not this step's)."""
        if self._read is None and self._error is None:
            try:
                self._read = read_connections(self._config)
            except ConfigError as exc:
                self._error = exc.message
        if self._error is not None or self._read is None:
            raise ConfigError(self._error or "")
        known = self._read.connections
        if name in self._read.problems:
            raise ConfigError(self._read.problems[name])
        if name not in known:
            hint = did_you_mean(name, known)
            raise ConfigError(
                f"'{name}' is not defined in {self._read.path} (known: {', '.join(sorted(known)) or 'none'}){hint}"
            )
        return known[name]


def resolve_target(
    step_id: str, connection: str | None, vendor: str | None, spec: ActionSpec | None, host: Host,
    connections: Connections, sandbox: bool, problems: list[str], by_vendor: Mapping[str, str] | None = None,
) -> Target:
    """Which connection and vendor a step uses; problems are appended, one line each.

    A step that names no connection takes the one given for its vendor (``by_vendor``: the run's
    ``--connection VENDOR=NAME``), when there is one and the run is not on the sandbox.
    """
    if connection is None and not sandbox and by_vendor:
        connection = by_vendor.get(vendor or (next(iter(spec.vendors), "") if spec else ""))
    in_sandbox = sandbox or connection == SANDBOX
    connection_vendor = None
    if connection is None and not sandbox:
        problems.append(
            f"step {step_id}: connection: missing (name one from the connections file, give --connection "
            "VENDOR=NAME, or run with --sandbox)"
        )
    elif connection not in (None, SANDBOX):
        try:
            connection_vendor = connections.get(str(connection)).vendor
        except ConfigError as exc:
            # With --sandbox a named connection only tells the vendor: a missing file is no problem.
            if not sandbox:
                problems.append(f"step {step_id}: connection: {exc.message}")
    if vendor and connection_vendor and vendor != connection_vendor:
        problems.append(
            f"step {step_id}: vendor: '{vendor}' does not match connection '{connection}' "
            f"(vendor {connection_vendor})"
        )
    chosen = vendor or connection_vendor or (next(iter(spec.vendors), None) if spec else None)
    if chosen is not None and chosen not in host.vendors:
        known = ", ".join(sorted(host.vendors))
        hint = did_you_mean(chosen, host.vendors)
        problems.append(f"step {step_id}: vendor: '{chosen}' is not known (known: {known}){hint}")
    elif spec is not None and chosen not in spec.vendors:
        bound = ", ".join(spec.vendors) or "none yet"
        problems.append(
            f"step {step_id}: vendor: action {spec.name} has no binding for '{chosen}' (bound: {bound})"
        )
    return Target(connection=None if in_sandbox else connection, vendor=chosen)


def load_checked(
    source: str | Path | Mapping[str, Any], host: Host, *, config: Path | None = None, sandbox: bool = False,
    by_vendor: Mapping[str, str] | None = None,
) -> tuple[Compiled, list[Target]]:
    """Read, compile and check a playbook; :class:`PlaybookInvalid` lists every problem when there is one.

    ``by_vendor`` names the connection of each vendor for the steps that name none.
    """
    compiled, problems = compile_playbook(read_playbook(source, host))
    targets, found = check_playbook(compiled, host, config=config, sandbox=sandbox, by_vendor=by_vendor)
    if problems or found:
        raise PlaybookInvalid(problems + found)
    return compiled, targets


def check_playbook(
    compiled: Compiled, host: Host, *, config: Path | None = None, sandbox: bool = False,
    by_vendor: Mapping[str, str] | None = None,
) -> tuple[list[Target], list[str]]:
    """Check a compiled playbook; returns each step's target and every problem found (empty: ok)."""
    problems: list[str] = []
    inputs_schema = compiled.playbook.inputs
    schemas = Schemas(host.schemas.get, {INPUTS_DOC: inputs_schema or {}})
    inputs: Shape = Anything("inputs")
    if inputs_schema is not None:
        try:
            Draft202012Validator.check_schema(inputs_schema)
            inputs = Fragment("inputs", ((inputs_schema, INPUTS_DOC),))
        except SchemaError as exc:
            problems.append(f"inputs: not a valid JSON Schema: {exc.message}")
        problems.extend(f"inputs: $ref {problem}" for problem in host.schemas.unresolved_refs(inputs_schema))
    connections = Connections(config)
    ids = [entry.step.id for entry in compiled.steps]
    done: dict[str, Shape] = {}
    targets = []
    for position, entry in enumerate(compiled.steps):
        step = entry.step
        spec = host.actions.get(canonical_name(step.action))
        if spec is None:
            hint = did_you_mean(step.action, host.actions, dashes=True)
            problems.append(f"step {step.id}: action: '{step.action}' is not known (see `connector list`){hint}")
        targets.append(
            resolve_target(step.id, step.connection, step.vendor, spec, host, connections, sandbox, problems,
                           by_vendor)
        )
        steps = Record("steps", dict(done), _missing_step(step.id, ids[position + 1 :], ids))
        outer = _scope(inputs, steps, None, "its for_each or when")
        item = _item_shape(entry, outer, schemas, problems)
        scope = _scope(inputs, steps, item, "input")
        _check_expressions(f"step {step.id}: when", entry.when, outer, schemas, problems)
        _check_expressions(f"step {step.id}: input", entry.input, scope, schemas, problems)
        if spec is not None:
            _check_literal_input(step.id, entry.input, spec, targets[-1].vendor, host, schemas, problems)
        done[step.id] = _step_shape(step.id, spec, entry.for_each is not None, schemas)
    final = _scope(inputs, Record("steps", done, _missing_step("", [], ids)), None, "the outputs")
    for name, template in compiled.outputs.items():
        _check_expressions(f"outputs.{name}", template, final, schemas, problems)
    return targets, problems


def _scope(inputs: Shape, steps: Shape, item: Shape | None, where: str) -> Record:
    fields: dict[str, Shape] = {"inputs": inputs, "steps": steps}
    if item is not None:
        fields["item"] = item

    def missing(name: str) -> str:
        if name == "item":
            return "item: only defined in the input of a step with for_each" + (
                f", not in {where}" if where != "input" else ""
            )
        return f"{name}: not in scope (expressions start with inputs, steps or item)"

    return Record("", fields, missing)


def _missing_step(current: str, later: list[str], ids: list[str]) -> Callable[[str], str]:
    def missing(name: str) -> str:
        if name == current:
            return f"steps.{name}: a step cannot refer to its own output"
        if name in later:
            return f"steps.{name}: step '{name}' runs later (steps run in file order)"
        return f"steps.{name}: no step '{name}' (steps: {', '.join(ids)})"

    return missing


def _step_shape(step_id: str, spec: ActionSpec | None, for_each: bool, schemas: Schemas) -> Record:
    label = f"steps.{step_id}.output"
    output: Shape = Anything(label)
    if spec is not None:
        output = schemas.fragment(spec.output, label)
        if for_each:
            # A for_each step's output is {"items": [each run's output, in input order]}.
            each = schemas.fragment(spec.output, f"{label}.items[]")
            output = Record(label, {"items": ListOf(f"{label}.items", each)}, lambda name: (
                f"{label}.{name}: a for_each step's output has only items (use {label}.items[].{name})"
            ))
    status = Fragment(f"steps.{step_id}.status", (({"type": "string", "enum": STEP_STATUSES}, ""),))
    return Record(f"steps.{step_id}", {"output": output, "status": status}, lambda name: (
        f"steps.{step_id}.{name}: a step has only output and status"
    ))


def _item_shape(entry: CompiledStep, scope: Record, schemas: Schemas, problems: list[str]) -> Shape | None:
    if entry.for_each is None:
        return None
    where = f"step {entry.step.id}: for_each"
    if isinstance(entry.for_each, Interpolation):
        problems.append(f"{where}: must be a single expression or a list, not text around ${{{{ }}}}")
        return Anything("item")
    if not isinstance(entry.for_each, Expression):
        _check_expressions(where, entry.for_each, scope, schemas, problems)
        return Anything("item")
    try:
        return _relabel(items_of(walk(entry.for_each.parsed.parsed, scope, schemas), schemas), "item")
    except Problem as exc:
        problems.append(f"{where}: {exc}")
        return Anything("item")


def _relabel(shape: Shape, label: str) -> Shape:
    # Messages about the item then say item.x, as the author wrote it.
    if isinstance(shape, Fragment):
        return Fragment(label, shape.parts)
    if isinstance(shape, ListOf):
        return ListOf(label, shape.items)
    if isinstance(shape, Record):
        return Record(label, shape.fields, shape.missing)
    return Anything(label)


def _check_expressions(
    where: str, template: Template, scope: Record, schemas: Schemas, problems: list[str],
) -> None:
    for path, expression in expressions_in(template, where):
        try:
            walk(expression.parsed.parsed, scope, schemas)
        except Problem as exc:
            problems.append(f"{path}: {exc}")


def _check_literal_input(
    step_id: str, template: Template, spec: ActionSpec, vendor: str | None, host: Host, schemas: Schemas,
    problems: list[str],
) -> None:
    if not isinstance(template, dict):
        return
    template = aliased_input(spec, template)[0]  # a deprecated name is still accepted (the run warns)
    removed: set[tuple[str, ...]] = set()
    literal = _literal_part(template, (), removed)
    for error in host.schemas.validator(spec.input).iter_errors(literal):
        if not _excused(error, removed):
            problems.append(f"step {step_id}: {_describe(error)}")
    binding = spec.vendors.get(vendor or "")
    if binding and binding.vendor_filters and isinstance(literal.get("vendor_filters"), dict):
        for error in host.schemas.validator(binding.vendor_filters).iter_errors(literal["vendor_filters"]):
            problems.append(f"step {step_id}: {describe_error(error, 'input.vendor_filters')}")
    for path in sorted(removed):
        shape: Shape = schemas.fragment(spec.input, "input")
        try:
            for name in path:
                shape = field_of(shape, name, schemas)
        except Problem as exc:
            problems.append(f"step {step_id}: {exc}")


def _describe(error: ValidationError) -> str:
    """One line for an input error; an anyOf of required fields says which fields would do."""
    branches = error.context or []
    if error.validator in ("anyOf", "oneOf") and branches and all(sub.validator == "required" for sub in branches):
        names = [name for sub in branches if isinstance(sub.validator_value, list) for name in sub.validator_value]
        error.message = f"needs one of {', '.join(repr(name) for name in names)}"
        return describe_error(error, "input")
    # Otherwise the error the runner would report: anyOf/oneOf narrowed to its most telling branch.
    return describe_error(best_match([error]), "input")


def _literal_part(
    template: dict[str, Any], path: tuple[str, ...], removed: set[tuple[str, ...]],
) -> dict[str, Any]:
    """The input without the fields an expression gives; their paths go to ``removed``."""
    literal = {}
    for key, value in template.items():
        if isinstance(value, dict):
            literal[key] = _literal_part(value, (*path, key), removed)
        elif is_templated(value):
            removed.add((*path, key))
        else:
            literal[key] = value
    return literal


def _excused(error: ValidationError, removed: set[tuple[str, ...]]) -> bool:
    """Whether an error may vanish once the expressions give their fields, so it is no problem now.

    That is a ``required`` field an expression gives (even inside anyOf/oneOf), or anything an
    ``if`` decides when an expression gives a field of that same object (the ``if`` may then differ).
    """
    where = tuple(str(part) for part in error.absolute_path)
    conditional = {"then", "else"} & {str(part) for part in error.absolute_schema_path}
    if conditional and any(path[:-1] == where for path in removed):
        return True
    if error.validator == "required" and isinstance(error.instance, dict):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [name for name in required if name not in error.instance]
        return all((*where, name) in removed for name in missing)
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        return any(all(_excused(sub, removed) for sub in subs) for subs in branches.values())
    return False
