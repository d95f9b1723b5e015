"""``POST /api/incidents/batch-action/``: one action on up to 100 incidents, each succeeding or failing alone.

Body: ``{"action": "delete"|"change_field"|"change_m2m"|"change_folder", "ids": [...], "field": ...,
"value": ...}``. ``change_field`` sets one scalar write field (``status``, ``severity``, ...),
``change_m2m`` replaces one many-to-many field with the ``value`` list, ``change_folder`` moves to
the ``value`` folder (``field`` is not needed). Each id runs through the same validation as a
PATCH of ``{field: value}``. A malformed envelope (unknown action, missing or over-long ``ids``, a
field the action cannot change) is a 400 DRF body; otherwise the answer is 200
``{"succeeded": [ids], "failed": [{"id", "error"}]}`` where ``error`` is one line of text
(``"Not found."`` for an unknown id, ``"<field>: <message>"`` for a rejected value). Repeated
ids are processed once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.sandbox.ciso_assistant.shapes import (
    WRITE_FIELDS,
    ValidationFailed,
    apply_changes,
    canonical_uuid,
    not_a_dictionary,
    validate_write,
)
from connector.sandbox.ciso_assistant.store import RELATIONS, Store

BATCH_LIMIT = 100
ACTIONS = ("delete", "change_field", "change_m2m", "change_folder")
CHANGEABLE_FIELDS = tuple(name for name in WRITE_FIELDS if name not in RELATIONS and name != "folder")
_FIELDS_BY_ACTION = {"change_field": CHANGEABLE_FIELDS, "change_m2m": RELATIONS}


def _ids_error(ids: Any) -> Any:
    """DRF ListField(child=CharField, allow_empty=False, max_length=100) errors, or None."""
    if ids is None:
        return ["This field may not be null."]
    if not isinstance(ids, list):
        return [f'Expected a list of items but got type "{type(ids).__name__}".']
    if not ids:
        return ["This list may not be empty."]
    if len(ids) > BATCH_LIMIT:
        return [f"Ensure this field has no more than {BATCH_LIMIT} elements."]
    bad = {str(index): ["Not a valid string."] for index, item in enumerate(ids) if not isinstance(item, str)}
    return bad or None


def _envelope_errors(body: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    action = body.get("action")
    if "action" not in body:
        errors["action"] = ["This field is required."]
    elif action not in ACTIONS:
        errors["action"] = [f'"{action}" is not a valid choice.']
    if "ids" not in body:
        errors["ids"] = ["This field is required."]
    elif (ids_error := _ids_error(body["ids"])) is not None:
        errors["ids"] = ids_error
    if action in _FIELDS_BY_ACTION and body.get("field") not in _FIELDS_BY_ACTION[action]:
        errors["field"] = ["This field is required."] if "field" not in body else [
            f'"{body["field"]}" is not a valid choice.'
        ]
    if action in ("change_field", "change_m2m", "change_folder") and "value" not in body:
        errors["value"] = ["This field is required."]
    return errors


def _one_line(errors: dict[str, Any]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


def run_batch_action(body: Any, store: Store, moment: datetime) -> dict[str, Any]:
    """Apply the batch to ``store``; raise ValidationFailed for a malformed envelope."""
    if not isinstance(body, dict):
        raise not_a_dictionary(body)
    errors = _envelope_errors(body)
    if errors:
        raise ValidationFailed(errors)
    action = body["action"]
    field = "folder" if action == "change_folder" else body.get("field")
    succeeded: list[str] = []
    failed: list[dict[str, str]] = []
    for raw_id in dict.fromkeys(body["ids"]):
        incident = store.incidents.get(canonical_uuid(raw_id) or "")
        if incident is None:
            failed.append({"id": raw_id, "error": "Not found."})
            continue
        if action == "delete":
            del store.incidents[incident.id]
            succeeded.append(raw_id)
            continue
        try:
            cleaned = validate_write({field: body["value"]}, store)
        except ValidationFailed as invalid:
            failed.append({"id": raw_id, "error": _one_line(invalid.errors)})
            continue
        apply_changes(incident, cleaned, moment)
        succeeded.append(raw_id)
    return {"succeeded": succeeded, "failed": failed}
