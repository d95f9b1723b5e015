"""Reading many incidents: the list (limit/offset paging) and the CSV/XLSX exports, with one filter mapping.

The list filters are django-filter's: relation filters and the choice filters take the parameter
repeated, ``id`` takes comma-separated uuids. The API has no time filter, so ``since``/``until``
(on ``updated_at``) are applied here, after reading: ``total`` is then unknown (null).
"""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from connector.errors import BadVendorAnswer
from connector.http import VendorClient
from connector.vendors.ciso_assistant.incidents import INCIDENTS, PAGE_SIZE, PAGING, file_answer
from connector.vendors.ciso_assistant.mapping import (
    incident_id,
    native_severity,
    native_statuses,
    normalize_incident,
)

RELATION_FILTERS = ("folder", "owners", "assets", "entities", "qualifications", "filtering_labels")
EXPORTS = {
    "csv": ("export_csv/", "text/csv"),
    "xlsx": ("export_xlsx/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_SHEET_ROW = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"


def incident_query(filters: dict[str, Any]) -> dict[str, Any]:
    """The ``GET /api/incidents/`` query (also the exports') for the common and native filters."""
    query: dict[str, Any] = {}
    if "severity" in filters:
        query["severity"] = list(dict.fromkeys(native_severity(value) for value in filters["severity"]))
    if "status" in filters:
        slugs = (slug for value in filters["status"] for slug in native_statuses(value))
        query["status"] = list(dict.fromkeys(slugs))
    for name in ("detection", *RELATION_FILTERS):
        if name in filters:
            query[name] = list(filters[name])
    if "ids" in filters:
        query["id"] = ",".join(dict.fromkeys(incident_id(value) for value in filters["ids"]))
    for name in ("search", "ordering"):
        if name in filters:
            query[name] = filters[name]
    return query


def _within(stamp: str | None, since: datetime | None, until: datetime | None) -> bool:
    if since is None and until is None:
        return True
    if stamp is None:
        return False
    moment = datetime.fromisoformat(stamp)
    return (since is None or moment >= since) and (until is None or moment <= until)


def _instant(filters: dict[str, Any], name: str) -> datetime | None:
    value = filters.get(name)
    # RFC 3339 allows a lower-case "t" and "z", which fromisoformat does not read.
    return datetime.fromisoformat(value.upper()) if value else None


async def list_incidents(client: VendorClient, filters: dict[str, Any]) -> dict[str, Any]:
    """Every incident matching the filters (or the first ``limit``), page by page."""
    since, until = _instant(filters, "since"), _instant(filters, "until")
    local_filter = since is not None or until is not None
    limit: int | None = filters.get("limit")
    query = incident_query(filters)
    query["limit"] = min(PAGE_SIZE, limit) if limit and not local_filter else PAGE_SIZE
    include_raw = bool(filters.get("include_raw"))
    incidents: list[dict[str, Any]] = []
    total: int | None = None
    # Without a local filter max_records stops the paging; with one, the count of kept records does.
    async for page in client.pages(INCIDENTS, query, PAGING, max_records=None if local_filter else limit):
        if total is None and isinstance(page.body.get("count"), int):
            total = page.body["count"]
        for record in page.records:
            incident = normalize_incident(record, include_raw=include_raw)
            if _within(incident["updated_at"], since, until) and (limit is None or len(incidents) < limit):
                incidents.append(client.emit(incident))
        if limit is not None and len(incidents) >= limit:
            break
    return {"incidents": incidents, "count": len(incidents), "total": None if local_filter else total}


async def export_incidents(client: VendorClient, document: dict[str, Any]) -> dict[str, Any]:
    """The vendor's own export of the matching incidents: CSV as text, XLSX as base64."""
    fmt = document.get("format", "csv")
    suffix, expected = EXPORTS[fmt]
    path = INCIDENTS + suffix
    response = await file_answer(client, path, incident_query(document.get("filters") or {}), expected)
    content_type = response.headers["content-type"]
    if fmt == "csv":
        text = response.text
        return {"format": fmt, "content_type": content_type, "rows": _csv_rows(text), "csv": text}
    content = response.content
    return {"format": fmt, "content_type": content_type, "rows": _xlsx_rows(client, path, content),
            "base64": base64.b64encode(content).decode("ascii")}


def _csv_rows(text: str) -> int:
    """Data rows of a CSV export (quoted line breaks count once), without the header."""
    return max(sum(1 for row in csv.reader(io.StringIO(text)) if row) - 1, 0)


def _xlsx_rows(client: VendorClient, path: str, content: bytes) -> int:
    """Data rows of the first sheet of an XLSX export, without the header."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            sheets = sorted(name for name in book.namelist() if name.startswith("xl/worksheets/sheet"))
            root = ElementTree.fromstring(book.read(sheets[0]))
    except (zipfile.BadZipFile, IndexError, KeyError, ElementTree.ParseError):
        raise BadVendorAnswer(f"{client.vendor.name}: GET {path}: the workbook cannot be read") from None
    return max(sum(1 for _ in root.iter(_SHEET_ROW)) - 1, 0)
