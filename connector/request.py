"""The run request: one declared, serialisable description of an action run, built by every surface.

``connector run``, ``submit`` and the worker, ``serve``, ``watch``, playbook steps, the SOAR
runtimes and the Python API each build a :class:`RunRequest` and hand it to an executor
(:mod:`connector.executor`); the Celery executor sends it as the task's payload, as it is. A new
option is a new field here, and every surface has it: the CLI's run flags are made from
:data:`OPTIONS` (:func:`connector.cli.common.run_flags`), the HTTP API's body is a request, the
Python API's keywords are its fields. :data:`SURFACES` says, for each surface, where an option does
not apply and why; the README's table of surfaces and options is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connector.connections import SANDBOX
from connector.errors import BadInput


class RunRequest(BaseModel):
    """What to run, where and how (see the module docstring); plain JSON once dumped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    input: dict[str, Any] = Field(default_factory=dict)
    connection: str | None = None
    """A name from the connections file (the executor's), or ``sandbox``."""
    connections: dict[str, str] = Field(default_factory=dict)
    """A connection name per vendor (``--connection VENDOR=NAME``): the run's when ``connection`` is
    not given (for the run's vendor), and a playbook's for its steps that name none."""
    vendor: str | None = None
    """Which vendor: with a sandbox; it must match the connection's otherwise."""
    sandbox: bool | str = False
    """True: the embedded simulators for this run; text: the base URL of a running ``connector sandbox``."""
    dry_run: bool = False
    """Mutating actions: plan the requests, send none."""
    strict: bool = False
    """Fail at the first record the vendor sent that cannot be mapped (else skip and report it)."""
    format: str | None = None
    """The output format (:mod:`connector.formats`): how records are written, and shaped (ocsf).
    None: json, except ndjson for an output file and a watch."""
    resume: dict[str, Any] | None = None
    """Where a failed paged read goes on from (its ``meta.resume``); the same as ``input.resume``."""
    output_file: str | None = None
    """Write the records there in ``format`` as they are read; the envelope keeps the rest."""
    run_id: str | None = None
    """Names the run in its events and meta (default: a fresh one; one given must be unique among runs at once)."""

    @property
    def format_name(self) -> str:
        """The format to write in: the one asked for, else json (ndjson for an output file)."""
        return self.format or ("ndjson" if self.output_file else "json")

    def checked(self) -> RunRequest:
        """The request with ``resume`` moved into the input; BadInput when options contradict each other."""
        if self.sandbox and (self.connection not in (None, SANDBOX) or self.connections):
            raise BadInput("connection and sandbox: give only one of them (each says where to run)")
        if self.resume is None:
            return self
        if "resume" in self.input:
            raise BadInput("resume and input.resume: give only one of them")
        return self.model_copy(update={"input": {**self.input, "resume": self.resume}, "resume": None})

    def payload(self) -> dict[str, Any]:
        """The request as plain JSON data (the Celery task's payload)."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def from_payload(cls, data: Any, where: str = "request") -> RunRequest:
        """A request from plain data (a task's payload, an HTTP body); BadInput naming the first field that is wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or "(the whole request)"
            raise BadInput(f"{where}.{field}: {error['msg'].lower()}") from None


@dataclass(frozen=True)
class RunOption:
    """One option of a run request as people give it: the field, its command-line flag, its help."""

    name: str
    flag: str
    help: str


OPTIONS = (
    RunOption("connection", "--connection", "Connection name from the connections file, or 'sandbox'; or "
              "VENDOR=NAME, repeated: a connection per vendor (a playbook's steps that name none)."),
    RunOption("vendor", "--vendor", "Which vendor (with a sandbox; must match the connection otherwise)."),
    RunOption("sandbox", "--sandbox / --sandbox-url", "The embedded vendor simulators, or a running "
              "`connector sandbox` at URL."),
    RunOption("dry_run", "--dry-run", "Mutating actions: show the requests, send none."),
    RunOption("strict", "--strict", "Fail at the first record the vendor sent that cannot be mapped "
              "(default: skip it, report it, exit 3)."),
    RunOption("format", "--format", "How records are written: json (default; ndjson with --output-file and in a "
              "watch), ndjson, table, csv, ocsf, and plugins' formats."),
    RunOption("resume", "--resume", "Go on with a failed read from its meta.resume (JSON)."),
    RunOption("output_file", "--output-file", "Write the records to PATH in --format as they are read."),
)
"""The options every surface takes where they apply, in the order of ``--help``."""

SURFACES: dict[str, dict[str, str]] = {
    "connector run": {},
    "connector submit (worker)": {},
    "connector watch": {
        "dry_run": "the watched actions only read",
        "resume": "the checkpoint says where each poll starts",
    },
    "connector playbook run": {
        "vendor": "each step names its vendor",
        "resume": "a step's input may hold its own resume",
        "output_file": "a playbook's result is written whole",
    },
    "playbook step": {
        "sandbox": "the playbook run's (--sandbox) applies to every step",
        "dry_run": "the playbook run's (--dry-run) applies to every step",
        "format": "a step's output feeds expressions as common records",
        "resume": "a step's input holds its own resume (input.resume)",
        "output_file": "a step's records are kept for the steps after it",
    },
    "connector serve": {
        "sandbox": "connection 'sandbox' runs on the server's own sandbox (serve --sandbox)",
        "output_file": "a path on the server's disk is not the caller's to choose",
    },
    "Python API": {},
    "Shuffle app": {
        "connection": "the app's authentication is the connection",
        "sandbox": "the app's authentication says where to run",
        "strict": "a workflow branches on the envelope's errors; the generated app takes no strict parameter",
        "format": "Shuffle takes the envelope as JSON",
        "output_file": "the envelope is the result",
    },
    "Cortex analyzers and responders": {
        "connection": "the configuration items are the connection",
        "vendor": "fixed by the flavor",
        "sandbox": "the configuration items say where to run",
        "dry_run": "an analyzer only reads; a responder acts when the analyst runs it",
        "strict": "a report lists the records that could not be mapped among its errors",
        "format": "Cortex takes a report",
        "resume": "a report is made of one whole read",
        "output_file": "the report is the result",
    },
}
"""Surface -> the options that do not apply there, and why; every other option of :data:`OPTIONS` does."""


def options_table() -> str:
    """The Markdown table of surfaces and options (the README's), made from :data:`SURFACES`."""
    names = [option.name for option in OPTIONS]
    lines = ["| surface | " + " | ".join(f"`{name}`" for name in names) + " |",
             "|---|" + "---|" * len(names)]
    for surface, skipped in SURFACES.items():
        cells = ["—" if name in skipped else "yes" for name in names]
        lines.append(f"| {surface} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
