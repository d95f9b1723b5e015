"""What a playbook run returns, and how it is printed: json, ndjson or a table.

json is one document ``{playbook, status, steps: [{id, status, envelopes, ...}], outputs, summary}``;
ndjson is one line per envelope (tagged with its ``step``), one per skipped or not-run step, then a
last line with the playbook's status, outputs and summary; table is for people.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table

from connector.envelope import EXIT_FAILED, EXIT_PARTIAL, EXIT_SUCCESS, Envelope
from connector.output import console as colour_console
from connector.output import records_of, to_json

StepStatus = Literal["success", "partial", "failed", "skipped", "not_run"]
RunStatus = Literal["success", "partial", "failed"]
MAX_CELL = 70


class StepReport(BaseModel):
    """One step of a run: how it ended, and the envelope of each run (one, or one per for_each item)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    action: str
    vendor: str | None = None
    connection: str | None = None
    status: StepStatus
    for_each: bool = False
    envelopes: list[Envelope] = Field(default_factory=list)

    @property
    def output(self) -> dict[str, Any]:
        """What later steps see as ``steps.<id>.output``: the output, or ``{"items": [...]}`` for for_each."""
        if self.for_each:
            return {"items": [envelope.output for envelope in self.envelopes]}
        return self.envelopes[0].output if self.envelopes else {}


class Summary(BaseModel):
    """What the run did and cost: steps per status, actions run, requests sent, time taken."""

    model_config = ConfigDict(extra="forbid")
    steps: dict[str, int]
    runs: int
    requests: int
    duration_ms: int


class PlaybookResult(BaseModel):
    """The result of a playbook run."""

    model_config = ConfigDict(extra="forbid")
    playbook: str
    status: RunStatus
    steps: list[StepReport]
    outputs: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list, description="outputs that could not be evaluated")
    summary: Summary

    @property
    def exit_code(self) -> int:
        """0 all steps succeeded (or were skipped), 3 some partial or continued failure, 1 stopped."""
        return {"success": EXIT_SUCCESS, "partial": EXIT_PARTIAL, "failed": EXIT_FAILED}[self.status]

    def step(self, step_id: str) -> StepReport:
        """The report of step ``step_id``."""
        return next(step for step in self.steps if step.id == step_id)


def write_result(result: PlaybookResult, fmt: str, stream: TextIO) -> None:
    """Write ``result`` to ``stream`` in format ``fmt`` (json, ndjson or table)."""
    if fmt == "json":
        stream.write(to_json(result) + "\n")
    elif fmt == "ndjson":
        for step in result.steps:
            for envelope in step.envelopes:
                line = {"step": step.id, **envelope.model_dump(mode="json")}
                stream.write(to_json(line, pretty=False) + "\n")
            if not step.envelopes:
                bare = {"step": step.id, "action": step.action, "status": step.status}
                stream.write(to_json(bare, pretty=False) + "\n")
        last = result.model_dump(mode="json", include={"playbook", "status", "outputs", "errors", "summary"})
        stream.write(to_json(last, pretty=False) + "\n")
    else:
        write_table(result, stream)


def write_table(result: PlaybookResult, stream: TextIO) -> None:
    """A table of the steps (status, runs, what they did), then one of the outputs."""
    console = colour_console(stream)
    title = f"playbook {result.playbook}: {result.status}"
    table = Table("step", "action", "vendor", "status", "runs", "result", title=title)
    for step in result.steps:
        runs = f"{len(step.envelopes)} items" if step.for_each else str(len(step.envelopes))
        if step.status in ("skipped", "not_run"):
            runs = ""
        table.add_row(step.id, step.action, step.vendor or "", step.status, runs, _clip(describe_step(step)))
    console.print(table)
    if result.outputs:
        outputs = Table("output", "value")
        for name, value in result.outputs.items():
            outputs.add_row(name, _clip(_shown(value)))
        console.print(outputs)


def describe_step(step: StepReport) -> str:
    """A few words on what a step did: records read, incidents created or found, ids changed, failures."""
    if step.status == "skipped":
        return "skipped: its when condition was false"
    if step.status == "not_run":
        return "not run: an earlier step failed"
    done = [envelope for envelope in step.envelopes if envelope.status != "failed"]
    tally = Counter[str]()
    for envelope in done:
        _tally(envelope, tally)
    words = [", ".join(f"{count} {what}" for what, count in tally.items())] if tally else []
    failures = [envelope for envelope in step.envelopes if envelope.status == "failed"]
    if failures:
        first = failures[0].errors[0].message if failures[0].errors else "failed"
        words.append(f"{len(failures)} failed: {first}")
    if not step.envelopes:
        words.append("nothing to do (no items)")
    return "; ".join(words)


def error_lines(result: PlaybookResult) -> list[str]:
    """One line per error of every envelope, prefixed with its step, then the outputs' errors."""
    lines = []
    for step in result.steps:
        for envelope in step.envelopes:
            for error in envelope.errors:
                text = f"{error.item}: {error.message}" if error.item else error.message
                lines.append(f"step {step.id}: {text}")
    return lines + result.errors


def summary_line(result: PlaybookResult) -> str:
    """One line for stderr: the playbook, how it ended, steps per status and what it cost."""
    summary = result.summary
    counts = ", ".join(f"{count} {status}" for status, count in summary.steps.items())
    return (
        f"playbook {result.playbook}: {result.status}; {len(result.steps)} steps ({counts}), "
        f"{summary.runs} actions, {summary.requests} requests, {summary.duration_ms} ms"
    )


def _tally(envelope: Envelope, tally: Counter[str]) -> None:
    """Count what one run did, in the most telling terms its output offers."""
    output = envelope.output
    planned = output.get("planned_requests")
    summary = output.get("summary")
    found = records_of(output)
    if envelope.meta.dry_run and isinstance(planned, list):
        tally["requests planned (dry run)"] += len(planned)
    elif isinstance(output.get("existed"), bool):
        tally["existed" if output["existed"] else "created"] += 1
    elif isinstance(summary, dict) and "total_successful" in summary:
        tally["succeeded"] += summary["total_successful"]
        tally["failed"] += summary.get("total_failed", 0)
    elif found is not None:
        tally[found[0]] += len(found[1])


def _shown(value: Any) -> str:
    """A list as its length and items (``3: a, b, c``), anything else as compact JSON."""
    if isinstance(value, list) and value:
        items = ", ".join(item if isinstance(item, str) else to_json(item, pretty=False) for item in value)
        return f"{len(value)}: {items}"
    return "none" if value == [] else to_json(value, pretty=False)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
