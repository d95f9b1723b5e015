"""The runner: from an action name and input to an envelope.

validate input -> pick the connection and vendor -> the vendor binding (through the HTTP layer)
-> validate output -> envelope. Every failure becomes an envelope with status ``failed`` and one
error line; nothing raises out of :func:`arun_action` but programming errors.

Each run has a ``run_id`` that every lifecycle event of it carries; the envelope's counts are the
built-in counters plugin's count of those events (:mod:`connector.events.counters`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from connector.actions import ActionSpec
from connector.connections import SANDBOX, Connection, find_connection, sandbox_connection
from connector.envelope import Envelope, ErrorItem, Meta
from connector.errors import BadInput, BadVendorAnswer, ConnectorError
from connector.events import counters
from connector.http import Sleep, VendorClient
from connector.plugins import Host, default_host
from connector.redaction import redactor
from connector.sandbox import VENDORS, SandboxConfig, running_sandbox
from connector.sync import run_sync


async def arun_action(
    action: str,
    input: dict[str, Any] | None = None,
    *,
    connection: str | Connection | None = None,
    vendor: str | None = None,
    sandbox: bool | str = False,
    dry_run: bool = False,
    config: Path | None = None,
    host: Host | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    run_id: str | None = None,
) -> Envelope:
    """Run one action and return its envelope.

    ``sandbox`` is True to start the embedded simulators for this call, or the base URL of a
    sandbox already running. ``connection`` is a name from the connections file (``config``),
    ``"sandbox"``, or a :class:`Connection`. ``run_id`` names the run in its events and meta
    (default: a fresh random one; one given must be unique among the runs going at once).
    """
    host = host or default_host()
    run_id = run_id or new_run_id()
    started = time.perf_counter()
    envelope = Envelope(action=action, vendor=vendor, status="failed", meta=Meta(dry_run=dry_run, run_id=run_id))
    try:
        spec = host.action(action)
        if vendor is not None:
            host.vendor(vendor)
        envelope.action = spec.name
        document = {} if input is None else input
        host.schemas.validate(spec.input, document, "input")
        if connection == SANDBOX and not sandbox:
            sandbox = True
        wanted = connection.vendor if isinstance(connection, Connection) else vendor or next(iter(spec.vendors))
        with _sandbox_url(sandbox, wanted) as sandbox_url:
            target = _connection(host, spec, connection, vendor, sandbox_url, config)
            envelope.vendor, envelope.connection = target.vendor, target.name
            await _run(host, spec, target, document, envelope, run_id, dry_run, transport, sleep)
    except ConnectorError as exc:
        envelope.status = "failed"
        envelope.errors.append(ErrorItem(type=exc.kind, message=redactor.redact(exc.message)))
    finally:
        # Taken even when a programming error escapes, so the counters plugin forgets the run.
        counts = counters.take(run_id)
    duration_ms = round((time.perf_counter() - started) * 1000)
    envelope.meta = envelope.meta.model_copy(update={"duration_ms": duration_ms, **counts.as_dict()})
    if envelope.status == "failed":
        host.hook.action_failed(run_id=run_id, envelope=envelope)
    else:
        host.hook.action_finished(run_id=run_id, envelope=envelope)
    return envelope


def new_run_id() -> str:
    """A fresh run id: 12 random hex digits, short enough to read in a log line."""
    return secrets.token_hex(6)


def run_action(action: str, input: dict[str, Any] | None = None, **options: Any) -> Envelope:
    """Synchronous :func:`arun_action`, for callers without an event loop (a SOAR's Python step)."""
    return run_sync(arun_action(action, input, **options))


async def _run(
    host: Host,
    spec: ActionSpec,
    target: Connection,
    document: dict[str, Any],
    envelope: Envelope,
    run_id: str,
    dry_run: bool,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Sleep,
) -> None:
    vendor = host.vendor(target.vendor)
    binding = vendor.bindings[spec.name]
    filters_schema = spec.vendors[vendor.name].vendor_filters
    if filters_schema and "vendor_filters" in document:
        host.schemas.validate(filters_schema, document["vendor_filters"], "input.vendor_filters")
    # The client reads the connection's secret, which registers it with the redactor: done before
    # action_started, so a plugin redacting the input (the audit log) already knows the secret.
    client = VendorClient(
        connection=target,
        vendor=vendor,
        events=host.hook,
        transport=transport,
        sleep=sleep,
        dry_run=dry_run,
        action=spec.name,
        run_id=run_id,
    )
    async with client:
        host.hook.action_started(
            run_id=run_id, action=spec.name, vendor=vendor.name, connection=target.name, input=document
        )
        try:
            output = await binding(client, document)
        finally:
            envelope.meta = Meta(dry_run=dry_run, run_id=run_id, **client.meta)
    if dry_run and spec.mutates:
        output = {**output, "planned_requests": [request.as_dict() for request in client.planned]}
    else:
        _check_output(host, spec, output)
    envelope.output = output
    envelope.errors.extend(client.item_errors)
    if client.nothing_succeeded:
        envelope.status = "failed"
    else:
        envelope.status = "partial" if client.item_errors else "success"


SAMPLED_LIST_LENGTH = 2
"""Lists longer than this are validated on their first and last record only (see _check_output)."""


def _check_output(host: Host, spec: ActionSpec, output: dict[str, Any]) -> None:
    # Records in long lists were each built by a pydantic model whose JSON Schema is the generated
    # file they are checked against (a test keeps the two identical), so validating every one
    # again costs seconds per thousand records for nothing; the first and last stand for the
    # list, and everything else of the output is validated in full.
    sampled = {
        key: [value[0], value[-1]] if isinstance(value, list) and len(value) > SAMPLED_LIST_LENGTH else value
        for key, value in output.items()
    }
    try:
        host.schemas.validate(spec.output, sampled, "output")
    except BadInput as exc:
        # The mapper produced something its own schema refuses: the vendor's answer was odd.
        raise BadVendorAnswer(f"{spec.name}: the vendor's answer did not map to valid output: {exc.message}") from None


def _connection(
    host: Host,
    spec: ActionSpec,
    connection: str | Connection | None,
    vendor: str | None,
    sandbox_url: str | None,
    config: Path | None,
) -> Connection:
    if isinstance(connection, Connection):
        target = connection
    elif sandbox_url is not None:
        chosen = vendor or next(iter(spec.vendors))
        target = sandbox_connection(chosen, sandbox_url, SandboxConfig().token)
    elif connection:
        target = find_connection(connection, config)
    else:
        raise BadInput("no connection: give --connection NAME or --sandbox")
    if vendor is not None and vendor != target.vendor:
        raise BadInput(f"vendor {vendor!r} does not match connection {target.name!r} (vendor {target.vendor!r})")
    if target.vendor not in spec.vendors:
        host.vendor(target.vendor)  # an unknown vendor is said as such, not as a missing binding
        raise BadInput(
            f"action {spec.name} has no binding for vendor {target.vendor!r} (bound: {', '.join(spec.vendors)})"
        )
    return target


@contextmanager
def _sandbox_url(sandbox: bool | str, vendor: str) -> Iterator[str | None]:
    if isinstance(sandbox, str):
        yield sandbox
    elif sandbox:
        # Only the simulator this action talks to: seeding the others would only cost time.
        with running_sandbox(SandboxConfig(vendors=(vendor,) if vendor in VENDORS else VENDORS)) as url:
            yield url
    else:
        yield None
