"""Where a watched item goes: an NDJSON line on stdout, an NDJSON line appended to a file, or a playbook.

A sink's ``handle`` returns None once the item is handled, or one line saying why it was not (the
watch then stops the poll there and the next poll tries the item again); it raises a
:class:`~connector.errors.ConnectorError` when the watch cannot go on at all. ``output`` and
``length`` are what the checkpoint records after each item: only :class:`FileSink` has a length.

Each line is the item exactly as the action outputs it (one Threat or Event, secrets redacted),
written by the writer of a line format from the format registry (ndjson, or ocsf); its ``uid``
and its stamp (``updated_at`` or ``time``) say which item and which version it is, so the watch
adds no key of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

from connector.envelope import Envelope
from connector.errors import BadInput, ConnectorError
from connector.executor import Executor
from connector.files import check_file
from connector.formats import NoForm, OutputFormat
from connector.playbook import PlaybookInvalid, PlaybookResult, arun_playbook, load_checked
from connector.playbook.report import error_lines
from connector.plugins import Host, default_host
from connector.streams import writing
from connector.watch.checkpoint import Checkpoint
from connector.watch.items import ItemKey

FILE_COMMIT_EVERY = 200
"""Lines appended to ``--output`` between two checkpoint commits (a kill loses none: see FileSink)."""

ITEM_INPUT = "item"
"""The playbook input that receives each watched item."""


class Sink(Protocol):
    """Handles one item at a time; see the module docstring."""

    output: str | None
    length: int
    commit_every: int
    """Items handled between two commits of the checkpoint: 1 unless a kill cannot duplicate them."""
    concurrency: int
    """Items handled at once: 1 unless their handling is independent (a playbook on the workers)."""

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        """Handle ``item``: None when done, else one line saying why it was not handled."""

    def sync(self) -> None:
        """Make what was handled durable, before the checkpoint says it was."""

    def close(self) -> None:
        """Release what the sink holds (an open file)."""


def item_line(item: dict[str, Any], key: ItemKey, output_format: OutputFormat | None = None) -> str:
    """One item as its line in a line format (default ndjson), secrets redacted, with its newline.

    The format's own writer writes it (``watch --format``); an item the format has no form for
    (a MySecutec log entry in OCSF) is refused in one line naming it.
    """
    chosen = output_format or default_host().formats["ndjson"]
    if chosen.convert is not None:
        try:
            item = chosen.convert(item)
        except NoForm as exc:
            raise BadInput(f"--format {chosen.name}: item {key.uid}: {exc}") from None
    buffer = io.StringIO()
    chosen.writer(buffer).record(_ITEMS, "items", item)
    return buffer.getvalue()


_ITEMS = Envelope(action="watch", status="success")
"""What a line writer is told of the run an item belongs to (a watch's items come from many runs)."""


class StdoutSink:
    """NDJSON on a text stream. A line written just before a kill may be written again: at-least-once."""

    output: str | None = None
    length = 0
    commit_every = 1
    concurrency = 1

    def __init__(self, stream: TextIO | None = None, output_format: OutputFormat | None = None) -> None:
        self._stream, self._format = stream or sys.stdout, output_format

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        """Write and flush the item's line."""
        line = item_line(item, key, self._format)
        with writing(self._stream, f"stdout: item {key.uid}"):
            self._stream.write(line)
            self._stream.flush()
        return None

    def sync(self) -> None:
        """Nothing more to do: each line was flushed."""

    def close(self) -> None:
        """Nothing to release: stdout belongs to the process."""


class FileSink:
    """NDJSON appended to a file whose committed length the checkpoint keeps: exactly once, even on SIGKILL.

    On start the file is cut back to the length the checkpoint committed, which removes a line
    written but not committed before a kill; that item is then handled, and written, again. So the
    checkpoint need not follow every line: it is committed every :data:`FILE_COMMIT_EVERY` items
    (and when a poll ends), after one fsync of the file, instead of two fsyncs per item.
    """

    commit_every = FILE_COMMIT_EVERY
    concurrency = 1

    def __init__(self, path: Path, checkpoint: Checkpoint, output_format: OutputFormat | None = None) -> None:
        check_file(path, "--output", must_exist=False)  # a FIFO or a device would block or never end
        self.path, self._format = path, output_format
        self.output: str | None = str(path.resolve())
        existed = path.exists()
        try:
            self._stream = open(path, "ab")  # noqa: SIM115 - held open for the whole watch, closed by close()
        except OSError as exc:
            raise BadInput(f"--output: cannot open {path}: {exc.strerror}") from None
        try:
            # Two watches cutting one file back to their own committed lengths would destroy each other's lines.
            fcntl.flock(self._stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.length = self._committed_length(checkpoint, existed)
            if os.fstat(self._stream.fileno()).st_size > self.length:
                os.ftruncate(self._stream.fileno(), self.length)
        except BlockingIOError:
            self._stream.close()
            raise BadInput(f"--output: {path} is in use by another watch") from None
        except BadInput:
            self._stream.close()
            raise

    def _committed_length(self, checkpoint: Checkpoint, existed: bool) -> int:
        size = os.fstat(self._stream.fileno()).st_size
        if not existed:
            # Moved away (rotated) while the watch was stopped: a new file starts empty.
            return 0
        if checkpoint.output != self.output:
            # Another file than the checkpoint's: what it holds is not the watch's to cut.
            return size
        if size < checkpoint.output_length:
            raise BadInput(
                f"--output: {self.path} holds {size} bytes but the checkpoint committed "
                f"{checkpoint.output_length}: it was changed outside the watch (move it away to start a new file)"
            )
        return checkpoint.output_length

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        """Append the item's line (made durable by :meth:`sync` before the checkpoint counts it)."""
        line = item_line(item, key, self._format).encode()
        try:
            self._stream.write(line)
        except OSError as exc:
            raise ConnectorError(f"--output: cannot write {self.path}: {exc.strerror}") from None
        self.length += len(line)
        return None

    def sync(self) -> None:
        """Flush and fsync the file, so the length committed next is on disk."""
        try:
            self._stream.flush()
            os.fsync(self._stream.fileno())
        except OSError as exc:
            raise ConnectorError(f"--output: cannot write {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        """Close the file (what is still buffered was never committed: a failure to write it is harmless)."""
        # Lines still buffered were never counted in the checkpoint, and a restart cuts them off anyway.
        with contextlib.suppress(OSError):
            self._stream.close()


class PlaybookSink:
    """Runs a playbook with the item as ``inputs.item``; the item counts as handled unless the run failed.

    The playbook is read and checked once, at start; every run uses that same playbook, so editing
    the file takes effect on the next start only.
    """

    output: str | None = None
    length = 0
    commit_every = 1

    def __init__(self, path: Path, host: Host, *, sandbox: bool | str, config: Path | None,
                 executor: Executor | None = None, connections: Mapping[str, str] | None = None,
                 concurrency: int = 1) -> None:
        compiled, _targets = load_checked(path, host, config=config, sandbox=bool(sandbox), by_vendor=connections)
        book = compiled.playbook
        declared = (book.inputs or {}).get("properties") or {}
        if ITEM_INPUT not in declared:
            raise PlaybookInvalid([
                f"playbook {path.name}: inputs.properties.{ITEM_INPUT}: missing (the watch passes each item as "
                f"inputs.{ITEM_INPUT}; declare it, e.g. {ITEM_INPUT}: {{$ref: threat.json}})"
            ])
        self.name = book.name
        self._source: Mapping[str, Any] = book.model_dump(mode="json", exclude_unset=True)
        self._host, self._sandbox, self._config, self._executor = host, sandbox, config, executor
        self._connections = connections
        self.concurrency = concurrency

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        """Run the playbook on the item; one line naming the item and the first error when it failed."""
        try:
            result = await self.run(item)
        except BadInput as exc:
            # The item does not fit the playbook's inputs: no later poll would do better.
            raise BadInput(f"playbook {self.name}: item {key.uid}: {exc.message}") from None
        if result.status != "failed":
            return None
        first = next(iter(error_lines(result)), "a step failed")
        return f"playbook {self.name} failed on {key.uid}: {first}"

    async def run(self, item: dict[str, Any]) -> PlaybookResult:
        """One run of the playbook on ``item``, its steps on the executor (here, or the workers')."""
        return await arun_playbook(
            self._source, {ITEM_INPUT: item}, sandbox=self._sandbox, config=self._config, host=self._host,
            executor=self._executor, connections=self._connections,
        )

    def sync(self) -> None:
        """Nothing more to do: the playbook run has ended."""

    def close(self) -> None:
        """Nothing to release."""
