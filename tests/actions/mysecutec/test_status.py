"""MySecutec actions against the simulator: update_threat_status in chunks, partial per id."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connector.sandbox.common import ANCHOR, iso_z
from connector.testing import Answer, RecordingTransport
from tests.actions.mysecutec.conftest import LIVE, UNKNOWN, act, fresh, ok

BULK = "/mysecutec/tam/v1/threats/status"


def refusing(answers: dict[str, httpx.Response]) -> Answer:
    """Answers a bulk request holding one of the threat ids of ``answers`` with that id's response."""

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == BULK:
            for threat_id in json.loads(request.content)["threat_ids"]:
                if threat_id in answers:
                    return answers[threat_id]
        return None

    return refuse


def test_bulk_status_is_partial_per_id(sandbox: RecordingTransport) -> None:
    first, second = LIVE[0]["id"], LIVE[1]["id"]
    envelope = act(sandbox, "update_threat_status", {
        "ids": [first, UNKNOWN, second, "not-a-uuid", first], "status": "resolved", "note": "fixed in CHG-7"})
    assert (envelope.status, envelope.exit_code) == ("partial", 3)
    assert envelope.output == {
        "succeeded": [first, second],
        "failed": [
            {"id": UNKNOWN, "error_type": "not_found", "message": "Threat not found"},
            {"id": "not-a-uuid", "error_type": "invalid_id", "message": "Threat id must be a UUID"},
        ],
        "summary": {"total_attempted": 4, "total_successful": 2, "total_failed": 2, "success_rate": 0.5},
    }
    assert [(e.item, e.type) for e in envelope.errors] == [(UNKNOWN, "not_found"), ("not-a-uuid", "invalid_id")]
    assert sandbox.requests[0].json == {
        "threat_ids": [first, UNKNOWN, second, "not-a-uuid"], "user_status": "solved",
        "user_status_note": "fixed in CHG-7"}
    after = ok(sandbox, "get_threats", {"ids": [first, second]})["threats"]
    assert [(t["status"], t["vendor_status"]) for t in after] == [("resolved", "solved")] * 2
    events = ok(sandbox, "list_events", {"threat_ids": [first], "since": iso_z(ANCHOR)})["events"]
    assert events[-1]["summary"].endswith("-> solved (note: fixed in CHG-7)")


def test_bulk_status_is_chunked_by_1000_and_merged_in_order() -> None:
    sandbox = fresh(delay_s=0.01)
    live = [r["id"] for r in LIVE]
    fakes = [f"00000000-0000-4000-8000-{n:012d}" for n in range(2100 - len(live))]
    ids = fakes[:900] + live + fakes[900:]
    envelope = act(sandbox, "update_threat_status", {"ids": ids, "vendor_status": "false_positive"})
    assert envelope.status == "partial"
    sizes = sorted(len(r.json["threat_ids"]) for r in sandbox.requests)
    assert sizes == [100, 1000, 1000]
    assert sandbox.most_in_flight == 3, "the three chunks are sent together"
    assert envelope.output["succeeded"] == live
    assert [f["id"] for f in envelope.output["failed"]] == fakes
    assert envelope.output["summary"] == {"total_attempted": 2100, "total_successful": len(live),
                                          "total_failed": len(fakes), "success_rate": round(len(live) / 2100, 4)}


def test_a_refused_chunk_fails_its_ids_and_all_refused_fails_the_action(sandbox: RecordingTransport) -> None:
    live = [r["id"] for r in LIVE]
    ids = live + [f"00000000-0000-4000-8000-{n:012d}" for n in range(1000)]
    first_chunk, second_chunk = ids[:1000], ids[1000:]
    sandbox.answer = refusing({ids[-1]: httpx.Response(500, json={"detail": "Internal Server Error"})})
    envelope = act(sandbox, "update_threat_status", {"ids": ids, "status": "accepted"})
    assert envelope.status == "partial"
    assert envelope.output["succeeded"] == live
    failed = envelope.output["failed"]
    assert [f["id"] for f in failed] == first_chunk[len(live):] + second_chunk
    message = "mysecutec: PATCH /tam/v1/threats/status: 500 Internal Server Error: Internal Server Error"
    assert {(f["error_type"], f["message"]) for f in failed[-len(second_chunk):]} == {("retriable", message)}
    assert len(sandbox.requests) == 2, "a PATCH is not retried after a 5xx"
    denied = act(sandbox, "update_threat_status", {"ids": live[:2], "status": "accepted"}, token="wrong")
    assert (denied.status, denied.exit_code, len(denied.errors)) == ("failed", 1, 1)
    assert denied.errors[0].message == ("mysecutec: PATCH /tam/v1/threats/status: 401 Unauthorized: "
                                        "unauthorized: Missing or invalid bearer token")


def test_bulk_status_where_every_id_fails_is_a_failure(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "update_threat_status", {"ids": [UNKNOWN], "status": "new"})
    assert (envelope.status, envelope.exit_code) == ("failed", 1)
    assert envelope.output["summary"]["success_rate"] == 0.0


def test_bulk_status_dry_run_plans_the_chunks(sandbox: RecordingTransport) -> None:
    ids = [r["id"] for r in LIVE] + [f"00000000-0000-4000-8000-{n:012d}" for n in range(1500 - len(LIVE))]
    envelope = act(sandbox, "update_threat_status", {"ids": ids, "status": "false_positive"}, dry_run=True)
    assert envelope.status == "success" and sandbox.requests == []
    assert envelope.output["succeeded"] == envelope.output["failed"] == []
    assert envelope.output["summary"] == {"total_attempted": 0, "total_successful": 0, "total_failed": 0,
                                          "success_rate": 0.0}
    planned = envelope.output["planned_requests"]
    assert [(p["method"], p["path"], len(p["json"]["threat_ids"])) for p in planned] == [
        ("PATCH", "/tam/v1/threats/status", 1000), ("PATCH", "/tam/v1/threats/status", 500)]
    assert planned[0]["json"]["user_status"] == "false_positive"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"status": "suppressed"}, "input.status: 'suppressed' cannot be expressed for mysecutec"),
        ({"status": "resolved", "verdict": "false_positive"}, "input.verdict: mysecutec has no analyst verdict"),
        ({"vendor_status": "patched"}, "input.vendor_status: 'patched' is not a mysecutec user status"),
    ],
)
def test_bulk_status_bad_input(sandbox: RecordingTransport, document: dict[str, Any], message: str) -> None:
    envelope = act(sandbox, "update_threat_status", {"ids": [LIVE[0]["id"]], **document})
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith(message)
    assert sandbox.requests == []
