"""The audit log: one JSON line per lifecycle event, appended to a file, never a secret.

Opt-in: the CLI's ``--audit FILE`` (or ``CONNECTOR_AUDIT``), or from Python::

    from connector import run_action
    from connector.events.audit import audit_log

    with audit_log("audit.jsonl"):
        run_action("get_threats", {"limit": 5}, sandbox=True)

Each line holds ``ts`` (RFC 3339, UTC), ``run_id``, ``event`` and the event's fields: of a record
only its ids, of an action's input every string passed through the redactor, of an envelope its
status, counts and error lines. Every line is flushed as it is written, and the file is fsynced
when an action ends, so a crash loses no finished action.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from connector.envelope import Envelope
from connector.errors import ConfigError, ConnectorError
from connector.hookspecs import hookimpl
from connector.plugins import Host, default_host
from connector.redaction import redactor

logger = logging.getLogger(__name__)

RECORD_IDS = ("uid", "id", "vendor_id")
"""The keys of a record that the audit log keeps; the rest of the record stays out of it."""


class AuditLog:
    """A plugin appending each lifecycle event to a JSONL file; register it on a host's plugin manager.

    ``option`` names where the path came from in the error raised when the file cannot be
    opened for appending (the CLI passes ``--audit``).
    """

    def __init__(self, path: str | os.PathLike[str], *, option: str = "audit log") -> None:
        self.path, self.option = Path(path), option
        self.failure: str | None = None
        """The first write that failed, if any (close raises it)."""
        try:
            self._file = self.path.open("ab")
        except OSError as exc:
            raise ConfigError(f"{option}: cannot write {self.path}: {exc.strerror}") from None
        # Runs in other threads (a server's workers) may fire events at once: one line at a time.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Flush, sync and close the file; ConnectorError (exit 1) if any line could not be written."""
        with self._lock:
            if not self._file.closed:
                self._guarded(self._file.flush)
                self._guarded(lambda: os.fsync(self._file.fileno()))
                with contextlib.suppress(OSError):  # a failure was recorded just above
                    self._file.close()
        if self.failure is not None:
            raise ConnectorError(self.failure)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @hookimpl
    def action_started(self, run_id: str, action: str, vendor: str, connection: str, input: dict[str, Any]) -> None:
        """Log the start, with the input redacted."""
        self._write("action_started", run_id, action=action, vendor=vendor, connection=connection, input=input)

    @hookimpl
    def request_sent(self, run_id: str, vendor: str, method: str, path: str, attempt: int) -> None:
        """Log a request (its path carries no query, and no header is logged)."""
        self._write("request_sent", run_id, vendor=vendor, method=method, path=path, attempt=attempt)

    @hookimpl
    def response_received(
        self, run_id: str, vendor: str, method: str, path: str, status: int, elapsed_ms: float, attempt: int
    ) -> None:
        """Log an answer's status and time."""
        self._write(
            "response_received", run_id, vendor=vendor, method=method, path=path, status=status,
            elapsed_ms=round(elapsed_ms, 1), attempt=attempt,
        )

    @hookimpl
    def retry_scheduled(
        self, run_id: str, vendor: str, method: str, path: str, attempt: int, delay_s: float, reason: str
    ) -> None:
        """Log a retry and why."""
        self._write(
            "retry_scheduled", run_id, vendor=vendor, method=method, path=path, attempt=attempt,
            delay_s=delay_s, reason=reason,
        )

    @hookimpl
    def page_fetched(self, run_id: str, vendor: str, path: str, page: int, records: int) -> None:
        """Log a page and how many records it held."""
        self._write("page_fetched", run_id, vendor=vendor, path=path, page=page, records=records)

    @hookimpl
    def total_known(self, run_id: str, action: str, total: int) -> None:
        """Log how many records the read will give, as the vendor told."""
        self._write("total_known", run_id, action=action, total=total)

    @hookimpl
    def record_emitted(self, run_id: str, action: str, record: dict[str, Any]) -> None:
        """Log which record was emitted: its ids, not its content."""
        ids = {key: record[key] for key in RECORD_IDS if key in record}
        self._write("record_emitted", run_id, action=action, record=ids)

    @hookimpl
    def items_processed(self, run_id: str, action: str, succeeded: int, failed: int) -> None:
        """Log how many ids of a bulk change settled (which ones failed is in the envelope's errors)."""
        self._write("items_processed", run_id, action=action, succeeded=succeeded, failed=failed)

    @hookimpl
    def action_finished(self, run_id: str, envelope: Envelope) -> None:
        """Log the outcome, then sync the file."""
        self._write("action_finished", run_id, **_outcome(envelope))
        self._sync()

    @hookimpl
    def action_failed(self, run_id: str, envelope: Envelope) -> None:
        """Log the failure, then sync the file."""
        self._write("action_failed", run_id, **_outcome(envelope))
        self._sync()

    def _write(self, event: str, run_id: str, **fields: Any) -> None:
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = orjson.dumps({"ts": ts, "run_id": run_id, "event": event, **_redacted(fields)}) + b"\n"
        with self._lock:
            self._guarded(lambda: self._append(line))

    def _append(self, line: bytes) -> None:
        self._file.write(line)
        self._file.flush()

    def _sync(self) -> None:
        with self._lock:
            self._guarded(lambda: os.fsync(self._file.fileno()))

    def _guarded(self, operation: Callable[[], object]) -> None:
        # A hook must not raise into the run it observes: the first failure (a full disk) is kept,
        # said once in the log, and raised by close(), so the audit's loss is never silent.
        if self.failure is not None:
            return
        try:
            operation()
        except OSError as exc:
            self.failure = f"{self.option}: cannot write {self.path}: {exc.strerror or type(exc).__name__}"
            logger.error("%s; the audit log is incomplete from here", self.failure)


@contextmanager
def audit_log(
    path: str | os.PathLike[str], host: Host | None = None, *, option: str = "audit log"
) -> Iterator[AuditLog]:
    """Audit every action run on ``host`` (default: the process's host) to ``path`` inside the block."""
    chosen = host or default_host()
    with AuditLog(path, option=option) as audit:
        chosen.pm.register(audit)
        try:
            yield audit
        finally:
            chosen.pm.unregister(audit)


def _outcome(envelope: Envelope) -> dict[str, Any]:
    """What the log keeps of an envelope: who ran, the status, the counts and one line per error."""
    meta = envelope.meta
    return {
        "action": envelope.action,
        "vendor": envelope.vendor,
        "connection": envelope.connection,
        "status": envelope.status,
        "counts": {
            "requests": meta.requests, "retries": meta.retries, "pages": meta.pages, "records": meta.records,
            "duration_ms": meta.duration_ms,
        },
        "errors": [f"{error.item}: {error.message}" if error.item else error.message for error in envelope.errors],
    }


def _redacted(value: Any) -> Any:
    """``value`` with every known secret masked in every string it holds, however deep."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
