"""Setting a watch up: check everything, take the lock, load or start the checkpoint, then poll.

Everything that can be wrong is found before the first request and raised as one BadInput line
(exit 2): an action that cannot be watched, ``since``/``until`` in the input (the watch sets them),
a ``limit`` or a vendor filter that moves the window or skips records (the rest would be lost),
an input the action refuses, a connection that is not defined, the embedded sandbox (it forgets
everything when the process ends), a playbook that fails its check or does not declare
``inputs.item``, ``--since`` beside an existing checkpoint, a checkpoint of another watch, a
corrupt checkpoint, a state file another watch holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector.connections import SANDBOX, find_connection
from connector.errors import BadInput, ConnectorError, guarded
from connector.executor import Executor, InProcess
from connector.formats import OutputFormat
from connector.plugins import Host, default_host
from connector.request import RunRequest
from connector.runner import RecordStream
from connector.watch.checkpoint import Checkpoint, CheckpointStore, default_state_path, new_checkpoint
from connector.watch.items import WINDOW_VENDOR_FILTERS, Watchable, oldest_first, rfc3339, watchable
from connector.watch.poller import Clock, Watcher, utc_now
from connector.watch.sinks import FileSink, PlaybookSink, Sink, StdoutSink

WINDOW_FIELDS = ("since", "until")


@dataclass(frozen=True)
class Source:
    """What the watch polls: the action with its fixed input, and where it runs."""

    watched: Watchable
    input: dict[str, Any]
    connection: str | None
    vendor: str | None
    sandbox_url: str | None
    config: Path | None
    host: Host
    strict: bool = False

    @property
    def label(self) -> str:
        """The connection's name, or ``sandbox-<vendor>`` for a sandbox URL: it names the checkpoint."""
        if self.connection is not None:
            return self.connection
        return f"sandbox-{self.vendor or next(iter(self.host.action(self.watched.action).vendors))}"

    def fetch(self, since: datetime, until: datetime) -> RecordStream:
        """The action's records for the window [since, until] as they are read, then its envelope."""
        request = RunRequest(
            action=self.watched.action, input={**self.input, "since": rfc3339(since), "until": rfc3339(until)},
            connection=self.connection, vendor=self.vendor, sandbox=self.sandbox_url or False, strict=self.strict,
        )
        return InProcess(host=self.host, config=self.config).stream(request)


def source(
    action: str,
    input: dict[str, Any] | None = None,
    *,
    connection: str | None = None,
    vendor: str | None = None,
    sandbox_url: str | None = None,
    config: Path | None = None,
    host: Host | None = None,
    strict: bool = False,
) -> Source:
    """Check what to poll: a watchable action, an input without since/until, exactly one place to run."""
    host = host or default_host()
    watched = watchable(action, host)
    document = dict(input or {})
    for name in WINDOW_FIELDS:
        if name in document:
            raise BadInput(f"input.{name}: set by the watch (use --since for the starting point)")
    if "limit" in document:
        # The bookmark moves past the whole window once a poll completes: a limit would skip the rest of it.
        raise BadInput("input.limit: the watch reads every item of each window (a limit would lose the rest)")
    host.schemas.validate(host.action(watched.action).input, document, "input")
    clashing = sorted(WINDOW_VENDOR_FILTERS & set(document.get("vendor_filters") or {}))
    if clashing:
        raise BadInput(f"input.vendor_filters.{clashing[0]}: the watch sets the window and reads all of it")
    if (connection is None) == (sandbox_url is None):
        raise BadInput("watch: give --connection NAME or --sandbox-url URL (exactly one)")
    if connection == SANDBOX:
        raise BadInput(
            "--connection: the embedded sandbox forgets everything when a poll ends; serve one with "
            "`connector sandbox` and pass --sandbox-url"
        )
    if connection is not None:
        vendor = vendor or find_connection(connection, config).vendor
    polled_vendor = vendor or next(iter(host.action(watched.action).vendors))
    return Source(watched, oldest_first(watched.action, polled_vendor, document), connection, vendor, sandbox_url,
                  config, host, strict)


@guarded
async def awatch(
    polled: Source,
    *,
    every: float = 60.0,
    lookback: float = 300.0,
    since: datetime | None = None,
    playbook: Path | None = None,
    output: Path | None = None,
    state: Path | None = None,
    once: bool = False,
    clock: Clock = utc_now,
    signals: bool = True,
    say: Callable[[str], None] | None = None,
    executor: Executor | None = None,
    output_format: OutputFormat | None = None,
    connections: Mapping[str, str] | None = None,
    concurrency: int = 1,
) -> int:
    """Watch until stopped (or for one poll with ``once``); returns the exit code.

    ``since`` is the starting point of a new checkpoint (default: now, only new items); it is
    refused when the checkpoint exists. Items go to ``playbook``, or as NDJSON to ``output``, or
    to stdout. ``say`` receives the lines for people (a poll's problem, the closing summary).
    ``executor`` runs the playbook's steps (default: in this process; the workers' with
    ``--broker``); an item is committed once its playbook run succeeded. ``output_format`` is a
    line format (default ndjson) for stdout or ``output``. ``connections`` names a connection per
    vendor for the playbook's steps that name none. ``concurrency`` items have their playbook run
    at once (each committed as it succeeds).
    """
    tell = say or (lambda line: None)
    _check_sink_options(playbook, output, output_format, concurrency)
    with ExitStack() as stack:
        sink: Sink | None = None
        if playbook is not None:
            sink = PlaybookSink(playbook, polled.host, sandbox=polled.sandbox_url or False, config=polled.config,
                                executor=executor, connections=connections, concurrency=concurrency)
        store = CheckpointStore(state or default_state_path(polled.watched.action, polled.label))
        stack.enter_context(store.locked())
        checkpoint = _checkpoint(store, polled, since, clock)
        if sink is None:
            sink = FileSink(output, checkpoint, output_format) if output is not None else StdoutSink(
                output_format=output_format)
        stack.callback(sink.close)
        checkpoint.output, checkpoint.output_length = sink.output, sink.length
        try:
            store.save(checkpoint)
        except ConnectorError as exc:
            # Before the first poll, a state file that cannot be written is a set-up problem (exit 2).
            raise BadInput(exc.message) from None
        watcher = Watcher(
            store, checkpoint, polled.watched, polled.fetch, sink,
            lookback=timedelta(seconds=lookback), clock=clock, say=tell,
        )
        code = await watcher.run(every=every, once=once, signals=signals)
        reason = f"stopped by {watcher.stop_reason}: " if watcher.stop_reason else ""
        tell(reason + watcher.summary())
        return code


def _check_sink_options(
    playbook: Path | None, output: Path | None, output_format: OutputFormat | None, concurrency: int
) -> None:
    """BadInput for options of where items go that contradict each other."""
    if playbook is not None and output is not None:
        raise BadInput("--output: items go to the playbook, not to a file (give --playbook or --output)")
    if concurrency > 1 and playbook is None:
        raise BadInput("--concurrency: items are written one after the other; it applies to --playbook")
    if output_format is not None and not output_format.lines:
        raise BadInput(f"--format: {output_format.name} is not a line format: a watch writes an unending stream "
                       "(ndjson or ocsf)")


def _checkpoint(store: CheckpointStore, polled: Source, since: datetime | None, clock: Clock) -> Checkpoint:
    """The watch's checkpoint: the one in ``store``, else a new one from ``since`` (default: now)."""
    checkpoint = store.load()
    if checkpoint is None:
        return new_checkpoint(polled.watched.action, polled.label, since or clock())
    if since is not None:
        raise BadInput(
            f"--since: {store.path} already has a checkpoint (bookmark {rfc3339(checkpoint.bookmark)}); "
            "drop --since to go on from it, or give another --state"
        )
    if (checkpoint.action, checkpoint.connection) != (polled.watched.action, polled.label):
        raise BadInput(
            f"--state: {store.path} is the checkpoint of watch {checkpoint.action} on {checkpoint.connection}, "
            f"not {polled.watched.action} on {polled.label}"
        )
    return checkpoint


def watch(polled: Source, **options: Any) -> int:
    """Synchronous :func:`awatch`."""
    return asyncio.run(awatch(polled, **options))
