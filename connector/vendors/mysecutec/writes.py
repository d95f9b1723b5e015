"""Bindings that change threats: update_threat (one threat) and update_threat_status (bulk).

The bulk endpoint takes at most 1000 ids and answers per id (``successful``/``failed`` and a
summary). Ids are de-duplicated, cut into chunks of 1000 sent concurrently, and the answers merged
back in the order of the input. A chunk the vendor refused as a whole fails each of its ids; when
every chunk was refused the action fails with the vendor's error. In a dry run nothing is sent and
nothing attempted: the output is empty with a zero summary, beside the planned requests.
"""

from __future__ import annotations

from typing import Any

from connector.bulk import BulkReport, chunked
from connector.context import RunContext
from connector.errors import BadInput, BadVendorAnswer, VendorError
from connector.vendors.mysecutec.api import BULK_STATUS, gather_bounded
from connector.vendors.mysecutec.mapping import (
    BULK_USER_STATUSES,
    NAME,
    USER_STATUS_BY_COMMON,
    normalize_threat,
)
from connector.vendors.mysecutec.reads import threat_request

BULK_MAX_IDS = 1000
Outcome = tuple[str, str]
"""A failed id's (error_type, message)."""


def bulk_user_status(input: dict[str, Any]) -> str:
    """The user_status to send: ``vendor_status`` as is, else the common status mapped."""
    if "verdict" in input:
        raise BadInput("input.verdict: mysecutec has no analyst verdict (use status false_positive instead)")
    if "vendor_status" in input:
        value = input["vendor_status"]
        if value not in BULK_USER_STATUSES:
            raise BadInput(
                f"input.vendor_status: {value!r} is not a mysecutec user status "
                f"(allowed: {', '.join(BULK_USER_STATUSES)})"
            )
        return str(value)
    status = input["status"]
    if status not in USER_STATUS_BY_COMMON:
        raise BadInput(
            f"input.status: {status!r} cannot be expressed for mysecutec "
            f"(allowed: {', '.join(USER_STATUS_BY_COMMON)}, or a vendor_status)"
        )
    return USER_STATUS_BY_COMMON[status]


async def update_threat_status(run: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """One user status (and note) on many threats; per-id succeeded/failed and a summary."""
    body: dict[str, Any] = {"user_status": bulk_user_status(input)}
    if "note" in input:
        body["user_status_note"] = input["note"]
    ids = list(dict.fromkeys(input["ids"]))
    chunks = chunked(ids, BULK_MAX_IDS)
    report = BulkReport(run)
    refusals: list[VendorError] = []

    async def send(chunk: list[str]) -> None:
        try:
            answer = await run.request("PATCH", BULK_STATUS, json={"threat_ids": chunk, **body})
            outcomes = {} if run.dry_run else _outcomes(chunk, answer)
        except VendorError as exc:
            refusals.append(exc)
            report.fail(chunk, exc.kind, exc.message)
            return
        report.ok(threat_id for threat_id, outcome in outcomes.items() if outcome is None)
        for threat_id, outcome in outcomes.items():
            if outcome is not None:
                report.fail([threat_id], *outcome)

    await gather_bounded(chunks, send)
    if refusals and len(refusals) == len(chunks):
        raise refusals[0]
    return report.output(order=ids)


def _outcomes(chunk: list[str], answer: Any) -> dict[str, Outcome | None]:
    """Each id of the chunk: None when it succeeded, else (error_type, message)."""
    successful = answer.get("successful") if isinstance(answer, dict) else None
    failures = answer.get("failed") if isinstance(answer, dict) else None
    if not isinstance(successful, list) or not isinstance(failures, list):
        raise BadVendorAnswer(f"{NAME}: PATCH {BULK_STATUS}: the answer has no successful/failed lists")
    outcomes: dict[str, Outcome | None] = {
        threat_id: ("not_reported", "the vendor reported neither success nor failure for this id")
        for threat_id in chunk
    }
    for item in failures:
        if isinstance(item, dict) and item.get("threat_id") in outcomes:
            kind = str(item.get("error_type") or "failed")
            outcomes[item["threat_id"]] = (kind, str(item.get("error_message") or kind))
    for item in successful:
        if isinstance(item, dict) and item.get("threat_id") in outcomes:
            outcomes[item["threat_id"]] = None
    return outcomes


async def update_threat(run: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """Note, user status and annotation of one threat; the threat as it is after the change.

    In a dry run the PATCH is only planned, and the threat is returned as it is now.
    """
    body = {
        vendor_field: input[field]
        for field, vendor_field in (("note", "note"), ("user_status", "user_status"),
                                    ("annotation", "unsolved_annotation_note"))
        if field in input
    }
    threat_id = input["id"]
    record = await threat_request(run, "PATCH", threat_id, json=body)
    if record is None:
        record = await threat_request(run, "GET", threat_id)
        assert record is not None, "a GET is sent even in a dry run"
    return {"threat": run.emit(normalize_threat(record, include_raw=bool(input.get("include_raw"))))}
