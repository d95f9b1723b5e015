"""CISO Assistant actions: exports, metrics, test_connection; a replayed cassette; every documented endpoint."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import re
import zipfile
from typing import Any

import httpx
import pytest
import yaml

from connector.api import arun_action
from connector.catalog import actions_dir
from connector.envelope import Envelope
from connector.sandbox import SandboxConfig
from connector.sandbox.ciso_assistant.seed import seed_store
from connector.sandbox.common import ANCHOR
from connector.testing import RecordingTransport
from tests.actions.ciso_assistant.conftest import (
    CONFIG,
    DOMAIN,
    SEEDED,
    SIZE,
    STORE,
    VENDOR,
    act,
    fresh,
    ok,
    only_error,
    paths,
    uids,
)
from tests.conftest import doc
from tests.vcr_support import CASSETTES, cassette


def test_csv_export_with_filters(reads: RecordingTransport) -> None:
    everything = ok(reads, "export_incidents", {})
    assert everything["csv"].startswith("\ufeffinternal_id;ref_id;")
    rows = list(csv.DictReader(io.StringIO(everything["csv"].removeprefix("\ufeff")), delimiter=";"))
    assert everything["rows"] == len(rows) == SIZE and everything["content_type"].startswith("text/csv")
    assert [row["ref_id"] for row in rows] == [i.ref_id for i in SEEDED]
    critical = ok(reads, "export_incidents", {"format": "csv", "filters": {"severity": ["critical"]}})
    assert critical["rows"] == sum(i.severity == 1 for i in SEEDED)
    critical_rows = csv.DictReader(io.StringIO(critical["csv"].removeprefix("\ufeff")), delimiter=";")
    assert {row["severity"] for row in critical_rows} == {"Critical"}
    assert paths(reads) == ["GET /api/incidents/export_csv/"]
    refused = act(reads, "export_incidents", {"filters": {"since": "2026-01-01T00:00:00Z"}})
    assert refused.exit_code == 2 and "'since' was unexpected" in refused.errors[0].message


def test_xlsx_export_is_base64(reads: RecordingTransport) -> None:
    output = ok(reads, "export_incidents", {"format": "xlsx", "filters": {"status": ["new"]}})
    assert output["rows"] == sum(i.status == "new" for i in SEEDED)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(output["base64"]))) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    assert paths(reads) == ["GET /api/incidents/export_xlsx/"]


def test_an_export_answered_with_a_web_page_is_a_clean_failure() -> None:
    portal = fresh(faults="html200@1")
    assert only_error(act(portal, "export_incidents", {})) == (
        "ciso_assistant: GET /api/incidents/export_csv/: answered text/html, not text/csv"
    )


def test_metrics_of_every_kind(reads: RecordingTransport) -> None:
    summary = ok(reads, "incident_metrics", {"kind": "summary"})["metrics"]["results"]
    assert summary["total_incidents"] == SIZE
    assert summary["open_incidents"] == sum(i.status not in ("closed", "dismissed") for i in SEEDED)
    breakdown = ok(reads, "incident_metrics", {"kind": "severity_breakdown"})["metrics"]["results"]
    labels = {1: "Critical", 2: "Major", 3: "Moderate", 4: "Minor", 5: "Low", 6: "unknown"}
    assert [(row["name"], row["value"]) for row in breakdown] == [
        (label, sum(i.severity == v for i in SEEDED)) for v, label in labels.items()]
    monthly = ok(reads, "incident_metrics", {"kind": "monthly"})["metrics"]["results"]
    assert monthly["cumulative_counts"][-1] == SIZE
    detection = ok(reads, "incident_metrics", {"kind": "detection_breakdown", "folder": DOMAIN})["metrics"]["results"]
    assert sum(row["value"] for row in detection) == sum(i.folder == DOMAIN for i in SEEDED)
    assert reads.requests[0].params["folder"] == DOMAIN
    qualifications = ok(reads, "incident_metrics", {"kind": "qualifications_breakdown"})["metrics"]["results"]
    used = {STORE.related["qualifications"][ref].name for i in SEEDED for ref in i.relations["qualifications"]}
    assert {label["name"] for label in qualifications["labels"]} == used
    choices = ok(reads, "incident_metrics", {"kind": "choices"})
    assert choices["metrics"]["severity"] == {"1": "Critical", "2": "Major", "3": "Moderate", "4": "Minor",
                                              "5": "Low", "6": "unknown"}
    assert choices["metrics"]["status"]["dismissed"] == "Dismissed"
    assert choices["metrics"]["detection"] == {"internally_detected": "Internal", "externally_detected": "External"}
    assert paths(reads) == [
        "GET /api/incidents/severity/", "GET /api/incidents/status/", "GET /api/incidents/detection/",
    ]


def checks(envelope: Envelope) -> list[tuple[str, bool, str]]:
    # A failed check fails the action (exit 1), and is its one error, naming the check.
    failed = [c for c in envelope.output["checks"] if not c["ok"] and not c["message"].startswith("not checked")]
    assert (envelope.status, envelope.exit_code) == (("success", 0) if envelope.output["ok"] else ("failed", 1))
    assert [(e.item, e.message) for e in envelope.errors] == [(c["name"], c["message"]) for c in failed]
    return [(c["name"], c["ok"], c["message"]) for c in envelope.output["checks"]]


def test_connection_passes_every_check(reads: RecordingTransport) -> None:
    assert checks(act(reads, "test_connection", {})) == [
        ("reachability", True, "http://127.0.0.1:9/ciso_assistant/api/incidents/ answered"),
        ("authentication", True, "the token was accepted"),
        ("permissions", True, f"may read incidents ({SIZE} visible)"),
    ]


def test_connection_names_a_wrong_token(reads: RecordingTransport) -> None:
    envelope = act(reads, "test_connection", {}, token="wrong-token")
    assert envelope.output["ok"] is False and envelope.exit_code == 1
    assert checks(envelope)[1:] == [
        ("authentication", False, "ciso_assistant: GET /api/incidents/: 401 Unauthorized: Invalid token."),
        ("permissions", False, "not checked: authentication failed"),
    ]


@pytest.mark.parametrize(
    ("answer", "failed", "message"),
    [
        (httpx.Response(403, json={"detail": "You do not have permission to perform this action."}), "permissions",
         "ciso_assistant: GET /api/incidents/: 403 Forbidden: You do not have permission to perform this action."),
        (httpx.ConnectError("connection refused"), "reachability",
         "ciso_assistant: GET /api/incidents/: cannot connect (connection refused)"),
        (httpx.Response(404, text="<!doctype html><title>Not Found</title>", headers={"content-type": "text/html"}),
         "reachability",
         "ciso_assistant: GET /api/incidents/: 404 Not Found: answered with an HTML page (is the base URL right?)"),
        (httpx.Response(200, json=[]), "reachability",
         "http://127.0.0.1:9/ciso_assistant/api/incidents/ answered, but not with an incident list"),
    ],
)
def test_connection_says_which_check_failed(reads: RecordingTransport, answer: httpx.Response | Exception, failed: str,
                                            message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    results = checks(act(reads, "test_connection", {}, wrap=lambda inner: httpx.MockTransport(handler)))
    names = [name for name, _, _ in results]
    assert results[names.index(failed)] == (failed, False, message)
    assert all(ok for _, ok, _ in results[: names.index(failed)])
    assert all(text == f"not checked: {failed} failed" for _, _, text in results[names.index(failed) + 1 :])


def test_cassette_replay_of_a_create_chain() -> None:
    small = SandboxConfig(sizes={VENDOR: 12}, rate_limits=False, vendors=(VENDOR,))
    store = seed_store(small.seed, 12, ANCHOR)
    name = "ciso_assistant_incidents"
    with cassette(name, small) as base_url:

        def run(action: str, document: dict[str, Any]) -> Envelope:
            return asyncio.run(arun_action(action, document, sandbox=base_url, vendor=VENDOR))

        listed = run("list_incidents", {"status": ["new", "in_progress"]})
        created = run("create_incident", {"name": "Cassette incident", "ref_id": "VCR-1", "severity": "low"})
        again = run("create_incident", {"name": "Cassette incident", "ref_id": "VCR-1", "severity": "low"})
        closed = run("update_incident", {"id": created.output["incident"]["uid"], "status": "closed"})
    open_ones = [i for i in store.incidents.values() if i.status in ("new", "ongoing")]
    assert [i["uid"] for i in listed.output["incidents"]] == uids(open_ones)
    assert created.output["existed"] is False and again.output["existed"] is True
    assert again.output["incident"] == created.output["incident"]
    assert (closed.output["incident"]["status"], closed.output["incident"]["vendor_severity"]) == ("closed", "Minor")
    text = (CASSETTES / f"{name}.yaml").read_text()
    assert "authorization" not in text.lower() and CONFIG.token not in text


SPEC_OPERATIONS = {
    "list": "GET /api/incidents/", "create": "POST /api/incidents/", "retrieve": "GET /api/incidents/{id}/",
    "update": "PUT /api/incidents/{id}/", "partial_update": "PATCH /api/incidents/{id}/",
    "destroy": "DELETE /api/incidents/{id}/", "cascade_info": "GET /api/incidents/{id}/cascade-info/",
    "md": "GET /api/incidents/{id}/md/", "object": "GET /api/incidents/{id}/object/",
    "pdf": "GET /api/incidents/{id}/pdf/", "batch_action": "POST /api/incidents/batch-action/",
    "detection": "GET /api/incidents/detection/", "detection_breakdown": "GET /api/incidents/detection_breakdown/",
    "export_csv": "GET /api/incidents/export_csv/", "export_xlsx": "GET /api/incidents/export_xlsx/",
    "monthly_metrics": "GET /api/incidents/monthly_metrics/",
    "qualifications_breakdown": "GET /api/incidents/qualifications_breakdown/",
    "severity": "GET /api/incidents/severity/", "severity_breakdown": "GET /api/incidents/severity_breakdown/",
    "status": "GET /api/incidents/status/", "summary_stats": "GET /api/incidents/summary_stats/",
}


def test_every_documented_operation_is_an_actions_endpoint() -> None:
    operations = doc("ciso_assistant/operations.json")
    documented = {re.sub(r"^incidents_(\w+?)(?:_retrieve|_create)?$", r"\1", name) for name in operations}
    assert documented == set(SPEC_OPERATIONS)
    declared = set()
    for path in actions_dir().glob("*.yaml"):
        binding = (yaml.safe_load(path.read_text()).get("vendors") or {}).get(VENDOR)
        declared.update(binding["endpoints"] if binding else [])
    assert set(SPEC_OPERATIONS.values()) <= declared
