"""The CISO Assistant simulator: batch actions, choices, metrics, exports and reports."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from typing import Any
from xml.etree import ElementTree

from tests.sandbox.ciso_assistant.conftest import MISSING_ID, SEVERITY_VALUES, SIZE, Client, ids_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def test_batch_change_field_fails_every_id_as_upstream_does(api: Client) -> None:
    first, second = api.everything()[:2]
    body = {"action": "change_field", "ids": [first["id"], MISSING_ID, second["id"]], "field": "status",
            "value": "resolved"}
    answer = api.post("/api/incidents/batch-action/", json=body)
    assert answer.status_code == 200
    assert answer.json() == {
        "succeeded": [],
        "failed": [
            {"id": first["id"], "name": first["name"], "error": "Unexpected error"},
            {"id": MISSING_ID, "error": "Object not found or access denied"},
            {"id": second["id"], "name": second["name"], "error": "Unexpected error"},
        ],
    }
    assert [api.get(f"/api/incidents/{r['id']}/").json()["status"] for r in (first, second)] == [
        first["status"], second["status"]]


def test_batch_delete_reports_names_in_the_order_of_ids(api: Client) -> None:
    first, second = api.everything()[:2]
    delete = {"action": "delete", "ids": [first["id"], second["id"], first["id"]]}
    answer = api.post("/api/incidents/batch-action/", json=delete).json()
    assert answer == {
        "succeeded": [{"id": first["id"], "name": first["name"]}, {"id": second["id"], "name": second["name"]}],
        "failed": [{"id": first["id"], "error": "Object not found or access denied"}],
    }
    assert api.get(f"/api/incidents/{second['id']}/").status_code == 404


def test_batch_takes_at_most_100_ids(api: Client) -> None:
    ids = ids_of(api.everything())
    over = api.post("/api/incidents/batch-action/", json={"action": "delete", "ids": ids[:101]})
    assert (over.status_code, over.json()) == (400, {"error": "too many ids", "max": 100})
    assert len(api.everything()) == SIZE
    exact = api.post("/api/incidents/batch-action/", json={"action": "delete", "ids": ids[:100]}).json()
    assert len(exact["succeeded"]) == 100
    assert len(api.everything()) == SIZE - 100


def test_batch_envelope_errors(api: Client) -> None:
    def refusal(body: dict[str, Any]) -> Any:
        answer = api.post("/api/incidents/batch-action/", json=body)
        assert answer.status_code == 400
        return answer.json()

    assert refusal({"action": "archive", "ids": []}) == {"error": "Invalid action type"}
    assert refusal({"action": "delete", "ids": []}) == {"error": "No ids provided"}
    assert refusal({"action": "change_field", "ids": [MISSING_ID], "field": "owners"}) == {
        "error": "field not editable: owners"}
    assert refusal({"action": "change_m2m", "ids": [MISSING_ID], "field": "status"}) == {
        "error": "field not editable: status"}
    assert refusal({}) == {"error": "Invalid action type"}


def test_choice_endpoints(api: Client) -> None:
    assert api.get("/api/incidents/severity/").json() == {
        "1": "Critical", "2": "Major", "3": "Moderate", "4": "Minor", "5": "Low", "6": "unknown",
    }
    assert api.get("/api/incidents/status/").json() == {
        "new": "New", "ongoing": "Ongoing", "resolved": "Resolved", "closed": "Closed",
        "dismissed": "Dismissed",
    }
    assert api.get("/api/incidents/detection/").json() == {
        "internally_detected": "Internal", "externally_detected": "External",
    }


def test_summary_and_breakdowns_match_the_records(api: Client, refs: dict[str, list[str]]) -> None:
    everything = api.everything()
    summary = api.get("/api/incidents/summary_stats/").json()
    assert summary == {"results": {
        "total_incidents": SIZE,
        "incidents_this_month": sum(1 for r in everything if (r["reported_at"] or "").startswith("2026-11")),
        "open_incidents": sum(1 for r in everything if r["status"] not in {"Closed", "Dismissed"}),
    }}
    severities = Counter(r["severity"] for r in everything)
    rows = api.get("/api/incidents/severity_breakdown/").json()["results"]
    assert [(row["name"], row["value"]) for row in rows] == [(n, severities[n]) for n in SEVERITY_VALUES]
    assert rows[0]["itemStyle"] == {"color": "#DC2626"}
    detections = Counter(r["detection"] for r in everything)
    rows = api.get("/api/incidents/detection_breakdown/").json()["results"]
    assert [(row["name"], row["value"]) for row in rows] == [
        ("Internal", detections["Internal"]), ("External", detections["External"])]
    qualifications = Counter(q["str"].lower() for r in everything for q in r["qualifications"])
    radar = api.get("/api/incidents/qualifications_breakdown/").json()["results"]
    assert dict(zip([label["name"] for label in radar["labels"]], radar["values"], strict=True)) == dict(
        qualifications)
    assert {label["max"] for label in radar["labels"]} == {max(qualifications.values())}
    folder = refs["folder"][1]
    narrowed = api.get(f"/api/incidents/summary_stats/?folder={folder}").json()["results"]
    assert narrowed["total_incidents"] == sum(1 for r in everything if r["folder"]["id"] == folder)
    crash = api.get(f"/api/incidents/summary_stats/?folder={MISSING_ID}")
    assert (crash.status_code, crash.headers["content-type"]) == (500, "text/html; charset=utf-8")


def test_monthly_metrics_count_by_month_of_reported_at(api: Client) -> None:
    everything = api.everything()
    results = api.get("/api/incidents/monthly_metrics/").json()["results"]
    reported = Counter(r["reported_at"][:7] for r in everything)
    assert len(results["months"]) == len(reported)
    assert results["months"][-1] in {"Oct 2026", "Nov 2026"}
    assert results["monthly_counts"] == [reported[key] for key in sorted(reported)]
    assert results["cumulative_counts"][-1] == SIZE


def test_csv_export_has_a_header_and_one_row_per_matching_incident(api: Client) -> None:
    answer = api.get("/api/incidents/export_csv/", params={"status": "new"})
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="incidents_export.csv"'
    assert answer.text.startswith("\ufeffinternal_id;ref_id;name;")
    rows = list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff")), delimiter=";"))
    expected = api.everything(status="new")
    assert [row["internal_id"] for row in rows] == ids_of(expected)
    record, row = expected[0], rows[0]
    assert (row["ref_id"], row["status"], row["severity"]) == (record["ref_id"], "New", record["severity"])
    assert row["owners"] == ",".join(o["str"] for o in record["owners"])
    assert row["folder"] == record["folder"]["str"]
    assert row["qualifications"] == ",".join(q["str"].lower() for q in record["qualifications"])


def test_xlsx_export_is_a_workbook_with_every_incident(api: Client) -> None:
    answer = api.get("/api/incidents/export_xlsx/")
    assert answer.headers["content-type"] == XLSX
    with zipfile.ZipFile(io.BytesIO(answer.content)) as workbook:
        assert "[Content_Types].xml" in workbook.namelist()
        sheet = ElementTree.fromstring(workbook.read("xl/worksheets/sheet1.xml"))
    rows = sheet.iter(f"{SHEET_NS}row")
    values = [[cell.text for cell in row.iter(f"{SHEET_NS}t")] for row in rows]
    assert values[0][:3] == ["internal_id", "ref_id", "name"]
    assert [row[0] for row in values[1:]] == ids_of(api.everything())


def test_markdown_and_pdf_reports(api: Client) -> None:
    record = api.everything()[0]
    markdown = api.get(f"/api/incidents/{record['id']}/md/")
    assert markdown.headers["content-type"] == "text/markdown"
    assert markdown.text.startswith(f"# {record['name']}\n\n## Incident Information\n\n- **Name**: ")
    assert f"- **Severity**: {record['severity']}\n" in markdown.text
    assert "## Timeline\n\n*Events are listed in chronological order*" in markdown.text
    pdf = api.get(f"/api/incidents/{record['id']}/pdf/")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].endswith('_report.pdf"')
    document = pdf.content
    assert document.startswith(b"%PDF-1.4\n") and document.endswith(b"%%EOF\n")
    xref_at = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert document[xref_at:].startswith(b"xref\n")
    assert record["ref_id"].encode() in document
    assert api.get(f"/api/incidents/{MISSING_ID}/md/").json() == {"error": "Permission denied"}
