"""Reading many incidents: the list (limit/offset paging) and the CSV/XLSX exports, with one filter mapping.

The list filters are django-filter's: relation filters and the choice filters take the parameter
repeated, ``id`` takes comma-separated uuids. ``since``/``until`` (on ``updated_at``) become the
server's ``updated_at__gte`` and ``updated_at__lt`` (until plus one microsecond, the server's
precision, so that ``until`` stays inclusive).

The CSV export is ``;``-separated with a UTF-8 BOM, and a field may hold line breaks: rows are
counted by a CSV reader, never by lines.
"""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from connector.context import RunContext
from connector.errors import BadVendorAnswer
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
    since, until = _instant(filters, "since"), _instant(filters, "until")
    if since is not None:
        query["updated_at__gte"] = _drf_instant(since)
    if until is not None:
        query["updated_at__lt"] = _drf_instant(until + timedelta(microseconds=1))
    return query


def _instant(filters: dict[str, Any], name: str) -> datetime | None:
    value = filters.get(name)
    # RFC 3339 allows a lower-case "t" and "z", which fromisoformat does not read.
    return datetime.fromisoformat(value.upper()).astimezone(UTC) if value else None


def _drf_instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def list_incidents(run: RunContext, filters: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    """Every incident matching the filters (or the first ``limit``), page by page."""
    limit: int | None = filters.get("limit")
    query = incident_query(filters)
    query["limit"] = min(PAGE_SIZE, limit) if limit else PAGE_SIZE
    include_raw = bool(filters.get("include_raw"))
    total: int | None = None
    walk = run.pages(INCIDENTS, query, PAGING, max_records=limit, resumable=True)
    async with aclosing(walk) as pages:
        async for page in pages:
            if page.number == 1 and isinstance(page.body.get("count"), int):
                total = page.body["count"]
                run.total_known(total, limit)
            for record in page.records:
                incident = run.map_record(normalize_incident, record, include_raw=include_raw)
                if incident is not None:
                    yield incident
    run.fields["total"] = total


async def export_incidents(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """The vendor's own export of the matching incidents: CSV as text, XLSX as base64."""
    fmt = document.get("format", "csv")
    suffix, expected = EXPORTS[fmt]
    path = INCIDENTS + suffix
    response = await file_answer(run, path, incident_query(document.get("filters") or {}), expected)
    content_type = response.headers["content-type"]
    if fmt == "csv":
        text = response.text
        return {"format": fmt, "content_type": content_type, "rows": _csv_rows(text), "csv": text}
    content = response.content
    return {"format": fmt, "content_type": content_type, "rows": _xlsx_rows(run, path, content),
            "base64": base64.b64encode(content).decode("ascii")}


def _csv_rows(text: str) -> int:
    """Data rows of a CSV export (quoted line breaks count once), without the header."""
    text = text.removeprefix("\ufeff")
    header = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header else ","
    return max(sum(1 for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row) - 1, 0)


def _xlsx_rows(run: RunContext, path: str, content: bytes) -> int:
    """Data rows of the first sheet of an XLSX export, without the header."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            sheets = sorted(name for name in book.namelist() if name.startswith("xl/worksheets/sheet"))
            root = ElementTree.fromstring(book.read(sheets[0]))
    except (zipfile.BadZipFile, IndexError, KeyError, ElementTree.ParseError):
        raise BadVendorAnswer(f"{run.vendor.name}: GET {path}: the workbook cannot be read") from None
    return max(sum(1 for _ in root.iter(_SHEET_ROW)) - 1, 0)
