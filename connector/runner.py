"""The runner: from a run request to records and an envelope.

validate input -> pick the connection and vendor -> the vendor binding, given a run context over
the HTTP layer -> records as they are mapped -> envelope. Every failure becomes an envelope with
status ``failed`` and one error line (:meth:`Envelope.failed`, through the boundary guard
:func:`~connector.errors.as_connector_error`); nothing raises out of a run.

Actions whose file names a ``records`` key (get_threats, list_events...) have bindings that yield
their records one at a time: a :class:`RecordStream` hands each out as soon as it is mapped and
gives the envelope at the end, so memory stays flat however many records a read returns. Records
that cannot be mapped are skipped and reported (``partial``, see :meth:`RunContext.map_record`);
a page that fails after its retries ends the run ``failed`` with the records before it already
handed out, and ``meta.resume`` saying where to go on from. The runner never knows the output
format: surfaces write the records (:mod:`connector.execute`).
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import aclosing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from connector.actions import ActionSpec, aliased_input
from connector.connections import SANDBOX, SANDBOX_TOKEN, Connection, find_connection, sandbox_connection
from connector.context import RunContext
from connector.deprecations import warn_deprecated
from connector.envelope import Envelope, Meta
from connector.errors import BadInput, BadVendorAnswer, ConnectorError, as_connector_error
from connector.http import Sleep, VendorClient
from connector.plugins import Host
from connector.request import RunRequest
from connector.times import resolved_times

if TYPE_CHECKING:
    from connector.pool import ClientPool

TURN_EVERY = 100
"""Records handed out between two turns given to the event loop (see _streamed); bindings that map
in batches make them this long at most."""

SAMPLED_LIST_LENGTH = 2
"""Lists longer than this are validated on their first and last record only (see _check_output)."""


class Place(Protocol):
    """What a run needs beside its request (the in-process executor is one): plugins, connections, transport."""

    @property
    def host(self) -> Host:
        """The plugin host."""

    @property
    def config(self) -> Path | None:
        """The connections file (None: ``$CONNECTOR_CONFIG``, else the user's config folder)."""

    @property
    def connections(self) -> Mapping[str, Connection]:
        """Connections held in memory (a SOAR platform's credentials), found by name before the file."""

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        """An httpx transport to send through (tests: an in-process simulator)."""

    @property
    def sleep(self) -> Sleep:
        """How retries wait (tests: a recording no-op)."""

    @property
    def pool(self) -> ClientPool | None:
        """HTTP clients kept between runs (a server's), or None: each run opens and closes its own."""


class Stream:
    """One run of an action, records first (an executor's answer; :class:`RecordStream` here).

    ``async for record in stream`` gives the records (none for an action without a ``records``
    key), and :meth:`batches` the same records in lists, each what came at once; once they are all
    read, :attr:`envelope` is the run's envelope, whose output holds everything but the records
    (their list is empty; ``records_key`` names it).
    """

    def __init__(self, action: str, records: AsyncGenerator[dict[str, Any], None]) -> None:
        self.records_key: str | None = None
        self.envelope_so_far = Envelope(action=action, status="failed")
        """The envelope as it stands while records come (which vendor and connection answer)."""
        self._envelope: Envelope | None = None
        self._records = records

    def __aiter__(self) -> AsyncGenerator[dict[str, Any], None]:
        return self._records

    def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """The records in lists, each what came at once (here one by one); read either these or the records."""
        return _one_by_one(self._records)

    @property
    def envelope(self) -> Envelope:
        """The run's envelope, once every record was read."""
        if self._envelope is None:
            raise RuntimeError("the envelope is known once every record of the stream was read")
        return self._envelope

    async def aclose(self) -> None:
        """Stop the run early: its requests are cancelled and its connections closed."""
        await self._records.aclose()


async def _one_by_one(records: AsyncIterator[dict[str, Any]]) -> AsyncGenerator[list[dict[str, Any]], None]:
    async for record in records:
        yield [record]


async def _flattened(batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncGenerator[dict[str, Any], None]:
    async for batch in batches:
        for record in batch:
            yield record


class RecordStream(Stream):
    """A run in this process: the records as they are mapped, then the envelope.

    A binding may yield a list of records (a batch: what it mapped at once) where it would
    yield them one by one; they are counted and announced one by one all the same, and
    :meth:`batches` hands them out together, so a writer writes them at once.
    """

    def __init__(self, request: RunRequest, place: Place) -> None:
        self._batched = self._run(request, place)
        super().__init__(request.action, _flattened(self._batched))

    def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """The records in lists, each what the binding mapped at once."""
        return self._batched

    async def aclose(self) -> None:
        """Stop the run early: its requests are cancelled and its connections closed."""
        await self._records.aclose()
        await self._batched.aclose()

    async def _run(self, request: RunRequest, place: Place) -> AsyncGenerator[list[dict[str, Any]], None]:
        host = place.host
        run_id = request.run_id or new_run_id()
        started = time.perf_counter()
        envelope = Envelope(action=request.action, vendor=request.vendor, status="failed",
                            meta=Meta(dry_run=request.dry_run, run_id=run_id))
        self.envelope_so_far = envelope
        context: RunContext | None = None
        try:
            request = request.checked()
            spec = host.action(request.action)
            envelope.action, self.records_key = spec.name, spec.records
            _read_secret(spec, request, place)
            document = _valid_input(host, spec, request)
            with _sandbox_url(request, spec) as sandbox_url:
                target = _connection(host, spec, request, sandbox_url, place)
                envelope.vendor, envelope.connection = target.vendor, target.name
                http = VendorClient(connection=target, vendor=host.vendor(target.vendor), events=host.hook,
                                    transport=place.transport, sleep=place.sleep, run_id=run_id, pool=place.pool)
                context = RunContext(http, action=spec.name, dry_run=request.dry_run, strict=request.strict,
                                     resume_from=document.get("resume") if spec.records else None)
                async with aclosing(_records(host, spec, context, document, envelope)) as batches:
                    async for batch in batches:
                        yield batch
        except Exception as error:  # the boundary guard: a bug is a failed envelope with one line
            envelope.fail(as_connector_error(error))
        finally:
            meta = context.envelope_meta() if context is not None else envelope.meta
            duration_ms = round((time.perf_counter() - started) * 1000)
            envelope.meta = meta.model_copy(update={"duration_ms": duration_ms})
        if envelope.status == "failed":
            host.hook.action_failed(run_id=run_id, envelope=envelope)
        else:
            host.hook.action_finished(run_id=run_id, envelope=envelope)
        self._envelope = envelope


def new_run_id() -> str:
    """A fresh run id: 12 random hex digits, short enough to read in a log line."""
    return secrets.token_hex(6)


def _read_secret(spec: ActionSpec, request: RunRequest, place: Place) -> None:
    """Read the named connection's secret before the input is checked, so that the redactor masks
    it in an input error that quotes it (a token pasted as a value). A connection that cannot be read
    is said where the run resolves it, after the input: here it is passed over."""
    name = request.connection or request.connections.get(request.vendor or next(iter(spec.vendors)))
    if request.sandbox or name in (None, SANDBOX) or name in place.connections:
        return
    with suppress(ConnectorError):
        find_connection(name, place.config).token()


def _valid_input(host: Host, spec: ActionSpec, request: RunRequest) -> dict[str, Any]:
    if request.vendor is not None:
        host.vendor(request.vendor)
    # An input named the old way (threat_id for id) runs, with one deprecation line.
    document: dict[str, Any]
    document, deprecated = aliased_input(spec, request.input)
    warn_deprecated(deprecated)
    document = resolved_times(document, host.schemas.get(spec.input), host.schemas.resolver(spec.input), "input")
    filters = document.get("vendor_filters")
    # The vendor is known from the connection only later: a filter that takes a time for any
    # vendor the run may use (the one asked for, else every bound one) takes a relative time.
    for vendor in [request.vendor] if request.vendor in spec.vendors else list(spec.vendors):
        schema = spec.vendors[vendor].vendor_filters
        if schema and isinstance(filters, dict):
            filters = resolved_times(filters, host.schemas.get(schema), host.schemas.resolver(schema),
                                     "input.vendor_filters")
            document["vendor_filters"] = filters
    host.schemas.validate(spec.input, document, "input")
    return document


async def _records(
    host: Host, spec: ActionSpec, context: RunContext, document: dict[str, Any], envelope: Envelope
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Run the binding: its records in batches, then the envelope's output, status and errors."""
    binding = context.vendor.bindings[spec.name]
    filters_schema = spec.vendors[context.vendor.name].vendor_filters
    if filters_schema and "vendor_filters" in document:
        host.schemas.validate(filters_schema, document["vendor_filters"], "input.vendor_filters")
    # The client read the connection's secret, which registered it with the redactor: before
    # action_started, so a plugin redacting the input (the audit log) already knows the secret.
    async with context.http:
        host.hook.action_started(run_id=context.run_id, action=spec.name, vendor=context.vendor.name,
                                 connection=context.connection.name, input=document)
        first: list[dict[str, Any]] = []
        try:
            result = binding(context, document)
            if inspect.isawaitable(result):
                output = await result
                if spec.records is not None:
                    # A binding that returns its whole output (a third-party plugin's list action
                    # written that way): its records are handed out after it.
                    records, output[spec.records] = output.get(spec.records) or [], []
                    if records:
                        first = [records[0]]
                        yield list(records)
            else:
                assert spec.records is not None, f"{spec.name}: a binding yields records only for a records action"
                async with aclosing(_streamed(context, result, first)) as batches:
                    async for batch in batches:
                        yield batch
                output = {spec.records: [], "count": context.emitted, **context.fields}
        except ConnectorError:
            if spec.records is not None and context.emitted:
                # What was handed out stays handed out: the envelope says how far the read went.
                envelope.output = {spec.records: [], "count": context.emitted, **context.fields}
            raise
    _finish(host, spec, context, output, first[0] if first else None, envelope)


async def _streamed(
    context: RunContext, records: AsyncGenerator[Any, None], first: list[dict[str, Any]]
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """The records a binding yields (one by one, or in lists), each counted and announced, in batches
    (``first`` keeps the first, for the output check)."""
    async with aclosing(records):
        async for item in records:
            batch: list[dict[str, Any]] = item if isinstance(item, list) else [item]
            if not batch:
                continue
            before = context.emitted
            context.emit_all(batch)
            if not first:
                first.append(batch[0])
            elif before // TURN_EVERY != context.emitted // TURN_EVERY:
                # Mapping never waits, so without a turn the next page's request, asked for ahead,
                # would not even go out before this page is done (and other runs on this loop would stall).
                await asyncio.sleep(0)
            yield batch


def _finish(
    host: Host, spec: ActionSpec, context: RunContext, output: dict[str, Any], first: dict[str, Any] | None,
    envelope: Envelope,
) -> None:
    """The envelope's output, errors and status once the binding is done."""
    if context.dry_run and spec.mutates:
        output = {**output, "planned_requests": [request.as_dict() for request in context.planned]}
    else:
        _check_output(host, spec, output, first)
    envelope.output = output
    envelope.errors.extend(context.item_errors)
    if context.nothing_succeeded:
        envelope.status = "failed"
    else:
        envelope.status = "partial" if context.item_errors else "success"


def _check_output(host: Host, spec: ActionSpec, output: dict[str, Any], first: dict[str, Any] | None) -> None:
    # Records are built valid by construction (the mappers' tests check every one in full against
    # the generated schema), so validating each again would cost more than mapping it: a streamed
    # list is checked on its first record, other long lists on their first and last, and
    # everything else of the output in full.
    sampled = {
        key: [value[0], value[-1]] if isinstance(value, list) and len(value) > SAMPLED_LIST_LENGTH else value
        for key, value in output.items()
    }
    if spec.records is not None and first is not None:
        sampled[spec.records] = [first]
    try:
        host.schemas.validate(spec.output, sampled, "output")
    except BadInput as exc:
        # The mapper produced something its own schema refuses: the vendor's answer was odd.
        raise BadVendorAnswer(f"{spec.name}: the vendor's answer did not map to valid output: {exc.message}") from None


def _connection(
    host: Host, spec: ActionSpec, request: RunRequest, sandbox_url: str | None, place: Place
) -> Connection:
    vendor = request.vendor
    name = request.connection or request.connections.get(vendor or next(iter(spec.vendors)))
    if name is not None and name in place.connections:
        target = place.connections[name]
    elif sandbox_url is not None:
        target = sandbox_connection(vendor or next(iter(spec.vendors)), sandbox_url, SANDBOX_TOKEN)
    elif name:
        target = find_connection(name, place.config)
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
def _sandbox_url(request: RunRequest, spec: ActionSpec) -> Iterator[str | None]:
    sandbox = True if request.connection == SANDBOX and not request.sandbox else request.sandbox
    if isinstance(sandbox, str):
        yield sandbox
    elif sandbox:
        # Imported only here: a run against a vendor (or a sandbox URL) needs no simulator code.
        from connector.sandbox import VENDORS, SandboxConfig, running_sandbox

        vendor = request.vendor or next(iter(spec.vendors))
        if vendor not in VENDORS:  # a plugin's vendor: the sandbox would only answer 404
            raise BadInput(f"sandbox: vendor {vendor!r} has no simulator (simulated: {', '.join(VENDORS)}); "
                           "use --connection")
        # Only the simulator this action talks to: seeding the others would only cost time.
        with running_sandbox(SandboxConfig(vendors=(vendor,))) as url:
            yield url
    else:
        yield None
