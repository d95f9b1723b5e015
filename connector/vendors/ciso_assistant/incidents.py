"""Single-incident bindings: create (idempotent by ref_id), get (four formats), update, delete.

Writes answer with the write face, which lacks timestamps and names; the bindings read the
incident back (``GET /api/incidents/{id}/``) so every action returns the same complete record.
Should that read fail, the write still happened: the record mapped from the write face is returned.
"""

from __future__ import annotations

import base64
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

import httpx

from connector.context import RunContext
from connector.errors import BadInput, BadVendorAnswer, RetriableError, VendorError
from connector.paging import OffsetPaging
from connector.vendors.ciso_assistant.labels import write_with_labels
from connector.vendors.ciso_assistant.mapping import (
    body_from_threat,
    content_ref_id,
    incident_id,
    normalize_incident,
    same_ref_id,
    write_body,
)

INCIDENTS = "/api/incidents/"
PAGE_SIZE = 100
PAGING = OffsetPaging(records_at=("results",), total_at=("count",))
DRY_RUN_ID = "dry-run"
CREATE_DEFAULTS = {"status": "new", "severity": 3, "detection": "internally_detected", "is_published": True}
"""What the real server sets when a create leaves them out (and reported_at = the time of the
request); shown in a dry run's planned incident."""
REF_ID_TAKEN = "is already used in this scope"
"""The server's refusal of a ref_id its folder already holds."""
FILE_FORMATS = {"markdown": ("md/", "text/markdown"), "pdf": ("pdf/", "application/pdf")}


def detail_path(vendor_id: str, suffix: str = "") -> str:
    """``/api/incidents/{id}/`` (plus a sub-resource such as ``cascade-info/``); DRF wants the slash."""
    return f"{INCIDENTS}{vendor_id}/{suffix}"


def _dump(run: RunContext, threat: dict[str, Any]) -> dict[str, Any]:
    return run.emit(threat)


async def _read_back(run: RunContext, written: Any, include_raw: bool) -> dict[str, Any]:
    if not isinstance(written, dict):
        raise BadVendorAnswer(f"{run.vendor.name}: a write answered {type(written).__name__}, no incident")
    try:
        current = await run.request("GET", detail_path(str(written.get("id"))))
    except VendorError:
        current = written
    return normalize_incident(current, include_raw=include_raw)


def in_global(record: dict[str, Any]) -> bool:
    """A listed incident is in the Global folder when its ``path`` is empty (lists leave the root out)."""
    return record.get("path") == []


async def find_by_ref_id(run: RunContext, ref_id: str, folder: str | None) -> dict[str, Any] | None:
    """The oldest incident holding ``ref_id`` in ``folder`` (Global when None), compared as the server compares.

    The server has no ref_id filter (``?ref_id=`` is ignored), so this searches (a substring match
    on name, description and ref_id), narrowed to the folder when one is given, oldest first, and
    keeps the exact ref_id: the same one in another folder is another incident.
    """
    query: dict[str, Any] = {"search": ref_id.strip(), "ordering": "created_at", "limit": PAGE_SIZE}
    if folder:
        query["folder"] = folder
    async with aclosing(run.pages(INCIDENTS, query, PAGING)) as pages:
        async for page in pages:
            for record in page.records:
                if isinstance(record, dict) and same_ref_id(record.get("ref_id"), ref_id) and (
                    folder or in_global(record)
                ):
                    return record
    return None


def _create_body(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "from_threat" in document:
        body = body_from_threat(document["from_threat"])
    body.update(write_body(document))
    if not str(body.get("ref_id") or "").strip():
        body["ref_id"] = content_ref_id(body)
    # Without a folder the server files the incident in Global itself: nothing to look up first.
    folder = body.get("folder") or run.option.get("folder")
    if folder:
        body["folder"] = folder
    return body


def _lost_race(error: VendorError) -> bool:
    """The server refused the create because the ref_id got taken in the meantime."""
    return error.status == 400 and "ref_id: " in error.message and REF_ID_TAKEN in error.message


def _planned(body: dict[str, Any]) -> dict[str, Any]:
    """The incident a dry-run create would make: the server's defaults under the given fields."""
    reported = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return normalize_incident({"id": DRY_RUN_ID, **CREATE_DEFAULTS, "reported_at": reported, **body})


async def create_incident(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """Open an incident unless its folder holds the ref_id already; a lost answer or race never creates twice."""
    include_raw = bool(document.get("include_raw"))
    body = _create_body(run, document)
    ref_id, folder = body["ref_id"], body.get("folder")
    if run.dry_run:
        # A dry run sends nothing, reads included: whether the incident exists stays unknown (null).
        await run.request("POST", INCIDENTS, json={k: v for k, v in body.items() if v is not None})
        return {"incident": _planned(body), "existed": None, "ref_id": ref_id}
    found = await find_by_ref_id(run, ref_id, folder)
    if found is not None:
        return _existing(run, found, ref_id, include_raw)
    try:
        written = await write_with_labels(run, "POST", INCIDENTS, body)
    except VendorError as error:
        # A 400 "already used": a concurrent create with this ref_id won, so report the stored one.
        # Time-out, reset, 5xx or a garbled answer: the vendor may have created it all the same.
        lost_race = _lost_race(error)
        if not (lost_race or isinstance(error, RetriableError | BadVendorAnswer)):
            raise
        found = await find_by_ref_id(run, ref_id, folder)
        if found is None:
            raise
        if lost_race:
            return _existing(run, found, ref_id, include_raw)
        run.meta["recovered"] = True
        incident = normalize_incident(found, include_raw=include_raw)
    else:
        oldest = await _oldest_after_create(run, written, ref_id, folder)
        if oldest is not None and str(oldest.get("id")) != str(written.get("id")):
            return _existing(run, oldest, ref_id, include_raw)
        # The search found this create's own incident: it is the read-back (the list's read face).
        incident = normalize_incident(oldest, include_raw=include_raw) if oldest is not None else (
            await _read_back(run, written, include_raw))
    run.meta["existed"] = False
    return {"incident": _dump(run, incident), "existed": False, "ref_id": ref_id}


async def _oldest_after_create(
    run: RunContext, written: Any, ref_id: str, folder: str | None
) -> dict[str, Any] | None:
    """After a create, the oldest incident with its ref_id in the folder; when that is another
    incident, this create's own is deleted.

    The server's uniqueness check is not atomic with its insert: concurrent creates can all pass it.
    Each looks again after its POST and only the oldest incident stays; every newer one removes itself.
    """
    if not isinstance(written, dict) or not written.get("id"):
        raise BadVendorAnswer(f"{run.vendor.name}: a create answered {type(written).__name__}, no incident id")
    oldest = await find_by_ref_id(run, ref_id, folder)
    if oldest is not None and str(oldest.get("id")) != str(written["id"]):
        await run.request("DELETE", detail_path(str(written["id"])))
        run.meta["removed_twin"] = str(written["id"])
    return oldest


def _existing(run: RunContext, found: dict[str, Any], ref_id: str, include_raw: bool) -> dict[str, Any]:
    """The create's output when the folder already held the ref_id: the stored incident, existed."""
    run.meta["existed"] = True
    incident = normalize_incident(found, include_raw=include_raw)
    return {"incident": _dump(run, incident), "existed": True, "ref_id": ref_id}


async def get_incident(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """One incident: the read face as a common record, the write face (object), or a Markdown/PDF report."""
    vendor_id = incident_id(document["id"])
    fmt = document.get("format", "json")
    include_raw = bool(document.get("include_raw"))
    if fmt == "json":
        record = await run.request("GET", detail_path(vendor_id))
        return {"format": fmt, "incident": _dump(run, _incident(run, record, include_raw))}
    if fmt == "object":
        record = await run.request("GET", detail_path(vendor_id, "object/"))
        incident = _incident(run, record, include_raw)
        return {"format": fmt, "incident": _dump(run, incident), "object": record}
    suffix, expected = FILE_FORMATS[fmt]
    response = await file_answer(run, detail_path(vendor_id, suffix), {}, expected)
    content_type = response.headers["content-type"]
    if fmt == "pdf":
        return {"format": fmt, "content_type": content_type, "encoding": "base64",
                "content": base64.b64encode(response.content).decode("ascii")}
    return {"format": fmt, "content_type": content_type, "encoding": "text", "content": response.text}


async def file_answer(run: RunContext, path: str, params: dict[str, Any], expected: str) -> httpx.Response:
    """The answer of a GET that returns a file; one of another media type (a sign-in page) is refused."""
    response: httpx.Response = await run.request("GET", path, params=params, raw=True)
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type != expected:
        raise BadVendorAnswer(f"{run.vendor.name}: GET {path}: answered {media_type or 'no type'}, not {expected}")
    return response


def _incident(run: RunContext, record: Any, include_raw: bool) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise BadVendorAnswer(f"{run.vendor.name}: expected an incident, got {type(record).__name__}")
    return normalize_incident(record, include_raw=include_raw)


async def update_incident(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """Change an incident: PATCH the given fields (default) or PUT them (``partial: false``)."""
    vendor_id = incident_id(document["id"])
    body = write_body(document)
    if not body:
        raise BadInput("input: give at least one incident field to change (name, status, severity, ...)")
    method = "PATCH" if document.get("partial", True) else "PUT"
    written = await write_with_labels(run, method, detail_path(vendor_id), body)
    if run.dry_run:
        planned = normalize_incident({**body, "id": vendor_id})
        return {"incident": planned}
    incident = await _read_back(run, written, bool(document.get("include_raw")))
    return {"incident": _dump(run, incident)}


async def delete_incident(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """Delete an incident, or with ``preview`` only say what the delete would take along."""
    vendor_id = incident_id(document["id"])
    if document.get("preview"):
        cascade = await run.request("GET", detail_path(vendor_id, "cascade-info/"))
        if not isinstance(cascade, dict):
            raise BadVendorAnswer(f"{run.vendor.name}: cascade-info answered {type(cascade).__name__}")
        return {"id": vendor_id, "deleted": False, "cascade": cascade}
    await run.request("DELETE", detail_path(vendor_id))
    return {"id": vendor_id, "deleted": not run.dry_run}
