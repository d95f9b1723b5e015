"""SentinelOne actions that change threats, end to end against the simulator: read back, failed per id."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connector.api import run_action
from connector.context import RunContext
from connector.http import VendorClient
from connector.plugins import default_host
from connector.sandbox import running_sandbox
from connector.testing import RecordingTransport
from connector.vendors.sentinelone.writes import update_threat_status
from tests.actions.sentinelone.support import (
    CONFIG,
    TOKEN,
    UNKNOWN,
    VENDOR,
    by_id,
    connection,
    fresh,
    ids_in,
    run,
    tamper,
    threats,
)


@pytest.fixture
def sandbox() -> RecordingTransport:
    """A recording transport into a fresh SentinelOne simulator."""
    return fresh()


# update_threat_status


def test_status_verdict_and_note_are_applied_and_read_back(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 3)
    update = {"ids": ids, "status": "resolved", "verdict": "true_positive", "note": "closed by SOAR"}
    envelope = run(sandbox, "update_threat_status", update)
    assert envelope.status == "success" and envelope.exit_code == 0
    assert envelope.output == {
        "succeeded": ids,
        "failed": [],
        "summary": {"total_attempted": 3, "total_successful": 3, "total_failed": 0, "success_rate": 1.0},
    }
    # One lookup GET, one incident POST, one notes POST.
    assert envelope.meta.requests == 3
    after = by_id(threats(sandbox, ids=ids))
    assert {t["status"] for t in after.values()} == {"resolved"}
    assert {t["verdict"] for t in after.values()} == {"true_positive"}
    assert {t["vendor_status"] for t in after.values()} == {"resolved"}
    for threat_id in ids:
        notes = run(sandbox, "get_threat_notes", {"id": threat_id})
        assert notes.status == "success"
        assert notes.output["count"] == 1
        (note,) = notes.output["notes"]
        assert (note["text"], note["creator"]) == ("closed by SOAR", "Sandbox API User")
        assert note["created_at"].endswith("Z") and note["id"].isdigit()


@pytest.mark.parametrize(
    ("update", "status", "vendor_status", "verdict"),
    [
        ({"status": "in_progress"}, "in_progress", "in_progress", None),
        ({"status": "false_positive"}, "suppressed", "resolved", "false_positive"),
        ({"vendor_status": "in_progress", "status": "resolved"}, "in_progress", "in_progress", None),
        ({"status": "new", "verdict": "suspicious"}, "new", "unresolved", "suspicious"),
    ],
)
def test_each_status_change_reads_back_as_mapped(
    sandbox: RecordingTransport, update: dict[str, str], status: str, vendor_status: str, verdict: str | None
) -> None:
    ids = ids_in(sandbox, "resolved", 2)
    before = by_id(threats(sandbox, ids=ids))
    envelope = run(sandbox, "update_threat_status", {"ids": ids, **update})
    assert envelope.status == "success", envelope.errors
    after = by_id(threats(sandbox, ids=ids))
    for threat_id in ids:
        assert (after[threat_id]["status"], after[threat_id]["vendor_status"]) == (status, vendor_status)
        assert after[threat_id]["verdict"] == (verdict or before[threat_id]["verdict"])


def test_unknown_ids_fail_as_not_found_and_make_it_partial(sandbox: RecordingTransport) -> None:
    known = ids_in(sandbox, "new", 2)
    ids = [known[0], UNKNOWN, known[1], known[0]]
    envelope = run(sandbox, "update_threat_status", {"ids": ids, "status": "in_progress"})
    assert envelope.status == "partial" and envelope.exit_code == 3
    assert envelope.output["succeeded"] == known
    assert envelope.output["failed"] == [
        {"id": UNKNOWN, "error_type": "not_found", "message": "no threat with this id"}
    ]
    assert envelope.output["summary"] == {
        "total_attempted": 3, "total_successful": 2, "total_failed": 1, "success_rate": 0.6667,
    }
    assert [(e.type, e.item) for e in envelope.errors] == [("not_found", UNKNOWN)]
    assert {t["status"] for t in threats(sandbox, ids=known)} == {"in_progress"}


def test_only_unknown_ids_fail_the_action(sandbox: RecordingTransport) -> None:
    envelope = run(sandbox, "update_threat_status", {"ids": [UNKNOWN, "1"], "status": "resolved"})
    assert envelope.status == "failed" and envelope.exit_code == 1
    assert envelope.output["succeeded"] == []
    assert [f["id"] for f in envelope.output["failed"]] == [UNKNOWN, "1"]
    assert envelope.meta.requests == 1, "no POST for ids that do not exist"


def test_a_short_count_is_checked_id_by_id(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 3)
    tampering = tamper(sandbox, "/threats/incident", "drop")
    envelope = run(sandbox, "update_threat_status", {"ids": ids, "status": "resolved"})
    assert tampering == [ids[2]]
    assert envelope.status == "partial" and envelope.exit_code == 3
    assert envelope.output["succeeded"] == ids[:2]
    (failure,) = envelope.output["failed"]
    assert failure["id"] == ids[2] and failure["error_type"] == "not_applied"
    assert failure["message"] == (
        "incidentStatus resolved not applied (SentinelOne affected 2 of the 3 sent); "
        "still incidentStatus unresolved"
    )
    assert by_id(threats(sandbox, ids=ids))[ids[2]]["status"] == "new"


def test_a_failed_post_that_was_applied_counts_as_success(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 2)
    tamper(sandbox, "/threats/incident", "fail_after")
    envelope = run(sandbox, "update_threat_status", {"ids": ids, "status": "in_progress"})
    assert envelope.status == "success"
    assert envelope.output["succeeded"] == ids
    # lookup, POST (500, not retried: a write), re-read
    assert envelope.meta.requests == 3 and envelope.meta.retries == 0


def test_a_failed_post_that_was_not_applied_fails_every_id(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 2)
    tamper(sandbox, "/threats/incident", "fail_before")
    envelope = run(sandbox, "update_threat_status", {"ids": ids, "status": "in_progress"})
    assert envelope.status == "failed" and envelope.exit_code == 1
    assert [f["error_type"] for f in envelope.output["failed"]] == ["not_applied", "not_applied"]
    assert "500 Internal Server Error: Server Error: boom" in envelope.output["failed"][0]["message"]


def test_a_note_that_did_not_land_fails_that_id_only(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 2)
    tamper(sandbox, "/threats/notes", "drop")
    envelope = run(sandbox, "update_threat_status", {"ids": ids, "status": "in_progress", "note": "triaged"})
    assert envelope.status == "partial"
    assert envelope.output["succeeded"] == ids[:1]
    assert envelope.output["failed"] == [
        {"id": ids[1], "error_type": "note_not_added", "message": "status changed, note not added"}
    ]
    assert {t["status"] for t in threats(sandbox, ids=ids)} == {"in_progress"}


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"status": "closed"}, "input.status: 'closed' cannot be expressed for sentinelone (allowed: new, "
         "in_progress, resolved, false_positive; or vendor_status unresolved|in_progress|resolved)"),
        ({"status": "accepted"}, "input.status: 'accepted' cannot be expressed for sentinelone"),
        ({"status": "suppressed"}, "input.status: 'suppressed' cannot be expressed for sentinelone"),
        ({"vendor_status": "open"}, "input.vendor_status: 'open' is not a sentinelone incidentStatus "
         "(allowed: unresolved, in_progress, resolved)"),
        ({"status": "false_positive", "verdict": "true_positive"},
         "input.verdict: 'true_positive' contradicts status"),
    ],
)
def test_inexpressible_changes_are_bad_input_and_send_nothing(update: dict[str, str], message: str) -> None:
    sent = RecordingTransport()
    envelope = run_action(
        "update_threat_status", {"ids": ["1"], **update}, connection=connection(),
        transport=sent,
    )
    assert envelope.status == "failed" and envelope.exit_code == 2
    (error,) = envelope.errors
    assert error.type == "bad_input" and error.message.startswith(message)
    assert sent.requests == []


def test_dry_run_sends_nothing_and_plans_chunks_of_1000() -> None:
    sent = RecordingTransport()
    ids = [str(10**17 + n) for n in range(1500)]
    envelope = run_action(
        "update_threat_status", {"ids": ids, "status": "false_positive", "note": "FP"},
        connection=connection(), transport=sent, dry_run=True,
    )
    assert sent.requests == []
    assert envelope.status == "success" and envelope.meta.dry_run and envelope.meta.requests == 0
    output = envelope.output
    assert (output["succeeded"], output["failed"]) == ([], [])
    assert output["summary"] == {
        "total_attempted": 0, "total_successful": 0, "total_failed": 0, "success_rate": 0.0,
    }
    planned = [(p["method"], p["path"], p["json"]["filter"]["ids"], p["json"]["data"])
               for p in output["planned_requests"]]
    incident = {"incidentStatus": "resolved", "analystVerdict": "false_positive"}
    assert planned == [
        ("POST", "/web/api/v2.1/threats/incident", ids[:1000], incident),
        ("POST", "/web/api/v2.1/threats/incident", ids[1000:], incident),
        ("POST", "/web/api/v2.1/threats/notes", ids[:1000], {"text": "FP"}),
        ("POST", "/web/api/v2.1/threats/notes", ids[1000:], {"text": "FP"}),
    ]
    assert all(p["headers"] == {"Authorization": "***"} for p in output["planned_requests"])


def test_lookups_go_200_ids_at_a_time() -> None:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET", "unknown ids are never POSTed"
        seen.append(len(request.url.params["ids"].split(",")))
        return httpx.Response(200, json={"data": [], "pagination": {"nextCursor": None, "totalItems": None}})

    ids = [str(10**17 + n) for n in range(450)]
    envelope = run_action(
        "update_threat_status", {"ids": ids, "status": "resolved"}, connection=connection(),
        transport=httpx.MockTransport(handler),
    )
    assert seen == [200, 200, 50]
    assert envelope.status == "failed" and envelope.output["summary"]["total_failed"] == 450


def test_a_verdict_alone_uses_the_analyst_verdict_endpoint() -> None:
    posted: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"data": [{"id": "7"}], "pagination": {"nextCursor": None}})
        posted.append((request.url.path, orjson.loads(request.content)))
        return httpx.Response(200, json={"data": {"affected": 1}})

    async def go() -> dict[str, Any]:
        client = VendorClient(
            connection=connection(), vendor=default_host().vendor(VENDOR),
            events=default_host().hook, transport=httpx.MockTransport(handler),
        )
        async with client:
            return await update_threat_status(RunContext(client), {"ids": ["7"], "verdict": "suspicious"})

    output = asyncio.run(go())
    assert posted == [
        (
            "/sentinelone/web/api/v2.1/threats/analyst-verdict",
            {"filter": {"ids": ["7"]}, "data": {"analystVerdict": "suspicious"}},
        )
    ]
    assert output["succeeded"] == ["7"]


def test_partial_exit_code_through_the_cli(tmp_path: Path) -> None:
    with running_sandbox(CONFIG) as url:
        (known,) = ids_in(fresh(), "new", 1)  # same seed and size: the same ids
        config = tmp_path / "connections.yaml"
        config.write_text(
            f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {url}/sentinelone\n"
            "    secret: env:S1_TOKEN\n"
        )
        update = orjson.dumps({"ids": [known, UNKNOWN], "status": "resolved"}).decode()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "connector"), "--config", str(config),
             "run", "update-threat-status", "--connection", "s1", "--input", update],
            capture_output=True, text=True, timeout=120, env={**os.environ, "S1_TOKEN": TOKEN},
        )
    assert result.returncode == 3, result.stderr
    envelope = orjson.loads(result.stdout)
    assert envelope["status"] == "partial"
    assert envelope["output"]["succeeded"] == [known]
    assert f"connector: {UNKNOWN}: no threat with this id" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


# mitigate_threat and add_threat_note


def test_mitigation_is_applied_and_counted(sandbox: RecordingTransport) -> None:
    unmitigated = threats(sandbox, vendor_filters={"mitigationStatuses": ["not_mitigated"]}, limit=2)
    ids = [threat["vendor_id"] for threat in unmitigated]
    envelope = run(sandbox, "mitigate_threat", {"ids": ids, "action": "quarantine"})
    assert envelope.status == "success"
    assert envelope.output == {"requested": 2, "affected": 2}
    assert {t["disposition"] for t in threats(sandbox, ids=ids)} == {"mitigated"}
    undone = run(sandbox, "mitigate_threat", {"ids": ids, "action": "un-quarantine"})
    assert undone.output == {"requested": 2, "affected": 2}
    assert {t["disposition"] for t in threats(sandbox, ids=ids)} == {"not_mitigated"}


def test_mitigation_names_unknown_ids(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 2)
    envelope = run(sandbox, "mitigate_threat", {"ids": [*ids, UNKNOWN], "action": "kill"})
    assert envelope.status == "partial" and envelope.exit_code == 3
    assert envelope.output == {"requested": 3, "affected": 2}
    assert [(e.type, e.item, e.message) for e in envelope.errors] == [
        ("not_found", UNKNOWN, "no threat with this id")
    ]


def test_mitigation_shortfall_without_unknown_ids_is_one_error(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 3)
    tamper(sandbox, "/threats/mitigate/remediate", "drop")
    envelope = run(sandbox, "mitigate_threat", {"ids": ids, "action": "remediate"})
    assert envelope.status == "partial"
    assert envelope.output == {"requested": 3, "affected": 2}
    assert [(e.type, e.item, e.message) for e in envelope.errors] == [
        ("not_applied", "ids",
         "mitigation remediate affected 2 of the 3 found (SentinelOne does not say which)")
    ]


def test_mitigation_of_unknown_ids_only_fails(sandbox: RecordingTransport) -> None:
    envelope = run(sandbox, "mitigate_threat", {"ids": [UNKNOWN], "action": "rollback-remediation"})
    assert envelope.status == "failed" and envelope.exit_code == 1
    assert envelope.output == {"requested": 1, "affected": 0}


def test_mitigation_dry_run_sends_nothing() -> None:
    sent = RecordingTransport()
    envelope = run_action(
        "mitigate_threat", {"ids": ["1", "2"], "action": "kill"},
        connection=connection(), transport=sent, dry_run=True,
    )
    assert sent.requests == [] and envelope.status == "success"
    assert envelope.output["affected"] == 0 and envelope.output["requested"] == 2
    (planned,) = envelope.output["planned_requests"]
    assert planned["path"] == "/web/api/v2.1/threats/mitigate/kill"
    assert planned["json"] == {"filter": {"ids": ["1", "2"]}, "data": {}}


def test_bad_mitigation_action_is_bad_input() -> None:
    envelope = run_action(
        "mitigate_threat", {"ids": ["1"], "action": "format-disk"}, connection=connection(),
        transport=RecordingTransport(),
    )
    assert envelope.exit_code == 2
    assert envelope.errors[0].message.startswith("input.action: 'format-disk' is not one of")


def test_notes_round_trip_oldest_first(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 2)
    first = run(sandbox, "add_threat_note", {"ids": ids, "text": "first look"})
    second = run(sandbox, "add_threat_note", {"ids": ids[:1], "text": "second look"})
    assert first.output == {"requested": 2, "affected": 2}
    assert second.output == {"requested": 1, "affected": 1}
    notes = run(sandbox, "get_threat_notes", {"id": ids[0]}).output
    assert notes["count"] == 2 and [n["text"] for n in notes["notes"]] == ["first look", "second look"]
    other = run(sandbox, "get_threat_notes", {"id": ids[1]}).output
    assert [n["text"] for n in other["notes"]] == ["first look"]
    assert threats(sandbox, ids=ids, vendor_filters={"noteExists": True}) != []


def test_note_on_unknown_ids_is_partial(sandbox: RecordingTransport) -> None:
    ids = ids_in(sandbox, "new", 1)
    envelope = run(sandbox, "add_threat_note", {"ids": [*ids, UNKNOWN], "text": "hello"})
    assert envelope.status == "partial" and envelope.output == {"requested": 2, "affected": 1}
    assert [(e.type, e.item) for e in envelope.errors] == [("not_found", UNKNOWN)]


@pytest.mark.parametrize(
    ("input", "message"),
    [
        ({"ids": ["1"], "text": "   "}, "input.text: '   ' does not match"),
        ({"ids": [], "text": "x"}, "input.ids: [] should be non-empty"),
    ],
)
def test_bad_note_input(input: dict[str, Any], message: str) -> None:
    envelope = run_action(
        "add_threat_note", input, connection=connection(), transport=RecordingTransport()
    )
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith(message)


