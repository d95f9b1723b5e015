"""CISO Assistant actions against the simulator: update_incident, delete_incident, incident_batch_action."""

from __future__ import annotations

import httpx
import orjson

from connector.testing import RecordingTransport
from tests.actions.ciso_assistant.conftest import (
    ASSET,
    DOMAIN,
    MISSING,
    NAME_REQUIRED,
    SEEDED,
    SIZE,
    VENDOR,
    act,
    fresh,
    incidents_of,
    ok,
    only_error,
    written,
)


def test_patch_changes_only_the_given_fields(sandbox: RecordingTransport) -> None:
    seeded = SEEDED[5]
    before = incidents_of(sandbox, ids=[seeded.id])[0]
    envelope = act(sandbox, "update_incident", {"id": before["uid"], "status": "closed", "severity": "critical"})
    after = envelope.output["incident"]
    assert [r.method for r in sandbox.requests] == ["PATCH", "GET"]
    # Only the given fields, in this order (httpx's JSON spacing differs between its releases).
    assert list(orjson.loads(sandbox.requests[0].content).items()) == [("severity", 1), ("status", "closed")]
    assert (after["status"], after["vendor_status"], after["severity"]) == ("closed", "closed", "critical")
    assert after["title"] == before["title"] and after["updated_at"] > before["updated_at"]
    assert ok(sandbox, "get_incident", {"id": seeded.id})["incident"] == after


def test_put_replaces_and_needs_a_name(sandbox: RecordingTransport) -> None:
    seeded = SEEDED[6]
    put = {"id": seeded.id, "partial": False, "name": "Renamed", "status": "dismissed"}
    envelope = act(sandbox, "update_incident", put)
    assert [r.method for r in sandbox.requests] == ["PUT", "GET"]
    incident = envelope.output["incident"]
    assert (incident["title"], incident["status"], incident["vendor_status"]) == ("Renamed", "closed", "dismissed")
    refused = act(sandbox, "update_incident", {"id": seeded.id, "partial": False, "status": "new"})
    assert refused.exit_code == 2 and refused.errors[0].message == NAME_REQUIRED


def test_a_failed_read_back_still_reports_the_write(sandbox: RecordingTransport) -> None:
    seeded = SEEDED[7]

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        class NoReads(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.method == "GET":
                    return httpx.Response(503, json={"detail": "Service Unavailable"})
                return await inner.handle_async_request(request)

        return NoReads()

    envelope = act(sandbox, "update_incident", {"id": seeded.id, "status": "resolved"}, wrap=wrap)
    assert envelope.status == "success", envelope.errors
    incident = envelope.output["incident"]
    assert (incident["status"], incident["title"], incident["created_at"]) == ("resolved", seeded.name, None)
    assert written(sandbox, seeded.id)["status"] == "resolved"


def test_update_needs_a_field_and_a_known_id(sandbox: RecordingTransport) -> None:
    nothing = act(sandbox, "update_incident", {"id": SEEDED[0].id})
    assert nothing.exit_code == 2 and nothing.errors[0].message.startswith("input: give at least one incident field")
    assert sandbox.requests == []
    assert "404 Not Found: No Incident matches the given query." in only_error(
        act(sandbox, "update_incident", {"id": MISSING, "name": "x"})
    )
    invalid = act(sandbox, "update_incident", {"id": SEEDED[0].id, "reported_at": "2026-13-01T00:00:00Z"})
    assert invalid.exit_code == 2 and invalid.errors[0].message.startswith("input.reported_at:")


def test_update_dry_run_sends_nothing(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "update_incident", {"id": SEEDED[0].id, "status": "resolved"}, dry_run=True)
    assert sandbox.requests == [] and envelope.output["incident"]["status"] == "resolved"
    assert [(p["method"], p["path"], p["json"]) for p in envelope.output["planned_requests"]] == [
        ("PATCH", f"/api/incidents/{SEEDED[0].id}/", {"status": "resolved"})
    ]
    assert written(sandbox, SEEDED[0].id)["status"] == SEEDED[0].status


def test_preview_then_delete(sandbox: RecordingTransport) -> None:
    seeded = SEEDED[8]
    preview = ok(sandbox, "delete_incident", {"id": seeded.id, "preview": True})
    assert preview["deleted"] is False
    cascade = preview["cascade"]
    assert list(cascade) == ["deleted", "affected", "blocked"]
    assert [item["id"] for item in cascade["deleted"]["related_objects"]] == sorted(
        (entry.id for entry in seeded.timeline), key=lambda ref: next(e.name for e in seeded.timeline if e.id == ref))
    assert cascade["affected"]["count"] == sum(len(refs) for refs in seeded.relations.values())
    assert (cascade["blocked"]["count"], cascade["blocked"]["level"]) == (0, "error")
    dry = act(sandbox, "delete_incident", {"id": seeded.id}, dry_run=True)
    assert dry.output["deleted"] is False and sandbox.requests == []
    assert dry.output["planned_requests"][0]["method"] == "DELETE"
    assert ok(sandbox, "delete_incident", {"id": f"{VENDOR}:{seeded.id}"}) == {"id": seeded.id, "deleted": True}
    assert "404 Not Found" in only_error(act(sandbox, "get_incident", {"id": seeded.id}))
    assert "404 Not Found" in only_error(act(sandbox, "delete_incident", {"id": seeded.id}))


def test_batch_change_field_falls_back_to_one_patch_per_id(sandbox: RecordingTransport) -> None:
    ids = [f"{VENDOR}:{i.id}" for i in SEEDED] + [MISSING, SEEDED[0].id]
    change = {"action": "change_field", "field": "status", "value": "in_progress", "ids": ids}
    envelope = act(sandbox, "incident_batch_action", change)
    assert envelope.status == "partial" and envelope.exit_code == 3
    batches = [r.json["ids"] for r in sandbox.requests if r.path.endswith("/batch-action/")]
    assert [len(chunk) for chunk in batches] == [100, SIZE + 1 - 100], "repeats sent once"
    patches = [r for r in sandbox.requests if r.method == "PATCH"]
    assert len(patches) == SIZE and all(orjson.loads(r.content) == {"status": "ongoing"} for r in patches)
    output = envelope.output
    assert output["succeeded"] == [i.id for i in SEEDED]
    not_found = "Object not found or access denied"
    assert output["failed"] == [{"id": MISSING, "error_type": "vendor", "message": not_found}]
    assert output["summary"] == {"total_attempted": SIZE + 1, "total_successful": SIZE, "total_failed": 1,
                                 "success_rate": round(SIZE / (SIZE + 1), 4)}
    assert [(e.type, e.item, e.message) for e in envelope.errors] == [("vendor", MISSING, not_found)]
    assert envelope.meta.model_extra == {"patched_one_by_one": SIZE}
    assert {i["vendor_status"] for i in incidents_of(sandbox)} == {"ongoing"}


def test_batch_values_are_checked_before_anything_is_sent(sandbox: RecordingTransport) -> None:
    for field, value in (("severity", 9), ("status", "Resolved"), ("detection", "External")):
        envelope = act(sandbox, "incident_batch_action", {"action": "change_field", "field": field, "value": value,
                                                         "ids": [SEEDED[0].id, SEEDED[1].id]})
        assert envelope.exit_code == 2 and len(envelope.errors) == 1, envelope.errors
        assert envelope.errors[0].message.startswith(f"input.value: {value!r} is not one of"), envelope.errors
        assert sandbox.requests == []


def test_batch_folder_and_delete(sandbox: RecordingTransport) -> None:
    first, second = SEEDED[0].id, SEEDED[1].id
    relations = ok(sandbox, "incident_batch_action", {
        "action": "change_m2m", "field": "assets", "value": [ASSET], "ids": [first]})
    assert relations["succeeded"] == [first] and written(sandbox, first)["assets"] == [ASSET]
    moved = ok(sandbox, "incident_batch_action", {"action": "change_folder", "value": DOMAIN, "ids": [first, second]})
    assert moved["succeeded"] == [first, second]
    assert written(sandbox, second)["folder"] == DOMAIN
    deleted = ok(sandbox, "incident_batch_action", {"action": "delete", "ids": [first, second]})
    assert deleted["succeeded"] == [first, second]
    assert ok(sandbox, "list_incidents", {})["count"] == SIZE - 2


def test_a_batch_request_that_fails_whole_fails_its_ids_only() -> None:
    faulty = fresh(faults="503@1")
    envelope = act(faulty, "incident_batch_action", {"action": "delete", "ids": [i.id for i in SEEDED]})
    assert envelope.status == "partial" and envelope.output["succeeded"] == [i.id for i in SEEDED[100:]]
    failed = envelope.output["failed"]
    assert [f["id"] for f in failed] == [i.id for i in SEEDED[:100]]
    assert failed[0] == {"id": SEEDED[0].id, "error_type": "retriable", "message": (
        "ciso_assistant: POST /api/incidents/batch-action/: 503 Service Unavailable: Service Unavailable"
        " (outcome unknown: the vendor may have applied it)"
    )}
    wrong_token = act(faulty, "incident_batch_action", {"action": "delete", "ids": [SEEDED[0].id]},
                      token="not-the-sandbox-token")
    assert only_error(wrong_token).endswith("401 Unauthorized: Invalid token.")


def test_batch_input_rules_and_dry_run(sandbox: RecordingTransport) -> None:
    missing_field = act(sandbox, "incident_batch_action", {"action": "change_field", "value": 1, "ids": [MISSING]})
    assert missing_field.exit_code == 2 and missing_field.errors[0].message == (
        "input: 'field' is a required property (rule: required)"
    )
    wrong_field = act(sandbox, "incident_batch_action", {"action": "change_m2m", "field": "status", "value": [],
                                                        "ids": [MISSING]})
    assert wrong_field.exit_code == 2
    assert wrong_field.errors[0].message.startswith("input.field: 'status' is not one of")
    dry = act(sandbox, "incident_batch_action", {"action": "delete", "ids": [i.id for i in SEEDED]}, dry_run=True)
    assert sandbox.requests == [] and [len(p["json"]["ids"]) for p in dry.output["planned_requests"]] == [100, 50]
    assert ok(sandbox, "list_incidents", {})["count"] == SIZE
