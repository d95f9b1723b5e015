"""``POST /api/incidents/batch-action/``: one action on many incidents, 100 ids per request, per-id outcome.

The vendor answers ``{"succeeded": [ids], "failed": [{"id", "error"}]}`` per request; the chunks'
answers are merged. A request that fails as a whole marks its ids failed and the next chunk still
runs, except for an authentication failure, which would fail every chunk alike. A 5xx or a time-out
on a batch leaves its outcome unknown (the vendor may have applied it): the message says so.
"""

from __future__ import annotations

from typing import Any

from connector.bulk import BulkReport, chunked
from connector.errors import AuthError, BadVendorAnswer, RetriableError, VendorError
from connector.http import VendorClient
from connector.vendors.ciso_assistant.incidents import INCIDENTS
from connector.vendors.ciso_assistant.mapping import VALUE_BY_COMMON_SEVERITY, incident_id, native_status

BATCH = f"{INCIDENTS}batch-action/"
BATCH_LIMIT = 100


def batch_template(document: dict[str, Any]) -> dict[str, Any]:
    """The batch body without ids; a status or severity value may be given in the common vocabulary."""
    action = document["action"]
    template: dict[str, Any] = {"action": action}
    if action in ("change_field", "change_m2m"):
        template["field"] = document["field"]
    if action != "delete":
        value = document["value"]
        # Common names are translated; anything else goes as is and the vendor judges it per id.
        if template.get("field") == "severity" and isinstance(value, str):
            value = VALUE_BY_COMMON_SEVERITY.get(value, value)
        elif template.get("field") == "status" and isinstance(value, str):
            value = native_status(value)
        template["value"] = value
    return template


def _outcome(answer: Any, where: str) -> tuple[list[str], list[dict[str, str]]]:
    if not isinstance(answer, dict) or not isinstance(answer.get("succeeded"), list) \
            or not isinstance(answer.get("failed"), list):
        raise BadVendorAnswer(f"{where}: expected {{succeeded: [...], failed: [...]}}")
    failed = [
        {"id": str(item.get("id")), "error_type": "vendor", "message": str(item.get("error") or "failed")}
        for item in answer["failed"] if isinstance(item, dict)
    ]
    return [str(item) for item in answer["succeeded"]], failed


async def incident_batch_action(client: VendorClient, document: dict[str, Any]) -> dict[str, Any]:
    """Run one batch action over every id, 100 per request, and report each id."""
    ids = list(dict.fromkeys(incident_id(value) for value in document["ids"]))
    template = batch_template(document)
    report = BulkReport(client)
    for chunk in chunked(ids, BATCH_LIMIT):
        try:
            answer = await client.request("POST", BATCH, json={**template, "ids": chunk})
        except AuthError:
            raise
        except VendorError as exc:
            unknown = isinstance(exc, RetriableError | BadVendorAnswer)
            message = exc.message + (" (outcome unknown: the vendor may have applied it)" if unknown else "")
            report.fail(chunk, exc.kind, message)
            continue
        if client.dry_run:
            continue
        done, refused = _outcome(answer, f"{client.vendor.name}: POST {BATCH}")
        report.ok(done)
        for item in refused:
            report.fail([item["id"]], item["error_type"], item["message"])
    return {"action": template["action"], **report.output()}
