"""File answers: the CSV and XLSX exports of the list, and one incident as Markdown or PDF.

The CSV is the recorded one: a UTF-8 BOM, ``;`` separators, CRLF row ends, minimal quoting,
display labels, UTC dates without zone, related objects by name joined with ``,``, and a leading
``'`` on text that a spreadsheet would run as a formula. The XLSX holds the same rows (a minimal
valid workbook of inline strings written with ``zipfile``); the Markdown report follows the recorded
layout and the PDF is a one-page PDF 1.4 of its lines. Both binaries are byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from connector.sandbox.ciso_assistant.store import (
    ADMIN_EMAIL,
    DETECTION_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Store,
)

EXPORT_COLUMNS: tuple[str, ...] = (
    "internal_id", "ref_id", "name", "description", "status", "severity", "detection", "reported_at", "owners",
    "folder", "qualifications", "threats", "assets", "entities", "link", "occurred_at", "resolved_at",
    "resolution", "is_bcp_activated", "labels",
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ASSET_TYPES = {"SP": "Support", "PR": "Primary"}
_FORMULA_STARTS = ("=", "+", "-", "@")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _moment(value: datetime | None, *, seconds: bool = False) -> str:
    """UTC without zone, ``.ffffff`` only when non-zero (Python's str of a naive datetime)."""
    if value is None:
        return ""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return str(naive.replace(microsecond=0) if seconds else naive)


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _names(incident: Incident, store: Store, relation: str, *, shown: bool = False) -> str:
    refs = [store.related[relation][ref] for ref in incident.relations[relation]]
    return ",".join(ref.text if shown else ref.name for ref in refs)


def export_row(incident: Incident, store: Store) -> list[str]:
    """The export cells of one incident, in ``EXPORT_COLUMNS`` order."""
    bcp = incident.is_bcp_activated
    return [
        incident.id, _text(incident.ref_id), _text(incident.name), _text(incident.description),
        STATUS_LABELS[incident.status], SEVERITY_LABELS[incident.severity],
        DETECTION_LABELS.get(incident.detection or "", ""), _moment(incident.reported_at),
        _names(incident, store, "owners", shown=True), store.folder_name(incident.folder),
        _names(incident, store, "qualifications"), _names(incident, store, "threats"),
        _names(incident, store, "assets"), _names(incident, store, "entities"), _text(incident.link),
        _moment(incident.occurred_at), _moment(incident.resolved_at), _text(incident.resolution),
        "" if bcp is None else str(bcp), _names(incident, store, "filtering_labels"),
    ]


def to_csv(incidents: Iterable[Incident], store: Store) -> str:
    """The BOM, the header row, then one row per incident."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(export_row(incident, store) for incident in incidents)
    return buffer.getvalue()


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _sheet_xml(rows: Sequence[Sequence[str]]) -> str:
    lines = []
    for row_number, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{_column_letters(column)}{row_number}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(_XML_FORBIDDEN.sub('', value))}</t></is></c>"
            for column, value in enumerate(row)
        )
        lines.append(f'<row r="{row_number}">{cells}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(lines)
        + "</sheetData></worksheet>"
    )


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Incidents" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def to_xlsx(incidents: Iterable[Incident], store: Store) -> bytes:
    """A one-sheet workbook ("Incidents"): header row then one row per incident, all cells text."""
    rows = [list(EXPORT_COLUMNS), *(export_row(incident, store) for incident in incidents)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in [*_XLSX_PARTS.items(), ("xl/worksheets/sheet1.xml", _sheet_xml(rows))]:
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_EPOCH), text, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _or_na(value: str) -> str:
    return value or "N/A"


def _information(incident: Incident, store: Store) -> list[str]:
    bcp = {None: "N/A", True: "Yes", False: "No"}[incident.is_bcp_activated]
    fields = (
        ("Name", incident.name), ("Reference ID", incident.ref_id), ("Description", incident.description or ""),
        ("Status", STATUS_LABELS[incident.status]), ("Severity", SEVERITY_LABELS[incident.severity]),
        ("Detection", DETECTION_LABELS.get(incident.detection or "", "")),
        ("Domain", store.folder_name(incident.folder)),
        ("Owners", ", ".join(store.related["owners"][ref].text for ref in incident.relations["owners"])),
        ("Reported At", _moment(incident.reported_at, seconds=True)),
        ("Occurred At", _moment(incident.occurred_at, seconds=True)),
        ("Resolved At", _moment(incident.resolved_at, seconds=True)), ("BCP Activated", bcp),
        ("Created", _moment(incident.created_at, seconds=True)),
        ("Last Updated", _moment(incident.updated_at, seconds=True)),
    )
    return [f"- **{label}**: {_or_na(value)}" for label, value in fields]


def to_markdown(incident: Incident, store: Store) -> str:
    """One incident as the recorded Markdown report: information, resolution, assets, timeline."""
    parts = [f"# {incident.name}", "## Incident Information", "\n".join(_information(incident, store))]
    if incident.resolution:
        parts += ["### Resolution", incident.resolution]
    assets = [store.related["assets"][ref] for ref in incident.relations["assets"]]
    rows = [f"| {ref.name} | {ASSET_TYPES.get(ref.kind, ref.kind)} |" for ref in assets]
    parts += ["## Affected Assets", "\n".join(["| Name | Type |", "|------|------|", *rows]) if rows else "N/A"]
    parts += ["## Timeline", "*Events are listed in chronological order*"]
    for entry in sorted(incident.timeline, key=lambda item: item.at):
        parts += [f"### {_moment(entry.at, seconds=True)} - {entry.name}", f"**Type**: {entry.kind}",
                  f"**Author**: {ADMIN_EMAIL}", "---"]
    return "\n\n".join(parts) + "\n\n"


def slug(name: str) -> str:
    """Django's slugify: lower case, letters, digits, ``_`` and ``-``, spaces to hyphens."""
    text = re.sub(r"[^\w\s-]", "", name.lower())
    return re.sub(r"[-\s]+", "-", text).strip("-_")


def _pdf_text(text: str) -> str:
    latin = " ".join(text.splitlines()).encode("latin-1", errors="replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def to_pdf(incident: Incident, store: Store) -> bytes:
    """One incident as a one-page PDF: the Markdown report's lines, as plain text."""
    lines = to_markdown(incident, store).splitlines()[:50]
    text = " T*\n".join(f"({_pdf_text(line[:95])}) Tj" for line in lines)
    content = f"BT /F1 11 Tf 56 790 Td 15 TL\n{text}\nET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    document = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(document)
    document += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    document += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    document += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(document)
