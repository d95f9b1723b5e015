"""Running a playbook: check it, then its steps in file order, each through the action runner.

A step's ``when`` is evaluated first (falsy: the step is skipped); a ``for_each`` step runs once
per item, at most ``concurrency`` at a time, its envelopes kept in the items' order. A step fails
when its only run failed, or when every one of its items failed; some failed items make it
partial. A failed step with ``on_error: stop`` ends the run: the steps after it are reported as
not run, and what ran is still reported.

With ``sandbox`` (True, or the URL of a sandbox already serving) every step runs against one
sandbox for the whole run, so what a step creates is there for the next one; a step whose
connection is ``sandbox`` uses that same sandbox even without it.

Every run goes to the ``executor`` it is given (:mod:`connector.executor`): in this process, or
the Celery workers (:mod:`connector.jobs.executor`), a for_each step as one group spread over them;
the expressions, the reports and the exit codes are this module's either way.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from connector.catalog import canonical_name
from connector.envelope import Envelope
from connector.errors import BadInput, ConnectorError, as_connector_error, guarded
from connector.execute import deliver
from connector.executor import Executor, InProcess
from connector.playbook.check import Target, load_checked
from connector.playbook.expressions import Expression, render, truthy
from connector.playbook.model import DEFAULT_CONCURRENCY, CompiledStep
from connector.playbook.report import PlaybookResult, RunStatus, StepReport, Summary
from connector.playbook.shapes import json_type
from connector.plugins import Host, default_host
from connector.request import RunRequest
from connector.sandbox import SandboxConfig, running_sandbox
from connector.schemas import INLINE_URI, SchemaStore, describe_error
from connector.sync import run_sync

PlaybookSource = str | Path | Mapping[str, Any]


@guarded
async def arun_playbook(
    playbook: PlaybookSource,
    inputs: Mapping[str, Any] | None = None,
    *,
    sandbox: bool | str = False,
    dry_run: bool = False,
    strict: bool = False,
    config: Path | None = None,
    concurrency: int | None = None,
    host: Host | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    executor: Executor | None = None,
    connections: Mapping[str, str] | None = None,
) -> PlaybookResult:
    """Check and run a playbook (a file path or a mapping); raises :class:`PlaybookInvalid` on check errors.

    ``sandbox`` is True to start one sandbox for the run, or the URL of one already serving.
    ``strict`` makes every step strict (the first record that cannot be mapped fails it).
    ``connections`` names a connection per vendor (``{"sentinelone": "s1"}``) for the steps that
    name none.
    ``dry_run`` sends no writes: mutating steps report the requests they would send. ``concurrency``
    bounds the for_each items run at once for steps that do not set their own (default 4).
    ``executor`` runs the steps (default: in this process, with ``config``, ``host`` and
    ``transport``); on the workers connections are theirs, resolved by name, and a for_each
    step's items are bounded by the workers' concurrency.
    """
    host = host or (executor.host if executor is not None else default_host())
    executor = executor or InProcess(host=host, config=config, transport=transport)
    # In a thread: a large playbook's check never holds the event loop (a server's other requests).
    compiled, targets = await asyncio.to_thread(
        load_checked, playbook, host, config=config, sandbox=bool(sandbox), by_vendor=connections
    )
    book = compiled.playbook
    values = resolve_inputs(book.inputs, inputs, host.schemas)
    started = time.perf_counter()
    sandboxed = sorted({str(target.vendor) for target in targets if target.connection is None})
    with _shared_sandbox(sandbox, sandboxed) as sandbox_url:
        limit = concurrency or DEFAULT_CONCURRENCY
        engine = _Engine(executor, values, sandbox_url, dry_run, limit, strict)
        reports, stopped = await engine.run_steps(list(zip(compiled.steps, targets, strict=True)))
    outputs, errors = engine.outputs(compiled.outputs)
    troubled = errors or any(report.status in ("partial", "failed") for report in reports)
    status: RunStatus = "failed" if stopped else "partial" if troubled else "success"
    envelopes = [envelope for report in reports for envelope in report.envelopes]
    summary = Summary(
        steps=dict(Counter(report.status for report in reports)),
        runs=len(envelopes),
        requests=sum(envelope.meta.requests for envelope in envelopes),
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
    return PlaybookResult(
        playbook=book.name, status=status, steps=reports, outputs=outputs, errors=errors, summary=summary
    )


def run_playbook(
    playbook: PlaybookSource, inputs: Mapping[str, Any] | None = None, **options: Any,
) -> PlaybookResult:
    """Synchronous :func:`arun_playbook`, for callers without an event loop."""
    return run_sync(arun_playbook(playbook, inputs, **options))


def resolve_inputs(
    schema: dict[str, Any] | None, given: Mapping[str, Any] | None, store: SchemaStore,
) -> dict[str, Any]:
    """The playbook's inputs: ``given`` plus the schema's top-level defaults, valid against the schema."""
    values = dict(given or {})
    if schema is None:
        return values
    for name, declared in (schema.get("properties") or {}).items():
        if name not in values and isinstance(declared, dict) and "default" in declared:
            values[name] = copy.deepcopy(declared["default"])
    registry = store.registry_for(INLINE_URI, schema)
    validator = Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
    error = best_match(validator.iter_errors(values))
    if error is not None:
        raise BadInput(describe_error(error, "inputs"))
    return values


class _Engine:
    """One run's state: the scope expressions see, and how to reach the vendors."""

    def __init__(
        self, executor: Executor, inputs: dict[str, Any], sandbox_url: str | None, dry_run: bool, concurrency: int,
        strict: bool,
    ) -> None:
        self.executor, self.host, self.sandbox_url, self.dry_run = executor, executor.host, sandbox_url, dry_run
        self.concurrency, self.strict = concurrency, strict
        self.steps: dict[str, dict[str, Any]] = {}
        self.scope: dict[str, Any] = {"inputs": inputs, "steps": self.steps}

    async def run_steps(self, steps: list[tuple[CompiledStep, Target]]) -> tuple[list[StepReport], bool]:
        """Every step in file order: their reports, and whether a failed step stopped the run."""
        reports: list[StepReport] = []
        stopped = False
        index = 0
        while index < len(steps):
            entry, target = steps[index]
            if stopped:
                reports.append(_report(entry, target, "not_run"))
                index += 1
                continue
            follower = steps[index + 1] if index + 1 < len(steps) else None
            # On workers each run is a task of its own: a step's records cannot stream into the next.
            if follower is not None and self.executor.streams and streams_into(entry, follower[0], self.host):
                ran = await self.streamed(entry, target, *follower)
            else:
                ran = [await self.step(entry, target)]
            reports.extend(ran)
            stopped = any(report.status == "failed" and step.step.on_error == "stop"
                          for report, (step, _) in zip(ran, steps[index:], strict=False))
            index += len(ran)
        return reports, stopped

    async def step(self, entry: CompiledStep, target: Target) -> StepReport:
        """Run one step (once, or once per for_each item) and record what later steps see of it."""
        report = _report(entry, target, "success")
        try:
            run = entry.when is None or truthy(self._evaluate("when", entry.when))
            if not run:
                report.status = "skipped"
            elif entry.for_each is None:
                report.envelopes = [await self._action(entry, target, self.scope)]
            else:
                report.envelopes = await self._for_each(entry, target)
        except Exception as exc:
            # A bug in one step fails that step, in one line, like any failed step; the run goes on
            # or stops by the step's on_error.
            report.envelopes = [self._failed(entry, target, as_connector_error(exc))]
        if report.status != "skipped":
            report.status = _combined(report.envelopes)
        self.steps[entry.step.id] = {"output": report.output, "status": report.status}
        return report

    def outputs(self, templates: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The playbook's outputs evaluated on what ran; one that fails to evaluate is null, with an error."""
        values, errors = {}, []
        for name, template in templates.items():
            try:
                values[name] = render(template, self.scope)
            except BadInput as exc:
                values[name] = None
                errors.append(f"outputs.{name}: {exc.message}")
        return values, errors

    def _evaluate(self, where: str, template: Any) -> Any:
        try:
            return render(template, self.scope)
        except BadInput as exc:
            raise BadInput(f"{where}: {exc.message}") from None

    async def streamed(
        self, source: CompiledStep, target: Target, each: CompiledStep, each_target: Target
    ) -> list[StepReport]:
        """Run ``source`` (a records action) and the for_each step ``each`` over its records as they arrive.

        Each record starts its run of ``each`` at once, at most ``concurrency`` at a time (the read
        waits while they are all busy). ``source``'s output holds its records afterwards, as any
        step's does, so the report is the same as when the steps run one after the other.
        """
        report = _report(source, target, "success")
        if source.when is not None and not truthy(self._evaluate("when", source.when)):
            return [await self.step(source, target), await self.step(each, each_target)]
        spec = self.host.action(source.step.action)
        call = self._request(source, target, self.scope)
        if isinstance(call, Envelope):
            # Reported as any step whose input does not evaluate.
            return [await self.step(source, target), await self.step(each, each_target)]
        gate = asyncio.Semaphore(each.step.concurrency or self.concurrency)
        runs: list[asyncio.Future[Envelope]] = []
        records: list[dict[str, Any]] = []

        async def one(item: dict[str, Any]) -> Envelope:
            try:
                return await self._action(each, each_target, {**self.scope, "item": item})
            finally:
                gate.release()

        stream = self.executor.stream(call)
        try:
            async for record in stream:
                records.append(record)
                await gate.acquire()
                runs.append(asyncio.ensure_future(one(record)))
            envelope = stream.envelope
        finally:
            await stream.aclose()
            done = await asyncio.gather(*runs, return_exceptions=True)
        assert spec.records is not None
        if spec.records in envelope.output:
            envelope.output[spec.records] = records
        report.envelopes, report.status = [envelope], _combined([envelope])
        self.steps[source.step.id] = {"output": report.output, "status": report.status}
        followed = _report(each, each_target, "success")
        followed.envelopes = [run for run in done if isinstance(run, Envelope)]
        followed.status = _combined(followed.envelopes)
        self.steps[each.step.id] = {"output": followed.output, "status": followed.status}
        return [report, followed]

    async def _for_each(self, entry: CompiledStep, target: Target) -> list[Envelope]:
        items = self._evaluate("for_each", entry.for_each)
        if not isinstance(items, list):
            raise BadInput(f"for_each: expected a list, got {json_type(items)}")
        calls = [self._request(entry, target, {**self.scope, "item": item}) for item in items]
        requests = [call for call in calls if isinstance(call, RunRequest)]
        ran = iter(await self.executor.run_all(requests, entry.step.concurrency or self.concurrency))
        # An input that did not evaluate is its item's failed envelope, in its place.
        return [next(ran) if isinstance(call, RunRequest) else call for call in calls]

    async def _action(self, entry: CompiledStep, target: Target, scope: Mapping[str, Any]) -> Envelope:
        call = self._request(entry, target, scope)
        if isinstance(call, Envelope):
            return call
        return await deliver(self.executor, call)

    def _request(self, entry: CompiledStep, target: Target, scope: Mapping[str, Any]) -> RunRequest | Envelope:
        """The run to make, its input evaluated in ``scope``; a failed envelope when that input cannot be."""
        try:
            document = render(entry.input, scope)
        except BadInput as exc:
            return self._failed(entry, target, BadInput(f"input: {exc.message}"))
        spec = self.host.action(entry.step.action)
        sandbox = self.sandbox_url if target.connection is None and self.sandbox_url else False
        return RunRequest(
            action=spec.name, input=document, connection=target.connection, vendor=target.vendor, sandbox=sandbox,
            dry_run=self.dry_run and spec.mutates, strict=entry.step.strict or self.strict,
        )

    def _failed(self, entry: CompiledStep, target: Target, error: ConnectorError) -> Envelope:
        """The envelope of a run that never reached the runner (its input could not be evaluated), or
        that the runner did not end with an envelope."""
        return Envelope.failed(canonical_name(entry.step.action), error, vendor=target.vendor,
                               connection=target.connection)


def streams_into(source: CompiledStep, each: CompiledStep, host: Host) -> bool:
    """Whether ``each`` is a for_each over exactly ``source``'s records (``steps.<id>.output.<records>``),
    so that it can run on each record as ``source`` reads it (``each`` with no ``when`` of its own)."""
    if source.for_each is not None or each.when is not None or not isinstance(each.for_each, Expression):
        return False
    records = host.action(source.step.action).records
    return records is not None and each.for_each.source.strip() == f"steps.{source.step.id}.output.{records}"


def _report(entry: CompiledStep, target: Target, status: Any) -> StepReport:
    return StepReport(
        id=entry.step.id, action=canonical_name(entry.step.action), vendor=target.vendor,
        connection=target.connection or "sandbox", status=status, for_each=entry.for_each is not None,
    )


def _combined(envelopes: list[Envelope]) -> RunStatus:
    statuses = {envelope.status for envelope in envelopes}
    if not statuses or statuses == {"success"}:
        return "success"
    return "failed" if statuses == {"failed"} else "partial"


@contextmanager
def _shared_sandbox(sandbox: bool | str, vendors: list[str]) -> Iterator[str | None]:
    """One sandbox for the whole run, so a step finds what an earlier one wrote; only the vendors
    the steps use are seeded, which is most of the start-up time."""
    if isinstance(sandbox, str):
        yield sandbox
    elif vendors:
        with running_sandbox(SandboxConfig(vendors=tuple(vendors))) as url:
            yield url
    else:
        yield None

