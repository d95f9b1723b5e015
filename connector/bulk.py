"""Bulk changes: many ids cut into chunks, and the outcome reported id by id in one output shape.

Every bulk action (update_threat_status, incident_batch_action) answers ``{succeeded: [ids],
failed: [{id, error_type, message}], summary: {total_attempted, total_successful, total_failed,
success_rate}}``. A :class:`BulkReport` collects that as chunks settle, fires ``items_processed``
for each step (the progress line counts them), records each failure as the envelope's error for
that item, and says the run failed when nothing succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from connector.context import RunContext

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut into lists of at most ``size``, in order."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


@dataclass
class BulkReport:
    """The per-id outcome of one bulk change, built as its chunks settle."""

    run: RunContext
    succeeded: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def ok(self, ids: Iterable[str]) -> None:
        """These ids were changed."""
        done = list(ids)
        self.succeeded.extend(done)
        self.run.items_processed(succeeded=len(done), failed=0)

    def fail(self, ids: Iterable[str], error_type: str, message: str) -> None:
        """These ids were not changed, for one reason."""
        refused = list(ids)
        for item_id in refused:
            self.failed.append({"id": item_id, "error_type": error_type, "message": message})
            self.run.item_failed(item_id, error_type, message)
        self.run.items_processed(succeeded=0, failed=len(refused))

    def output(self, order: Sequence[str] = ()) -> dict[str, Any]:
        """The action's output (ids in ``order`` when given, e.g. the input's); nothing succeeded fails the run."""
        if order:
            position = {item_id: index for index, item_id in enumerate(order)}
            self.succeeded.sort(key=lambda item_id: position.get(item_id, len(position)))
            self.failed.sort(key=lambda item: position.get(item["id"], len(position)))
        attempted = len(self.succeeded) + len(self.failed)
        self.run.nothing_succeeded = bool(self.failed) and not self.succeeded
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "summary": {
                "total_attempted": attempted,
                "total_successful": len(self.succeeded),
                "total_failed": len(self.failed),
                "success_rate": round(len(self.succeeded) / attempted, 4) if attempted else 0.0,
            },
        }
