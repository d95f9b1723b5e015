"""SentinelOne bindings that change threats: update_threat_status, mitigate_threat, add_threat_note.

Every change is a ``POST`` of ``{"filter": {"ids": [...]}, "data": {...}}`` answered with
``{"data": {"affected": N}}``: a count, never which ids. So update_threat_status first reads
which ids exist (unknown ids fail as ``not_found``), sends the existing ones 1000 at a time,
and when fewer were affected than sent it reads those threats again and fails the ones whose
status did not change (``not_applied``). mitigate_threat and add_threat_note only look ids up
when the count falls short, to name the unknown ones.

A dry run sends nothing, not even the lookups: the output lists no id as succeeded or failed,
and the runner adds the POSTs that would have been sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.bulk import BulkReport, chunked
from connector.context import RunContext
from connector.errors import AuthError, BadVendorAnswer, VendorError
from connector.vendors.sentinelone.mapping import applied, incident_change
from connector.vendors.sentinelone.reads import THREATS, find_threats, threat_notes

INCIDENT = f"{THREATS}/incident"
VERDICT = f"{THREATS}/analyst-verdict"
NOTES = f"{THREATS}/notes"
MITIGATE = f"{THREATS}/mitigate"
WRITE_CHUNK = 1000
"""Ids per POST filter, as many as SentinelOne reads in one page."""


@dataclass(frozen=True)
class Failure:
    """One id of a bulk change that was not applied, and why."""

    id: str
    error_type: str
    message: str


def _body(ids: list[str], data: dict[str, Any]) -> dict[str, Any]:
    return {"filter": {"ids": ids}, "data": data}


def _affected(answer: Any, path: str) -> int:
    data = answer.get("data") if isinstance(answer, dict) else None
    affected = data.get("affected") if isinstance(data, dict) else None
    if not isinstance(affected, int) or isinstance(affected, bool):
        raise BadVendorAnswer(f"sentinelone: POST {path}: the answer has no data.affected count")
    return affected


def _describe(change: dict[str, str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in change.items())


async def update_threat_status(run: RunContext, update: dict[str, Any]) -> dict[str, Any]:
    """Set incidentStatus (and analystVerdict, and a note) on many threats, reporting each id."""
    ids = list(dict.fromkeys(update["ids"]))
    change = incident_change(update)
    # The input schema asks for a status today; a verdict alone has its own endpoint.
    path = INCIDENT if "incidentStatus" in change else VERDICT
    note: str | None = update.get("note")
    if run.dry_run:
        # Without the lookup nothing is known per id: plan every POST for every id given.
        planned = [(path, change), (NOTES, {"text": note})] if note else [(path, change)]
        for where, data in planned:
            for chunk in chunked(ids, WRITE_CHUNK):
                await run.request("POST", where, json=_body(chunk, data))
        return BulkReport(run).output()
    report = BulkReport(run)
    existing = await find_threats(run, ids)
    report.fail([i for i in ids if i not in existing], "not_found", "no threat with this id")
    for chunk in chunked([i for i in ids if i in existing], WRITE_CHUNK):
        failures = {failure.id: failure for failure in await _change(run, path, chunk, change)}
        changed = [i for i in chunk if i not in failures]
        if note and changed:
            failures.update((failure.id, failure) for failure in await _note(run, changed, note))
        for failure in failures.values():
            report.fail([failure.id], failure.error_type, failure.message)
        report.ok(i for i in chunk if i not in failures)
    return report.output(order=ids)


async def _change(run: RunContext, path: str, chunk: list[str], change: dict[str, str]) -> list[Failure]:
    """POST one chunk; when SentinelOne affected fewer than sent (or failed), re-read to see which."""
    try:
        affected = _affected(await run.request("POST", path, json=_body(chunk, change)), path)
        if affected >= len(chunk):
            return []
        problem = f"SentinelOne affected {affected} of the {len(chunk)} sent"
    except AuthError:
        raise
    except VendorError as exc:
        # A write is not retried after a 5xx and may have been applied: the re-read tells.
        problem = exc.message
    after = await find_threats(run, chunk)
    failures = []
    for threat_id in chunk:
        record = after.get(threat_id)
        if record is None:
            message = f"the threat disappeared during the change ({problem})"
            failures.append(Failure(threat_id, "not_found", message))
        elif not applied(record, change):
            info = record.get("threatInfo") or {}
            now = _describe({key: str(info.get(key)) for key in change})
            message = f"{_describe(change)} not applied ({problem}); still {now}"
            failures.append(Failure(threat_id, "not_applied", message))
    return failures


async def _note(run: RunContext, chunk: list[str], text: str) -> list[Failure]:
    """POST the note to one chunk; when fewer were affected than sent, read notes to find the missing."""
    try:
        affected = _affected(await run.request("POST", NOTES, json=_body(chunk, {"text": text})), NOTES)
    except AuthError:
        raise
    except VendorError:
        affected = 0  # the note may still have reached some threats: read them below
    if affected >= len(chunk):
        return []
    failures = []
    for threat_id in chunk:
        if not [note async for note in threat_notes(run, threat_id) if note.get("text") == text]:
            failures.append(Failure(threat_id, "note_not_added", "status changed, note not added"))
    return failures


async def mitigate_threat(run: RunContext, request: dict[str, Any]) -> dict[str, Any]:
    """Run a mitigation action (kill, quarantine...) on many threats; counts what SentinelOne affected."""
    action = request["action"]
    return await _count_change(run, f"{MITIGATE}/{action}", request["ids"], {}, f"mitigation {action}")


async def add_threat_note(run: RunContext, request: dict[str, Any]) -> dict[str, Any]:
    """Attach the same note to many threats; counts what SentinelOne affected."""
    return await _count_change(run, NOTES, request["ids"], {"text": request["text"]}, "the note")


async def _count_change(
    run: RunContext, path: str, raw_ids: list[str], data: dict[str, Any], what: str
) -> dict[str, Any]:
    """POST ``data`` to ``path`` for the ids, 1000 at a time; ``{requested, affected}``.

    Fewer affected than requested makes the run partial: unknown ids are named, and any further
    shortfall (SentinelOne does not say which) is one error about the whole request.
    """
    ids = list(dict.fromkeys(raw_ids))
    affected = 0
    for chunk in chunked(ids, WRITE_CHUNK):
        answer = await run.request("POST", path, json=_body(chunk, data))
        affected += 0 if run.dry_run else _affected(answer, path)
    if affected < len(ids) and not run.dry_run:
        existing = await find_threats(run, ids)
        for threat_id in ids:
            if threat_id not in existing:
                run.item_failed(threat_id, "not_found", "no threat with this id")
        if affected < len(existing):
            found = len(existing)
            message = f"{what} affected {affected} of the {found} found (SentinelOne does not say which)"
            run.item_failed("ids", "not_applied", message)
        run.nothing_succeeded = affected == 0
    return {"requested": len(ids), "affected": affected}
