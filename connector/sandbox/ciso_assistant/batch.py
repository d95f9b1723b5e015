"""``POST /api/incidents/batch-action/``: one action on up to 100 incidents, each succeeding or failing alone.

Body: ``{"action", "ids", "field"?, "value"?}``, checked in the recorded order: the action
(400 ``{"error": "Invalid action type"}``), the ids (``No ids provided``; over 100: ``too many
ids`` with ``max``), then for a non-delete action the field (``field not editable: <field>``).
The answer is 200 ``{"succeeded": [{"id", "name"}], "failed": [...]}`` in the order of ``ids``:
an unknown id fails with ``Object not found or access denied`` and no name.

Only ``delete`` works. Upstream, at the recorded commit, every other action fails for each
existing incident with ``"Unexpected error"`` and changes nothing: the incident view's
``perform_update`` calls ``get_object()``, which needs the URL's ``pk`` that a batch request has
not. The simulator reproduces that defect, so clients are tested on what the server really does.
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.ciso_assistant.store import RELATIONS, Store
from connector.sandbox.ciso_assistant.writes import WRITE_FIELDS, ValidationFailed, canonical_uuid

BATCH_LIMIT = 100
ACTIONS = ("delete", "change_field", "change_m2m", "add_m2m", "remove_m2m", "change_folder")
EDITABLE_FIELDS = frozenset(WRITE_FIELDS) - {"folder"}
NOT_FOUND = "Object not found or access denied"
UPSTREAM_DEFECT = "Unexpected error"


def _check_envelope(body: Any) -> None:
    """Raise the recorded 400 for an envelope the view refuses before looking at any id."""
    body = body if isinstance(body, dict) else {}
    if body.get("action") not in ACTIONS:
        raise ValidationFailed({"error": "Invalid action type"})
    ids = body.get("ids")
    if not ids or not isinstance(ids, list):
        raise ValidationFailed({"error": "No ids provided"})
    if len(ids) > BATCH_LIMIT:
        raise ValidationFailed({"error": "too many ids", "max": BATCH_LIMIT})
    action = body["action"]
    if action in ("change_field", "change_m2m", "add_m2m", "remove_m2m"):
        field = body.get("field")
        editable = EDITABLE_FIELDS - set(RELATIONS) if action == "change_field" else set(RELATIONS)
        if field not in editable:
            raise ValidationFailed({"error": f"field not editable: {field}"})


def run_batch_action(body: Any, store: Store) -> dict[str, Any]:
    """Apply the batch to ``store``; raise ValidationFailed for a refused envelope."""
    _check_envelope(body)
    succeeded: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    for raw_id in body["ids"]:
        incident = store.incidents.get(canonical_uuid(str(raw_id)) or "")
        if incident is None:
            failed.append({"id": raw_id, "error": NOT_FOUND})
        elif body["action"] == "delete":
            del store.incidents[incident.id]
            succeeded.append({"id": raw_id, "name": incident.name})
        else:
            failed.append({"id": raw_id, "name": incident.name, "error": UPSTREAM_DEFECT})
    return {"succeeded": succeeded, "failed": failed}
