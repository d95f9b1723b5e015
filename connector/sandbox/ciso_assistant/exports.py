"""File answers: the CSV and XLSX exports of the list, and one incident as Markdown or PDF.

Exports carry display values (the read face), one row per incident, with many-to-many values
joined by ``"; "`` and absent values as empty cells. The XLSX is a minimal but valid workbook
(one sheet of inline strings) written with ``zipfile``; the PDF is a one-page PDF 1.4 in
Helvetica. Both are byte-for-byte reproducible: no timestamps go into them.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "ref_id", "name", "description", "status", "severity", "detection", "folder", "owners", "assets",
    "threats", "qualifications", "entities", "filtering_labels", "reported_at", "link", "is_published",
    "created_at", "updated_at",
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def export_row(shape: dict[str, Any]) -> list[str]:
    """The export cells of one incident, from its read shape, in ``EXPORT_COLUMNS`` order."""
    cells: list[str] = []
    for column in EXPORT_COLUMNS:
        value = shape[column]
        if isinstance(value, list):
            cells.append("; ".join(ref["str"] for ref in value))
        elif isinstance(value, dict):
            cells.append(value["str"])
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append("" if value is None else str(value))
    return cells


def to_csv(shapes: Iterable[dict[str, Any]]) -> str:
    """A header row then one row per incident, comma-separated, RFC 4180 quoting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(export_row(shape) for shape in shapes)
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


def to_xlsx(shapes: Iterable[dict[str, Any]]) -> bytes:
    """A one-sheet workbook ("Incidents"): header row then one row per incident, all cells text."""
    rows = [list(EXPORT_COLUMNS), *(export_row(shape) for shape in shapes)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in [*_XLSX_PARTS.items(), ("xl/worksheets/sheet1.xml", _sheet_xml(rows))]:
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_EPOCH), text, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _summary_lines(shape: dict[str, Any]) -> list[tuple[str, str]]:
    cells = dict(zip(EXPORT_COLUMNS, export_row(shape), strict=True))
    labels = (
        ("Reference", "ref_id"), ("Status", "status"), ("Severity", "severity"), ("Detection", "detection"),
        ("Domain", "folder"), ("Reported at", "reported_at"), ("Owners", "owners"), ("Assets", "assets"),
        ("Threats", "threats"), ("Qualifications", "qualifications"), ("Entities", "entities"),
        ("Labels", "filtering_labels"), ("Link", "link"),
    )
    return [(label, cells[column] or "--") for label, column in labels]


def to_markdown(shape: dict[str, Any]) -> str:
    """One incident as a Markdown report: title, a field table and the description."""
    rows = "\n".join(f"| {label} | {value.replace('|', '/')} |" for label, value in _summary_lines(shape))
    description = shape["description"] or "_No description._"
    return f"# {shape['name']}\n\n| Field | Value |\n|---|---|\n{rows}\n\n## Description\n\n{description}\n"


def _pdf_text(text: str) -> str:
    latin = " ".join(text.splitlines()).encode("latin-1", errors="replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def to_pdf(shape: dict[str, Any]) -> bytes:
    """One incident as a one-page PDF: the name, then one line per field, then the description."""
    lines = [shape["name"], "", *(f"{label}: {value}" for label, value in _summary_lines(shape))]
    lines += ["", (shape["description"] or "")[:300]]
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
