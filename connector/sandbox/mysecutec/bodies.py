"""Request bodies of the mutating endpoints, validated strictly: unknown fields and bad values are 400s."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connector.sandbox.mysecutec.errors import bad_request

BULK_MAX_IDS = 1000

PATCH_USER_STATUSES = {
    "unsolved": "unsolved", "accepted": "accepted", "solved": "solved", "false_positive": "false_positive",
    # The update command documents patched/rejected; they are stored as the statuses the list filters know.
    "patched": "solved", "rejected": "false_positive",
}

Model = TypeVar("Model", bound=BaseModel)
PatchUserStatus = Literal["unsolved", "patched", "accepted", "rejected", "solved", "false_positive"]


class ThreatPatch(BaseModel):
    """Body of ``PATCH /tam/v1/threats/{id}``; a field left out is left alone, null clears it."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = None
    user_status: PatchUserStatus | None = None
    unsolved_annotation_note: str | None = None


class ThreatBulkStatusUpdate(BaseModel):
    """Body of ``PATCH /tam/v1/threats/status``."""

    model_config = ConfigDict(extra="forbid")

    threat_ids: list[str] = Field(min_length=1, max_length=BULK_MAX_IDS)
    user_status: Literal["unsolved", "false_positive", "accepted", "solved"]
    user_status_note: str | None = None


def parse_body(model: type[Model], raw: bytes) -> Model:
    """The body validated against ``model``, or a 400 naming the first offending field."""
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(step) for step in error["loc"]) or "body"
        raise bad_request(f"{where}: {error['msg']}", code="validation_error") from None
