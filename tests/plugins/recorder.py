"""A test plugin that observes every lifecycle event: it records each as (event, key fields).

The key fields are what a reader checks the documented order by: which request, which page,
which record, which outcome. Every event's ``run_id`` is kept apart, in :attr:`EventRecorder.run_ids`.
"""

from __future__ import annotations

from typing import Any

from connector.envelope import Envelope
from connector.hookspecs import hookimpl

Event = tuple[Any, ...]


class EventRecorder:
    """Register an instance on a host; :attr:`events` lists what it saw, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.run_ids: list[str] = []

    def _saw(self, run_id: str, *event: Any) -> None:
        self.events.append(event)
        self.run_ids.append(run_id)

    @hookimpl
    def action_started(self, run_id: str, action: str, vendor: str, connection: str) -> None:
        """(action_started, action, vendor, connection)."""
        self._saw(run_id, "action_started", action, vendor, connection)

    @hookimpl
    def request_sent(self, run_id: str, method: str, path: str, attempt: int) -> None:
        """(request_sent, method, path, attempt)."""
        self._saw(run_id, "request_sent", method, path, attempt)

    @hookimpl
    def response_received(self, run_id: str, status: int, attempt: int) -> None:
        """(response_received, status, attempt)."""
        self._saw(run_id, "response_received", status, attempt)

    @hookimpl
    def retry_scheduled(self, run_id: str, attempt: int, delay_s: float) -> None:
        """(retry_scheduled, attempt, delay_s)."""
        self._saw(run_id, "retry_scheduled", attempt, delay_s)

    @hookimpl
    def page_fetched(self, run_id: str, page: int, records: int) -> None:
        """(page_fetched, page, records)."""
        self._saw(run_id, "page_fetched", page, records)

    @hookimpl
    def total_known(self, run_id: str, total: int) -> None:
        """(total_known, total)."""
        self._saw(run_id, "total_known", total)

    @hookimpl
    def record_emitted(self, run_id: str, record: dict[str, Any]) -> None:
        """(record_emitted, uid)."""
        self._saw(run_id, "record_emitted", record["uid"])

    @hookimpl
    def items_processed(self, run_id: str, succeeded: int, failed: int) -> None:
        """(items_processed, succeeded, failed)."""
        self._saw(run_id, "items_processed", succeeded, failed)

    @hookimpl
    def action_finished(self, run_id: str, envelope: Envelope) -> None:
        """(action_finished, status, requests, retries, pages, records)."""
        meta = envelope.meta
        self._saw(run_id, "action_finished", envelope.status, meta.requests, meta.retries, meta.pages, meta.records)

    @hookimpl
    def action_failed(self, run_id: str, envelope: Envelope) -> None:
        """(action_failed, first error type)."""
        self._saw(run_id, "action_failed", envelope.errors[0].type)
