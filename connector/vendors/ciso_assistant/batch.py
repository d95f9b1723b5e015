"""``POST /api/incidents/batch-action/``: one action on many incidents, 100 ids per request, per-id outcome.

The vendor answers ``{"succeeded": [{"id", "name"}], "failed": [{"id", "name"?, "error"}]}`` per
request, ``error`` being a text or DRF field errors (``{"folder": ["Invalid pk ..."]}``, shown as
``folder: Invalid pk ...``); the chunks' answers are merged. A request that fails as a whole marks
its ids failed and the next chunk still runs, except for an authentication failure, which would
fail every chunk alike. A 5xx or a time-out on a batch leaves its outcome unknown (the vendor may
have applied it): the message says so.

Every action but ``delete`` falls back to one PATCH per id when the server fails the ids with
"Unexpected error" and none succeeds: the real server (upstream f990d7b1) does so for every id,
because its view's ``perform_update`` calls ``get_object()``, which needs the URL's id that a batch
request has not. ``add_m2m`` and ``remove_m2m`` first read each incident's list (``object/``, the
write face) and PATCH it with the ids added or removed. The PATCHes run concurrently (the
connection's rate limit paces them) and each id is reported on its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from connector.bulk import BulkReport, chunked
from connector.context import RunContext
from connector.errors import AuthError, BadVendorAnswer, RetriableError, VendorError
from connector.vendors.ciso_assistant.incidents import INCIDENTS, detail_path
from connector.vendors.ciso_assistant.mapping import (
    VALUE_BY_COMMON_SEVERITY,
    error_detail,
    incident_id,
    native_status,
)

BATCH = f"{INCIDENTS}batch-action/"
BATCH_LIMIT = 100
UPSTREAM_DEFECT = "Unexpected error"
RELATION_ACTIONS = ("change_m2m", "add_m2m", "remove_m2m")


def batch_template(document: dict[str, Any]) -> dict[str, Any]:
    """The batch body without ids; a status or severity value may be given in the common vocabulary."""
    action = document["action"]
    template: dict[str, Any] = {"action": action}
    if action == "change_field" or action in RELATION_ACTIONS:
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
        {"id": str(item.get("id")), "error_type": "vendor", "message": error_detail(item.get("error")) or "failed"}
        for item in answer["failed"] if isinstance(item, dict)
    ]
    done = [str(item.get("id") if isinstance(item, dict) else item) for item in answer["succeeded"]]
    return done, failed


async def _change(run: RunContext, vendor_id: str, template: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body doing ``template``'s action on one incident (a list change reads its list first)."""
    action, value = template["action"], template["value"]
    if action == "change_folder":
        return {"folder": value}
    field = template["field"]
    if action not in ("add_m2m", "remove_m2m"):
        return {field: value}
    face = await run.request("GET", detail_path(vendor_id, "object/"))
    current = face.get(field) if isinstance(face, dict) else None
    if not isinstance(current, list):
        raise BadVendorAnswer(f"{run.vendor.name}: GET {detail_path(vendor_id, 'object/')}: no {field} list")
    given = [str(item).lower() for item in value]
    if action == "add_m2m":
        return {field: list(dict.fromkeys([*map(str, current), *given]))}
    return {field: [item for item in map(str, current) if item.lower() not in given]}


async def _patch_each(run: RunContext, ids: list[str], template: dict[str, Any], report: BulkReport) -> None:
    """Do ``template``'s action on each id at once with a PATCH, reporting each; an authentication
    failure stops the action."""
    refused: list[AuthError] = []

    async def one(vendor_id: str) -> None:
        try:
            change = await _change(run, vendor_id, template)
            await run.request("PATCH", detail_path(vendor_id), json=change)
        except AuthError as error:
            refused.append(error)
        except VendorError as error:
            report.fail([vendor_id], error.kind, error.message)
        else:
            report.ok([vendor_id])

    await asyncio.gather(*(one(vendor_id) for vendor_id in ids))
    if refused:
        raise refused[0]


async def incident_batch_action(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """Run one batch action over every id, 100 per request, and report each id."""
    ids = list(dict.fromkeys(incident_id(value) for value in document["ids"]))
    template = batch_template(document)
    action = template["action"]
    report = BulkReport(run)
    for chunk in chunked(ids, BATCH_LIMIT):
        try:
            answer = await run.request("POST", BATCH, json={**template, "ids": chunk})
        except AuthError:
            raise
        except VendorError as exc:
            unknown = isinstance(exc, RetriableError | BadVendorAnswer)
            message = exc.message + (" (outcome unknown: the vendor may have applied it)" if unknown else "")
            report.fail(chunk, exc.kind, message)
            continue
        if run.dry_run:
            continue
        done, refused = _outcome(answer, f"{run.vendor.name}: POST {BATCH}")
        report.ok(done)
        defect = [item["id"] for item in refused if item["message"] == UPSTREAM_DEFECT]
        if action == "delete" or done:
            defect = []
        for item in refused:
            if item["id"] not in defect:
                report.fail([item["id"]], item["error_type"], item["message"])
        if defect:
            run.meta["patched_one_by_one"] = run.meta.get("patched_one_by_one", 0) + len(defect)
            await _patch_each(run, defect, template, report)
    return {"action": action, **report.output(order=ids)}
