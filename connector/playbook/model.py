"""The playbook file: reading it, checking it against schemas/playbook.json, compiling its templates.

Reading gives a :class:`Playbook` (the YAML as typed data); compiling gives a :class:`Compiled`
playbook whose every expression is parsed, or the list of problems found on the way. Nothing here
knows about actions or vendors: :mod:`connector.playbook.check` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field

from connector.documents import MAX_YAML_BYTES, GuardedLoader, check_depth, load_yaml, read_text
from connector.errors import BadInput
from connector.playbook.expressions import Broken, Template, compile_condition, compile_template
from connector.plugins import Host
from connector.schemas import describe_error

SCHEMA = "playbook.json"
DEFAULT_CONCURRENCY = 4


class _Loader(GuardedLoader):
    """YAML as written, except that timestamps stay text: JSON has no dates, and the actions take
    RFC 3339 strings, so ``since: 2026-10-01T00:00:00Z`` must not turn into a datetime."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PlaybookInvalid(BadInput):
    """The playbook cannot run: every problem found, one line each, and nothing was sent."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Step(BaseModel):
    """One step as written: an action, where it runs, its input and how it repeats or stops."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    action: str
    connection: str | None = None
    vendor: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    for_each: str | list[Any] | None = None
    when: str | bool | None = None
    on_error: Literal["stop", "continue"] = "stop"
    strict: bool = False
    concurrency: int | None = None


class Playbook(BaseModel):
    """A playbook as written: its name, the JSON Schema of its inputs, its steps and outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str | None = None
    inputs: dict[str, Any] | None = None
    steps: list[Step]
    outputs: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class CompiledStep:
    """A step with its templates parsed: ``input`` rendered per run, ``for_each`` and ``when`` evaluated."""

    step: Step
    input: Template
    for_each: Template | None
    when: Template | None


@dataclass(frozen=True)
class Compiled:
    """A playbook ready to check and run."""

    playbook: Playbook
    steps: list[CompiledStep]
    outputs: dict[str, Template] = field(default_factory=dict)


def read_playbook(source: str | Path | Mapping[str, Any], host: Host) -> Playbook:
    """A playbook from a file path or an already-parsed mapping, valid against schemas/playbook.json."""
    if isinstance(source, Mapping):
        document: Any = dict(source)
        try:
            check_depth(document, "playbook")
        except BadInput as exc:
            raise PlaybookInvalid([exc.message]) from None
    else:
        path = Path(source)
        text = read_text(path, "playbook", limit=MAX_YAML_BYTES)
        try:
            document = load_yaml(text, f"playbook {path.name}", loader=_Loader)
        except BadInput as exc:
            raise PlaybookInvalid([exc.message]) from None
    errors = sorted(host.schemas.validator(SCHEMA).iter_errors(document), key=_error_order)
    if errors:
        raise PlaybookInvalid([_schema_problem(error, document) for error in errors])
    return Playbook.model_validate(document)


def compile_playbook(playbook: Playbook) -> tuple[Compiled, list[str]]:
    """Parse every expression; returns the compiled playbook and the problems (duplicate ids, bad syntax)."""
    problems: list[str] = []
    seen: set[str] = set()
    steps = []
    for step in playbook.steps:
        if step.id in seen:
            problems.append(f"step {step.id}: id: used by an earlier step (ids must be unique)")
        seen.add(step.id)
        steps.append(
            CompiledStep(
                step=step,
                input=_compile(compile_template, step.input, f"step {step.id}: input", problems),
                for_each=_compile(compile_condition, step.for_each, f"step {step.id}: for_each", problems),
                when=_compile(compile_condition, step.when, f"step {step.id}: when", problems),
            )
        )
    outputs = {
        name: _compile(compile_condition, text, f"outputs.{name}", problems)
        for name, text in playbook.outputs.items()
    }
    return Compiled(playbook, steps, outputs), problems


def _compile(compiler: Any, value: Any, where: str, problems: list[str]) -> Template:
    if value is None:
        return None
    if isinstance(value, dict):
        # One problem per field, so every bad expression of an input is reported at once.
        return {key: _compile(compiler, item, f"{where}.{key}", problems) for key, item in value.items()}
    try:
        return compiler(value)
    except BadInput as exc:
        problems.append(f"{where}: {exc.message}")
        return Broken()


def _error_order(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(part) for part in error.absolute_path)


def _schema_problem(error: ValidationError, document: Any) -> str:
    """``step <id>: <field>: <rule>`` for an error inside a step with an id, else ``playbook.<path>: ...``."""
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        step = document["steps"][path[1]]
        step_id = step.get("id") if isinstance(step, dict) else None
        if isinstance(step_id, str) and step_id:
            where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path[2:])
            field = where.removeprefix(".") + ": " if where else ""
            return f"step {step_id}: {field}{error.message} (rule: {error.validator})"
    return describe_error(error, "playbook")
