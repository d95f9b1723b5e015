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
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector.connections import SANDBOX, find_connection
from connector.errors import BadInput, ConnectorError, guarded
from connector.plugins import Host, default_host
from connector.runner import RecordStream, astream_action
from connector.watch.checkpoint import CheckpointStore, default_state_path, new_checkpoint
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

    @property
    def label(self) -> str:
        """The connection's name, or ``sandbox-<vendor>`` for a sandbox URL: it names the checkpoint."""
        if self.connection is not None:
            return self.connection
        return f"sandbox-{self.vendor or next(iter(self.host.action(self.watched.action).vendors))}"

    def fetch(self, since: datetime, until: datetime) -> RecordStream:
        """The action's records for the window [since, until] as they are read, then its envelope."""
        return astream_action(
            self.watched.action,
            {**self.input, "since": rfc3339(since), "until": rfc3339(until)},
            connection=self.connection,
            vendor=self.vendor,
            sandbox=self.sandbox_url or False,
            config=self.config,
            host=self.host,
        )


def source(
    action: str,
    input: dict[str, Any] | None = None,
    *,
    connection: str | None = None,
    vendor: str | None = None,
    sandbox_url: str | None = None,
    config: Path | None = None,
    host: Host | None = None,
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
                  config, host)


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
    broker: str | None = None,
) -> int:
    """Watch until stopped (or for one poll with ``once``); returns the exit code.

    ``since`` is the starting point of a new checkpoint (default: now, only new items); it is
    refused when the checkpoint exists. Items go to ``playbook``, or as NDJSON to ``output``, or
    to stdout. ``say`` receives the lines for people (a poll's problem, the closing summary).
    ``broker`` (a Redis URL) hands each item's playbook run to the workers; the item is committed
    once its task succeeded.
    """
    tell = say or (lambda line: None)
    if playbook is not None and output is not None:
        raise BadInput("--output: items go to the playbook, not to a file (give --playbook or --output)")
    if broker is not None and playbook is None:
        raise BadInput("--broker: the workers run the playbook of each item; give --playbook")
    with ExitStack() as stack:
        sink: Sink | None = None
        if playbook is not None and broker is not None:
            from connector.jobs.watch import QueuedPlaybookSink

            sink = QueuedPlaybookSink(playbook, polled.host, sandbox=polled.sandbox_url or False,
                                      config=polled.config, broker=broker)
        elif playbook is not None:
            sink = PlaybookSink(playbook, polled.host, sandbox=polled.sandbox_url or False, config=polled.config)
        store = CheckpointStore(state or default_state_path(polled.watched.action, polled.label))
        stack.enter_context(store.locked())
        checkpoint = store.load()
        if checkpoint is None:
            checkpoint = new_checkpoint(polled.watched.action, polled.label, since or clock())
        elif since is not None:
            raise BadInput(
                f"--since: {store.path} already has a checkpoint (bookmark {rfc3339(checkpoint.bookmark)}); "
                "drop --since to go on from it, or give another --state"
            )
        elif (checkpoint.action, checkpoint.connection) != (polled.watched.action, polled.label):
            raise BadInput(
                f"--state: {store.path} is the checkpoint of watch {checkpoint.action} on {checkpoint.connection}, "
                f"not {polled.watched.action} on {polled.label}"
            )
        if sink is None:
            sink = FileSink(output, checkpoint) if output is not None else StdoutSink()
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


def watch(polled: Source, **options: Any) -> int:
    """Synchronous :func:`awatch`."""
    return asyncio.run(awatch(polled, **options))
