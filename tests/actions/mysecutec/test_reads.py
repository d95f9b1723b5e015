"""MySecutec actions against the simulator: get_threats, get_threat and update_threat."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from connector.sandbox.common import ANCHOR, iso_z
from connector.testing import RecordingTransport
from connector.vendors.mysecutec import api
from tests.actions.mysecutec.conftest import LIVE, STORED, UNKNOWN, act, fresh, ids_of, ok, oldest_first, queries

DELETED = [threat.record for threat in STORED if threat.deleted]


def test_get_threats_reads_the_pages_concurrently_in_order(small_pages: int) -> None:
    sandbox = fresh(delay_s=0.01)
    envelope = act(sandbox, "get_threats", {})
    assert envelope.status == "success", envelope.errors
    assert ids_of(envelope.output) == oldest_first(LIVE)
    assert envelope.output["count"] == envelope.output["total"] == envelope.output["unfiltered_total"] == len(LIVE)
    pages = math.ceil(len(LIVE) / small_pages)
    assert envelope.meta.requests == envelope.meta.pages == pages
    assert sorted(int(q["offset"]) for q in queries(sandbox)) == list(range(0, pages * small_pages, small_pages))
    assert {q["sort"] for q in queries(sandbox)} == {"created_at,id"}
    assert sandbox.most_in_flight == api.CONCURRENCY


def test_limit_stops_the_read_early(sandbox: RecordingTransport, small_pages: int) -> None:
    envelope = act(sandbox, "get_threats", {"limit": 120})
    assert ids_of(envelope.output) == oldest_first(LIVE)[:120]
    assert (envelope.output["count"], envelope.output["total"], envelope.meta.requests) == (120, len(LIVE), 3)


def test_vendor_filters_and_multi_field_sort_pass_through(sandbox: RecordingTransport) -> None:
    output = ok(sandbox, "get_threats", {
        "severity": ["critical", "high"],
        "vendor_filters": {"license_module": ["asm"], "sort": ["-cvss_score", "name"]},
    })
    chosen = [r for r in LIVE if r["tech_solution"]["license_module_slug"] == "asm"
              and r["severity"] in ("critical", "high")]
    by_name = sorted(chosen, key=lambda r: r["name"])
    expected = sorted(by_name, key=lambda r: (r["cvss_score"] is None, -(r["cvss_score"] or 0)))
    assert ids_of(output) == [r["id"] for r in expected]
    assert queries(sandbox)[0]["severity"] == "critical,high"
    assert {t["severity"] for t in output["threats"]} == {"critical", "high"}


def test_unknown_severity_is_checked_on_each_threat(sandbox: RecordingTransport) -> None:
    unknown = [r for r in LIVE if r["severity"] is None and r["cvss_score"] is None]
    assert len(unknown) >= 3
    output = ok(sandbox, "get_threats", {"severity": ["unknown"], "limit": 2})
    assert ids_of(output) == oldest_first(unknown)[:2]
    assert "severity" not in queries(sandbox)[0]
    assert output["total"] == len(LIVE), "the vendor's count of what it was asked for"


def test_status_and_window_map_to_the_vendor_filters(sandbox: RecordingTransport) -> None:
    since, until = iso_z(ANCHOR - timedelta(days=200)), iso_z(ANCHOR - timedelta(days=20))
    output = ok(sandbox, "get_threats", {"status": ["suppressed"], "since": since, "until": until})
    expected = [r for r in LIVE if r["status"] in ("accepted", "false_positive") and since <= r["updated_at"] <= until]
    assert ids_of(output) == oldest_first(expected)
    query = queries(sandbox)[0]
    assert (query["status"], query["updated_at_from"], query["updated_at_to"]) == (
        "accepted,false_positive", since, until)
    assert {t["vendor_status"] for t in output["threats"]} == {"accepted", "false_positive"}


def test_a_status_the_vendor_lacks_sends_nothing(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "get_threats", {"status": ["in_progress", "closed"]})
    assert (envelope.status, envelope.output["count"], envelope.meta.requests) == ("success", 0, 0)


def test_ids_are_read_one_by_one(sandbox: RecordingTransport) -> None:
    first, second = LIVE[5]["id"], LIVE[9]["id"]
    envelope = act(sandbox, "get_threats", {"ids": [second, first, UNKNOWN, DELETED[0]["id"], second]})
    assert ids_of(envelope.output) == [second, first]
    assert envelope.output["total"] is None
    assert envelope.meta.model_dump()["missing_ids"] == [UNKNOWN, DELETED[0]["id"]]
    assert envelope.meta.requests == 4, "a repeated id is read once"
    module = LIVE[5]["tech_solution"]["license_module_slug"]
    in_module = {r["id"] for r in LIVE if r["tech_solution"]["license_module_slug"] == module}
    listed = ok(sandbox, "get_threats", {"ids": [first, second], "vendor_filters": {"license_module": [module]}})
    assert ids_of(listed) == [i for i in oldest_first(LIVE) if i in {first, second} & in_module]
    assert "license_module" in queries(sandbox)[-1], "with vendor filters the list is read and kept to the ids"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"vendor_filters": {"severity": ["urgent"]}},
         "input.vendor_filters.severity[0]: 'urgent' is not one of ['critical', 'high', 'medium', 'low', 'info']"),
        ({"vendor_filters": {"first_seen_from": "last week"}}, "input.vendor_filters.first_seen_from: 'last week'"),
        ({"since": "2025-01-01T00:00:00Z", "vendor_filters": {"updated_at_from": "2025-01-01"}},
         "input.vendor_filters.updated_at_from: also set by a common filter; give only one of them"),
        ({"ids": ["a1", "a1", "../filter"]}, "input.ids[2]: '../filter' is not a threat id"),
    ],
)
def test_bad_filters_are_bad_input(sandbox: RecordingTransport, document: dict[str, Any], message: str) -> None:
    envelope = act(sandbox, "get_threats", document)
    assert envelope.exit_code == 2
    assert envelope.errors[0].message.startswith(message)
    assert sandbox.requests == []


def test_vendor_filter_dates_take_a_day_or_an_instant(sandbox: RecordingTransport) -> None:
    output = ok(sandbox, "get_threats", {"vendor_filters": {"first_seen_from": "2026-06-01",
                                                           "first_seen_to": "2026-06-30T23:59:59Z"}})
    expected = [r for r in LIVE if r["first_seen_at"] and "2026-06-01" <= r["first_seen_at"] < "2026-07-01"]
    assert ids_of(output) == oldest_first(expected) and expected


def test_get_threat_and_its_failures(sandbox: RecordingTransport) -> None:
    record = LIVE[3]
    output = ok(sandbox, "get_threat", {"id": record["id"], "include_raw": True})
    assert output["threat"]["uid"] == f"mysecutec:{record['id']}" and output["threat"]["raw"] == record
    missing = act(sandbox, "get_threat", {"id": UNKNOWN})
    assert (missing.exit_code, missing.errors[0].message) == (
        1, f"mysecutec: threat {UNKNOWN} not found (GET /tam/v1/threats/{UNKNOWN}: 404)")
    assert act(sandbox, "get_threat", {"id": DELETED[0]["id"]}).exit_code == 1
    malformed = act(sandbox, "get_threat", {"id": "t1234-5678"})
    assert malformed.exit_code == 1
    assert malformed.errors[0].message == ("mysecutec: GET /tam/v1/threats/t1234-5678: 400 Bad Request: "
                                           "invalid_id: 't1234-5678' is not a valid threat id (UUID expected)")
    escaping = act(sandbox, "get_threat", {"id": "../filter"})
    assert escaping.exit_code == 2 and escaping.errors[0].message.startswith("input.id: '../filter' does")


def test_update_threat_changes_and_logs(sandbox: RecordingTransport) -> None:
    record = next(r for r in LIVE if r["status"] == "unsolved" and r["note"] is None)
    output = ok(sandbox, "update_threat", {"id": record["id"], "note": "Risk accepted per review",
                                          "user_status": "accepted", "annotation": None})
    threat = output["threat"]
    assert (threat["status"], threat["vendor_status"], threat["disposition"]) == ("suppressed", "accepted", "accepted")
    patch = next(r for r in sandbox.requests if r.method == "PATCH")
    assert patch.json == {"note": "Risk accepted per review", "user_status": "accepted",
                                         "unsolved_annotation_note": None}
    logs = ok(sandbox, "get_threat_logs", {"id": record["id"], "limit": 2})["logs"]
    assert {(e["type"], e["actor"]) for e in logs} == {("status_change", "api-user@sandbox.local"),
                                                      ("note_change", "api-user@sandbox.local")}


def test_update_threat_dry_run_sends_no_patch(sandbox: RecordingTransport) -> None:
    record = next(r for r in LIVE if r["status"] == "unsolved")
    envelope = act(sandbox, "update_threat", {"id": record["id"], "user_status": "patched"}, dry_run=True)
    assert envelope.status == "success" and envelope.meta.dry_run
    assert envelope.output["threat"]["vendor_status"] == "unsolved"
    assert envelope.output["planned_requests"] == [{
        "method": "PATCH", "path": f"/tam/v1/threats/{record['id']}", "params": {},
        "json": {"user_status": "patched"}, "headers": {"Authorization": "***"},
    }]
    assert [r.method for r in sandbox.requests] == ["GET"]
    assert ok(sandbox, "get_threat", {"id": record["id"]})["threat"]["vendor_status"] == "unsolved"


def test_update_threat_needs_a_change(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "update_threat", {"id": LIVE[0]["id"]})
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith("input: ")
    bad = act(sandbox, "update_threat", {"id": LIVE[0]["id"], "user_status": "solved"})
    assert bad.exit_code == 2 and bad.errors[0].message.startswith("input.user_status: 'solved' is not one of")
