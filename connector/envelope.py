"""The envelope every action returns, and the exit code a playbook branches on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connector.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PARTIAL, EXIT_SUCCESS, BadInput, ConnectorError
from connector.redaction import redactor

Status = Literal["success", "partial", "failed"]

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_PARTIAL", "EXIT_SUCCESS", "Envelope", "ErrorItem", "Meta", "Status"]


class ErrorItem(BaseModel):
    """One thing that went wrong: its kind, one line of text, and the item it concerns if any."""

    model_config = ConfigDict(extra="forbid")
    type: str
    message: str
    item: str | None = None


class Meta(BaseModel):
    """What the run cost and how it ran; bindings may add keys (``existed`` on create_incident).

    ``dropped_values`` (field -> count) says which values mappers left out as unusable, and
    ``resume`` where a failed paged read can go on from (give it back as ``input.resume``).

    The counts are the run context's (:mod:`connector.context`), which the lifecycle events also
    announce; ``run_id`` is the id those events carried (None for an envelope no runner made).
    """

    model_config = ConfigDict(extra="allow")
    duration_ms: int = 0
    requests: int = 0
    retries: int = 0
    pages: int = 0
    records: int = 0
    skipped: int = 0
    """Records the vendor sent that could not be mapped (each is an error item); see ``--strict``."""
    dry_run: bool = False
    run_id: str | None = None


class Envelope(BaseModel):
    """The result of one action: status, output, errors and meta."""

    model_config = ConfigDict(extra="forbid")
    action: str
    vendor: str | None = None
    connection: str | None = None
    output: dict[str, Any] = Field(default_factory=dict)
    """Before ``status``: a streamed envelope writes its records first and how the run ended after."""
    status: Status
    errors: list[ErrorItem] = Field(default_factory=list)
    meta: Meta = Field(default_factory=Meta)

    @classmethod
    def failed(cls, action: str, error: ConnectorError, **fields: Any) -> Envelope:
        """The one constructor of a failed envelope: ``error`` as its one error line (secrets masked).

        Every surface makes its failed envelopes here, from what the boundary guard
        (:func:`connector.errors.as_connector_error`) gave it; ``fields`` set vendor, connection, meta.
        """
        envelope = cls(action=action, status="failed", **fields)
        envelope.fail(error)
        return envelope

    def fail(self, error: ConnectorError) -> None:
        """End this envelope failed, with ``error`` as one more error line."""
        self.status = "failed"
        self.errors.append(ErrorItem(type=error.kind, message=redactor.redact(error.message)))

    @property
    def exit_code(self) -> int:
        """0 success, 1 failed, 2 bad input or config, 3 partial success."""
        if self.status == "success":
            return EXIT_SUCCESS
        if self.status == "partial":
            return EXIT_PARTIAL
        bad_input_kinds = {BadInput.kind, "config"}
        if any(error.type in bad_input_kinds for error in self.errors):
            return EXIT_BAD_INPUT
        return EXIT_FAILED
