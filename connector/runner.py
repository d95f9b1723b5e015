"""The runner: from an action name and input to records and an envelope.

validate input -> pick the connection and vendor -> the vendor binding (through the HTTP layer)
-> records as they are mapped -> envelope. Every failure becomes an envelope with status
``failed`` and one error line; nothing raises out of a run but programming errors.

Actions whose file names a ``records`` key (get_threats, list_events...) have bindings that yield
their records one at a time: :func:`astream_action` hands each to the caller as soon as it is
mapped and gives the envelope at the end, so memory stays flat however many records a read
returns. :func:`arun_action` collects them into the envelope's output instead. Records that
cannot be mapped are skipped and reported (``partial``, see :meth:`VendorClient.map_record`);
a page that fails after its retries ends the run ``failed`` with the records before it already
handed out, and ``meta.resume`` saying where to go on from.

Each run has a ``run_id`` that every lifecycle event of it carries; the envelope's counts are the
built-in counters plugin's count of those events (:mod:`connector.events.counters`), and the
records the run's client emitted.
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any, TypedDict

import httpx
from typing_extensions import Unpack

from connector.actions import ActionSpec
from connector.connections import SANDBOX, SANDBOX_TOKEN, Connection, find_connection, sandbox_connection
from connector.envelope import Envelope, ErrorItem, Meta
from connector.errors import BadInput, BadVendorAnswer, ConnectorError, InternalError
from connector.events import counters
from connector.http import Sleep, VendorClient
from connector.plugins import Host, default_host
from connector.redaction import redactor
from connector.sync import run_sync


class RunOptions(TypedDict, total=False):
    """How and where an action runs; every option may be left out."""

    connection: str | Connection | None
    """A name from the connections file (``config``), ``"sandbox"``, or a :class:`Connection`."""
    vendor: str | None
    """Which vendor, with a sandbox; it must match the connection's otherwise."""
    sandbox: bool | str
    """True to start the embedded simulators for this run, or the base URL of a sandbox already running."""
    dry_run: bool
    """Mutating actions: record the requests they would send, send none."""
    strict: bool
    """Fail the run at the first record that cannot be mapped, instead of skipping and reporting it."""
    ocsf: bool
    """Give threats, events and incidents as OCSF 1.8.0 events (:mod:`connector.ocsf`)."""
    config: Path | None
    """The connections file (default: ``$CONNECTOR_CONFIG``, else the user's config folder)."""
    host: Host | None
    """The plugin host (default: the built-in and installed plugins)."""
    transport: httpx.AsyncBaseTransport | None
    """An httpx transport to send through (tests: an in-process simulator)."""
    sleep: Sleep
    """How retries wait (tests: a recording no-op)."""
    run_id: str | None
    """Names the run in its events and meta (default: a fresh random one; one given must be unique
    among the runs going at once)."""


class RecordStream:
    """One run of an action, records first.

    ``async for record in stream`` gives the records as they are mapped (none for an action
    without a ``records`` key); once they are all read, :attr:`envelope` is the run's envelope,
    whose output holds everything but the records (their list is empty; ``records_key`` names it).
    """

    def __init__(self, action: str, input: dict[str, Any] | None, options: RunOptions) -> None:
        self.records_key: str | None = None
        self.envelope_so_far = Envelope(action=action, status="failed")
        """The envelope as it stands while records come (which vendor and connection answer)."""
        self._envelope: Envelope | None = None
        self._records = self._run(action, input, options)

    def __aiter__(self) -> AsyncGenerator[dict[str, Any], None]:
        return self._records

    @property
    def envelope(self) -> Envelope:
        """The run's envelope, once every record was read."""
        if self._envelope is None:
            raise RuntimeError("the envelope is known once every record of the stream was read")
        return self._envelope

    async def aclose(self) -> None:
        """Stop the run early: its requests are cancelled and its connections closed."""
        await self._records.aclose()

    async def _run(self, action: str, input: dict[str, Any] | None, options: RunOptions) -> AsyncGenerator[
        dict[str, Any], None
    ]:
        connection, vendor, sandbox = options.get("connection"), options.get("vendor"), options.get("sandbox", False)
        dry_run, ocsf, config = options.get("dry_run", False), options.get("ocsf", False), options.get("config")
        host, run_id = options.get("host"), options.get("run_id")
        host = host or default_host()
        run_id = run_id or new_run_id()
        started = time.perf_counter()
        envelope = Envelope(action=action, vendor=vendor, status="failed", meta=Meta(dry_run=dry_run, run_id=run_id))
        self.envelope_so_far = envelope
        try:
            spec = host.action(action)
            if vendor is not None:
                host.vendor(vendor)
            envelope.action = spec.name
            self.records_key = spec.records
            document = {} if input is None else input
            host.schemas.validate(spec.input, document, "input")
            if ocsf and spec.records not in OCSF_RECORDS and not set(OCSF_RECORDS) & set(
                host.schemas.get(spec.output).get("properties", {})
            ):
                raise BadInput(f"ocsf: {spec.name} returns no threats, events or incidents to write as OCSF")
            if connection == SANDBOX and not sandbox:
                sandbox = True
            elif sandbox and connection not in (None, SANDBOX):
                raise BadInput("connection and sandbox: give only one of them (each says where to run)")
            wanted = connection.vendor if isinstance(connection, Connection) else vendor or next(iter(spec.vendors))
            with _sandbox_url(sandbox, wanted) as sandbox_url:
                target = _connection(host, spec, connection, vendor, sandbox_url, config)
                envelope.vendor, envelope.connection = target.vendor, target.name
                run = _Run(host, spec, target, document, envelope, run_id, ocsf=ocsf)
                client = VendorClient(
                    connection=target,
                    vendor=host.vendor(target.vendor),
                    events=host.hook,
                    transport=options.get("transport"),
                    sleep=options.get("sleep", asyncio.sleep),
                    dry_run=dry_run,
                    action=spec.name,
                    run_id=run_id,
                    strict=options.get("strict", False),
                    resume_from=document.get("resume") if spec.records else None,
                )
                async with aclosing(run.records(client)) as records:
                    async for record in records:
                        yield record
        except ConnectorError as exc:
            envelope.status = "failed"
            envelope.errors.append(ErrorItem(type=exc.kind, message=redactor.redact(exc.message)))
        except Exception as error:  # the Python API's guard: a bug is a failed envelope with one line
            internal = InternalError.wrapping(error)
            envelope.status = "failed"
            envelope.errors.append(ErrorItem(type=internal.kind, message=redactor.redact(internal.message)))
        finally:
            # Taken even when a programming error escapes, so the counters plugin forgets the run.
            counts = counters.take(run_id)
        duration_ms = round((time.perf_counter() - started) * 1000)
        envelope.meta = envelope.meta.model_copy(update={"duration_ms": duration_ms, **counts.as_dict()})
        if envelope.status == "failed":
            host.hook.action_failed(run_id=run_id, envelope=envelope)
        else:
            host.hook.action_finished(run_id=run_id, envelope=envelope)
        self._envelope = envelope


def astream_action(action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]) -> RecordStream:
    """Run one action, handing out its records as they are mapped; then ``stream.envelope``.

    Takes the options of :func:`arun_action`. The records are not kept: the envelope's output
    has an empty list where :func:`arun_action` puts them, and counts them in ``count``.
    """
    return RecordStream(action, input, options)


def stream_action(
    action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]
) -> SyncRecordStream:
    """Synchronous :func:`astream_action`: iterate it for the records, then read ``.envelope``.

    Not from inside a running event loop (its records are read on a loop of its own, which that
    loop's thread cannot run): there, ``async for`` over :func:`astream_action`.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return SyncRecordStream(astream_action(action, input, **options))
    raise BadInput("stream_action: called inside a running event loop; use `async for` over astream_action there")


class SyncRecordStream:
    """A :class:`RecordStream` driven from synchronous code, on an event loop of its own."""

    def __init__(self, stream: RecordStream) -> None:
        self._stream = stream
        self._loop = asyncio.new_event_loop()
        self._records = aiter(stream)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            while True:
                try:
                    yield self._loop.run_until_complete(anext(self._records))
                except StopAsyncIteration:
                    return
        finally:
            self.close()

    @property
    def records_key(self) -> str | None:
        """The output key the records belong to."""
        return self._stream.records_key

    @property
    def envelope(self) -> Envelope:
        """The run's envelope, once every record was read."""
        return self._stream.envelope

    def close(self) -> None:
        """Stop the run if it is still going, and close its event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._stream.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()


async def arun_action(action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]) -> Envelope:
    """Run one action and return its envelope, records included (options: :class:`RunOptions`)."""
    stream = astream_action(action, input, **options)
    records = [record async for record in stream]
    envelope = stream.envelope
    if stream.records_key is not None and stream.records_key in envelope.output:
        envelope.output[stream.records_key] = records
    return envelope


def new_run_id() -> str:
    """A fresh run id: 12 random hex digits, short enough to read in a log line."""
    return secrets.token_hex(6)


def run_action(action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]) -> Envelope:
    """Synchronous :func:`arun_action`, for callers without an event loop (a SOAR's Python step)."""
    return run_sync(arun_action(action, input, **options))


class _Run:
    """The part of a run that talks to the vendor: the binding, its records, the output check."""

    def __init__(
        self, host: Host, spec: ActionSpec, target: Connection, document: dict[str, Any], envelope: Envelope,
        run_id: str, *, ocsf: bool = False,
    ) -> None:
        self.host, self.spec, self.target, self.document = host, spec, target, document
        self.envelope, self.run_id, self.ocsf = envelope, run_id, ocsf

    async def records(self, client: VendorClient) -> AsyncGenerator[dict[str, Any], None]:
        """Run the binding: its records one by one, then the envelope's output, status and errors."""
        spec, envelope = self.spec, self.envelope
        binding = client.vendor.bindings[spec.name]
        filters_schema = spec.vendors[client.vendor.name].vendor_filters
        if filters_schema and "vendor_filters" in self.document:
            self.host.schemas.validate(filters_schema, self.document["vendor_filters"], "input.vendor_filters")
        # The client read the connection's secret, which registered it with the redactor: before
        # action_started, so a plugin redacting the input (the audit log) already knows the secret.
        async with client:
            self.host.hook.action_started(
                run_id=self.run_id, action=spec.name, vendor=client.vendor.name, connection=self.target.name,
                input=self.document,
            )
            count, first = 0, None
            try:
                result = binding(client, self.document)
                if inspect.isawaitable(result):
                    # A binding that returns its whole output (any action's, and a third-party
                    # plugin's list action written that way): its records are handed out after it.
                    output = await result
                    if spec.records is not None:
                        records, output[spec.records] = output.get(spec.records) or [], []
                        for record in records:
                            count, first = count + 1, first or record
                            event = self._as_ocsf(client, record) if self.ocsf else record
                            if event is not None:
                                yield event
                else:
                    assert spec.records is not None, f"{spec.name}: a binding yields records only for a records action"
                    async with aclosing(result) as records:
                        async for record in records:
                            client.emit(record)
                            count, first = count + 1, first or record
                            if not count % TURN_EVERY:
                                # Mapping never waits, so without a turn the next page's request,
                                # asked for ahead, would not even go out before this page is done
                                # (and other runs on this loop would stall).
                                await asyncio.sleep(0)
                            event = self._as_ocsf(client, record) if self.ocsf else record
                            if event is not None:
                                yield event
                    output = {spec.records: [], "count": count, **client.fields}
            except ConnectorError:
                if spec.records is not None and count:
                    # What was handed out stays handed out: the envelope says how far the read went.
                    envelope.output = {spec.records: [], "count": count, **client.fields}
                raise
            finally:
                envelope.meta = Meta(dry_run=client.dry_run, run_id=self.run_id, records=client.emitted, **client.meta)
        if client.dry_run and spec.mutates:
            output = {**output, "planned_requests": [request.as_dict() for request in client.planned]}
        else:
            _check_output(self.host, spec, output, first)
        if self.ocsf:
            output = {key: _ocsf_event(value) if key in OCSF_RECORDS and isinstance(value, dict) else value
                      for key, value in output.items()}
        envelope.output = output
        envelope.errors.extend(client.item_errors)
        if client.nothing_succeeded:
            envelope.status = "failed"
        else:
            envelope.status = "partial" if client.item_errors else "success"

    @staticmethod
    def _as_ocsf(client: VendorClient, record: dict[str, Any]) -> dict[str, Any] | None:
        """The OCSF event of one record; a record that is no finding (a log entry) is reported, not written."""
        from connector.ocsf import NotAFinding

        try:
            return _ocsf_event(record)
        except NotAFinding as exc:
            client.item_failed(str(record.get("uid") or "?"), "no_ocsf_form", str(exc))
            return None


OCSF_RECORDS = ("threats", "events", "incidents", "threat", "event", "incident")
"""Output keys holding common records, which ``ocsf`` turns into OCSF events."""


def _ocsf_event(record: dict[str, Any]) -> dict[str, Any]:
    from connector.ocsf import to_ocsf  # imported by the runs that ask for OCSF only

    return to_ocsf(record)


TURN_EVERY = 100
"""Records handed out between two turns given to the event loop (see _Run.records)."""

SAMPLED_LIST_LENGTH = 2
"""Lists longer than this are validated on their first and last record only (see _check_output)."""


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
        target = sandbox_connection(chosen, sandbox_url, SANDBOX_TOKEN)
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
        # Imported only here: a run against a vendor (or a sandbox URL) needs no simulator code.
        from connector.sandbox import VENDORS, SandboxConfig, running_sandbox

        if vendor not in VENDORS:  # a plugin's vendor: the sandbox would only answer 404
            raise BadInput(f"sandbox: vendor {vendor!r} has no simulator (simulated: {', '.join(VENDORS)}); "
                           "use --connection")
        # Only the simulator this action talks to: seeding the others would only cost time.
        with running_sandbox(SandboxConfig(vendors=(vendor,))) as url:
            yield url
    else:
        yield None
