"""Every CISO Assistant action on real answers: the recorded exchanges of a real server, replayed.

Each test scripts which recorded answers (``file[index]`` of tests/fixtures/real/ciso_assistant)
the server gives to the requests the client sends; :func:`scripted` checks that each request is
one the script expects (method and path) and answers it with the recorded status, headers and body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connector.envelope import Envelope
from connector.testing import Answer, RecordingTransport, run_in_sandbox
from tests.ciso_recordings import RECORDINGS, exchanges

VENDOR = "ciso_assistant"
TOKEN = "real-token-stand-in"
GLOBAL = "4703bb50-0a07-4724-b14c-a62ef064862a"
DOMAIN_B = "7234c61a-4582-4154-870e-26b9d9b8b2ed"
PHISHING = "673eb4ad-6d0c-43d0-b314-b3913cd46230"
MINIMAL = "82fc2887-f03e-47e5-be19-62b8b2a481ce"
SCOPE_A = "716226e7-1ee0-4367-a9de-96475bdc79e6"
SCOPE_B = "f59bc06f-140b-4121-8c1c-06a7cbb072d6"
VICTIM = "b83a969f-8bc1-4ac3-a590-34c777e9fdc8"
UNKNOWN = "00000000-0000-0000-0000-000000000000"
NOT_FOUND = "Object not found or access denied"


def recorded(name: str, index: int) -> dict[str, Any]:
    """The recorded answer of exchange ``index`` of the file whose name starts with ``name``."""
    path = next(RECORDINGS.glob(f"{name}-*.json"))
    response: dict[str, Any] = exchanges(path)[index]["response"]
    return response


def as_response(answer: dict[str, Any]) -> httpx.Response:
    """An httpx response carrying a recorded answer (a binary body: the bytes its note shows)."""
    headers = dict(answer["headers"])
    body = answer.get("body")
    if "body_note" in answer:
        content = answer["body_note"].split("starting with b'", 1)[1].rstrip("'").encode()
    elif headers.get("Content-Type") == "application/json":
        content = json.dumps(body).encode()
    else:
        content = (body or "").encode("utf-8")
    return httpx.Response(answer["status"], headers=headers, content=content)


@dataclass
class Step:
    """One expected request and the recorded answer it gets; ``repeat`` answers any number of times."""

    method: str
    path: str
    answer: dict[str, Any]
    repeat: bool = False
    used: int = 0


def scripted(steps: list[Step]) -> Answer:
    """Answers each request with the first unused scripted step of the same method and path (else none)."""

    def answer(request: httpx.Request) -> httpx.Response | None:
        # the stand-in connection is the sandbox's, whose base URL ends in /ciso_assistant
        path = request.url.path.removeprefix(f"/{VENDOR}")
        for step in steps:
            if (step.method, step.path) == (request.method, path) and (step.repeat or not step.used):
                step.used += 1
                return as_response(step.answer)
        return None

    return answer


def run(
    action: str, document: dict[str, Any], *steps: Step, dry_run: bool = False
) -> tuple[Envelope, RecordingTransport]:
    """Run one action against the scripted real answers; every scripted step must have been used.

    An unscripted request fails the run: the transport has no app to send it to.
    """
    transport = RecordingTransport(answer=scripted(list(steps)))
    envelope = run_in_sandbox(action, document, vendor=VENDOR, transport=transport, token=TOKEN, dry_run=dry_run)
    assert [step for step in steps if not step.used] == [], "every scripted answer was asked for"
    return envelope, transport


def query(sent: RecordingTransport, index: int) -> dict[str, str]:
    """The query of request ``index``."""
    return dict(sent.requests[index].params)


def incidents_path(suffix: str = "") -> str:
    return f"/api/incidents/{suffix}"


# --- reads -----------------------------------------------------------------------------------------


def test_list_maps_the_real_read_shape() -> None:
    envelope, sent = run("list_incidents", {}, Step("GET", incidents_path(), recorded("04", 0)))
    assert envelope.status == "success" and query(sent, 0) == {"limit": "100"}
    first, minimal, _ = envelope.output["incidents"]
    assert (envelope.output["count"], envelope.output["total"]) == (3, 3)
    assert (first["uid"], first["title"], first["kind"]) == (f"{VENDOR}:{PHISHING}", "Phishing wave against finance",
                                                          "incident")
    assert (first["severity"], first["vendor_severity"], first["status"], first["vendor_status"]) == (
        "high", "Major", "in_progress", "ongoing")
    assert (first["first_seen"], first["url"]) == ("2026-11-30T09:15:00Z", "https://tickets.example.org/browse/SEC-1")
    assert first["assignee"] == "admin@example.com"
    assert [(r["uid"], r["name"], r["type"]) for r in first["resources"]] == [
        ("8ef0a5a3-69b2-4fa5-b968-4b3e143990a0", "Mail gateway", "asset")]
    assert first["created_at"] == "2026-12-01T08:04:04.267200Z"
    assert (minimal["severity"], minimal["status"], minimal["assignee"]) == ("medium", "new", None)


def test_list_sends_since_until_as_the_servers_date_filters() -> None:
    window = {"since": "2026-12-01T08:04:05.181233Z", "until": "2026-12-01T09:00:00Z"}
    envelope, sent = run("list_incidents", window, Step("GET", incidents_path(), recorded("20", 0)))
    assert query(sent, 0) == {"updated_at__gte": "2026-12-01T08:04:05.181233Z",
                             "updated_at__lt": "2026-12-01T09:00:00.000001Z", "limit": "100"}
    assert [i["title"] for i in envelope.output["incidents"]] == ["Ref scope A", "Ref scope B"]
    assert envelope.output["total"] == 2


def test_list_refused_filter_is_one_line() -> None:
    envelope, _ = run("list_incidents", {"folder": [UNKNOWN]}, Step("GET", incidents_path(), recorded("16", 1)))
    assert envelope.exit_code == 1 and [e.message for e in envelope.errors] == [
        f"ciso_assistant: GET /api/incidents/: 400 Bad Request: folder: Select a valid choice. {UNKNOWN} is not one "
        "of the available choices."]


def test_get_in_every_format() -> None:
    shown, _ = run("get_incident", {"id": PHISHING}, Step("GET", incidents_path(f"{PHISHING}/"), recorded("10", 0)))
    assert shown.output["incident"]["title"] == "Phishing wave against finance"
    assert shown.output["incident"]["updated_at"] == "2026-12-01T08:04:04.267247Z"
    face, _ = run("get_incident", {"id": PHISHING, "format": "object"},
                  Step("GET", incidents_path(f"{PHISHING}/object/"), recorded("10", 2)))
    assert face.output["object"]["severity"] == 2 and face.output["incident"]["vendor_severity"] == "Major"
    report, _ = run("get_incident", {"id": PHISHING, "format": "markdown"},
                    Step("GET", incidents_path(f"{PHISHING}/md/"), recorded("38", 0)))
    assert report.output["content_type"] == "text/markdown"
    assert report.output["content"].startswith("# Phishing wave against finance\n\n## Incident Information")
    pdf, _ = run("get_incident", {"id": PHISHING, "format": "pdf"},
                 Step("GET", incidents_path(f"{PHISHING}/pdf/"), recorded("37", 0)))
    assert (pdf.output["content_type"], pdf.output["content"]) == ("application/pdf", "JVBERg==")
    missing, _ = run("get_incident", {"id": UNKNOWN}, Step("GET", incidents_path(f"{UNKNOWN}/"), recorded("11", 0)))
    assert [e.message for e in missing.errors] == [
        f"ciso_assistant: GET /api/incidents/{UNKNOWN}/: 404 Not Found: No Incident matches the given query."]
    denied, _ = run("get_incident", {"id": UNKNOWN, "format": "markdown"},
                    Step("GET", incidents_path(f"{UNKNOWN}/md/"), recorded("38", 1)))
    assert denied.exit_code == 1 and denied.errors[0].message == (
        f"ciso_assistant: GET /api/incidents/{UNKNOWN}/md/: 403 Forbidden: Permission denied")


def test_export_counts_records_not_lines() -> None:
    envelope, _ = run("export_incidents", {}, Step("GET", incidents_path("export_csv/"), recorded("35", 0)))
    assert envelope.output["rows"] == 4, "the phishing incident's description holds line breaks and semicolons"
    assert envelope.output["csv"].startswith("\ufeffinternal_id;ref_id;name;")
    narrowed, sent = run("export_incidents", {"filters": {"folder": [DOMAIN_B]}},
                         Step("GET", incidents_path("export_csv/"), recorded("35", 1)))
    assert (narrowed.output["rows"], query(sent, 0)) == (1, {"folder": DOMAIN_B})


@pytest.mark.parametrize(("kind", "name", "index", "path"), [
    ("summary", "34", 0, "summary_stats/"),
    ("monthly", "34", 1, "monthly_metrics/"),
    ("severity_breakdown", "34", 2, "severity_breakdown/"),
    ("detection_breakdown", "34", 3, "detection_breakdown/"),
    ("qualifications_breakdown", "34", 4, "qualifications_breakdown/"),
])
def test_metrics_pass_the_real_shapes(kind: str, name: str, index: int, path: str) -> None:
    envelope, _ = run("incident_metrics", {"kind": kind}, Step("GET", incidents_path(path), recorded(name, index)))
    assert envelope.status == "success", envelope.errors
    assert envelope.output == {"kind": kind, "metrics": recorded(name, index)["body"]}


def test_metrics_by_folder_choices_and_an_unknown_folder() -> None:
    narrowed, sent = run("incident_metrics", {"kind": "summary", "folder": DOMAIN_B},
                         Step("GET", incidents_path("summary_stats/"), recorded("34", 5)))
    assert narrowed.output["metrics"]["results"] == {"total_incidents": 1, "incidents_this_month": 1,
                                                    "open_incidents": 1}
    assert query(sent, 0) == {"folder": DOMAIN_B}
    choices, _ = run("incident_metrics", {"kind": "choices"}, *(
        Step("GET", incidents_path(f"{name}/"), recorded("33", index))
        for index, name in enumerate(("status", "severity", "detection"))))
    assert choices.output["metrics"]["severity"]["6"] == "unknown"
    refused, sent = run("incident_metrics", {"kind": "choices", "folder": DOMAIN_B})
    assert (refused.exit_code, sent.requests) == (2, [])
    assert refused.errors[0].message.startswith("input.folder: ")
    crash, _ = run("incident_metrics", {"kind": "summary", "folder": UNKNOWN},
                   Step("GET", incidents_path("summary_stats/"), recorded("34", 7), repeat=True))
    assert crash.exit_code == 1 and crash.errors[0].message == (
        "ciso_assistant: GET /api/incidents/summary_stats/: 500 Internal Server Error: answered with an HTML page")


def test_connection_on_real_answers() -> None:
    passed, _ = run("test_connection", {}, Step("GET", incidents_path(), recorded("39", 3)))
    assert [c["ok"] for c in passed.output["checks"]] == [True, True, True]
    assert passed.output["checks"][2]["message"] == "may read incidents (4 visible)"
    refused, _ = run("test_connection", {}, Step("GET", incidents_path(), recorded("39", 1)))
    assert [(c["name"], c["ok"]) for c in refused.output["checks"]][:2] == [
        ("reachability", True), ("authentication", False)]


# --- writes ----------------------------------------------------------------------------------------


def test_create_sends_no_folder_and_reads_the_incident_back() -> None:
    document = {"name": "Phishing wave against finance", "ref_id": "INC-2026-001", "severity": "high",
                "status": "in_progress", "detection": "externally_detected"}
    envelope, sent = run(
        "create_incident", document,
        Step("GET", incidents_path(), recorded("18", 1)),  # the ref_id search finds nothing
        Step("POST", incidents_path(), recorded("02", 0)),
        Step("GET", incidents_path(), recorded("18", 0)),  # the check after the POST: only its own
    )
    assert envelope.status == "success" and envelope.output["existed"] is False
    assert sent.paths(f"/{VENDOR}") == ["GET /api/incidents/", "POST /api/incidents/", "GET /api/incidents/"]
    assert query(sent, 0) == query(sent, 2) == {"search": "INC-2026-001", "ordering": "created_at", "limit": "100"}
    assert sent.requests[1].json == {"name": "Phishing wave against finance", "ref_id": "INC-2026-001", "severity": 2,
                            "status": "ongoing", "detection": "externally_detected"}
    incident = envelope.output["incident"]
    assert (incident["uid"], incident["severity"], incident["assignee"]) == (
        f"{VENDOR}:{PHISHING}", "high", "admin@example.com")


def test_create_finds_the_ref_id_as_the_server_compares_it() -> None:
    # search=inc-ref-1 answers both INC-REF-1 incidents: Global's (path []) and domain B's
    in_global, sent = run("create_incident", {"name": "Again", "ref_id": " inc-ref-1 "},
                          Step("GET", incidents_path(), recorded("17", 1)))
    assert in_global.output["existed"] is True and in_global.meta.model_extra == {"existed": True}
    assert in_global.output["incident"]["vendor_id"] == SCOPE_A
    assert query(sent, 0) == {"search": "inc-ref-1", "ordering": "created_at", "limit": "100"}
    in_domain, sent = run("create_incident", {"name": "Again", "ref_id": "Inc-Ref-1", "folder": DOMAIN_B},
                          Step("GET", incidents_path(), recorded("16", 0)))
    assert in_domain.output["incident"]["vendor_id"] == SCOPE_B
    assert query(sent, 0) == {"search": "Inc-Ref-1", "ordering": "created_at", "folder": DOMAIN_B, "limit": "100"}


def test_a_ref_id_only_in_another_folder_is_not_this_folders() -> None:
    # the search finds INC-REF-1 only in domain B (answer 16[0]); a create in Global must go on
    envelope, _ = run(
        "create_incident", {"name": "Ref scope A", "ref_id": "INC-REF-1"},
        Step("GET", incidents_path(), recorded("16", 0)),
        Step("POST", incidents_path(), recorded("06", 0)),
        Step("GET", incidents_path(), recorded("17", 1)),  # the check after the POST: Global holds only its own
    )
    assert envelope.status == "success" and envelope.output["existed"] is False
    assert (envelope.output["incident"]["vendor_id"], envelope.output["incident"]["severity"]) == (SCOPE_A, "critical")


def test_a_create_that_loses_the_race_reports_the_stored_incident() -> None:
    envelope, _ = run(
        "create_incident", {"name": "Ref scope A again", "ref_id": "INC-REF-1"},
        Step("GET", incidents_path(), recorded("18", 1)),  # not there yet
        Step("POST", incidents_path(), recorded("06", 1)),  # 400: already used in this scope
        Step("GET", incidents_path(), recorded("17", 1)),  # there now
    )
    assert envelope.status == "success" and envelope.exit_code == 0
    assert envelope.output["existed"] is True and envelope.output["incident"]["vendor_id"] == SCOPE_A
    assert envelope.meta.model_extra == {"existed": True}


def test_create_dry_run_shows_the_servers_defaults() -> None:
    envelope, sent = run("create_incident", {"name": "Minimal incident"}, dry_run=True)
    assert sent.requests == []
    planned = envelope.output["incident"]
    assert (planned["severity"], planned["vendor_severity"], planned["status"]) == ("medium", "Moderate", "new")
    assert planned["first_seen"] is not None, "reported_at defaults to the time of the request"
    assert envelope.output["planned_requests"][0]["json"].keys() == {"name", "ref_id"}


def test_a_refused_create_is_one_line() -> None:
    envelope, _ = run("create_incident", {"name": "unknown folder", "folder": UNKNOWN},
                      Step("GET", incidents_path(), recorded("16", 1)))
    assert envelope.exit_code == 1 and envelope.errors[0].message == (
        f"ciso_assistant: GET /api/incidents/: 400 Bad Request: folder: Select a valid choice. {UNKNOWN} is not one "
        "of the available choices.")


def test_update_on_real_answers() -> None:
    patched, sent = run(
        "update_incident", {"id": PHISHING, "status": "resolved", "severity": "critical"},
        Step("PATCH", incidents_path(f"{PHISHING}/"), recorded("22", 0)),
        Step("GET", incidents_path(f"{PHISHING}/"), recorded("11", 0)),
    )
    assert sent.requests[0].json == {"status": "resolved", "severity": 1}
    incident = patched.output["incident"]
    assert (incident["status"], incident["severity"], incident["vendor_severity"]) == ("resolved", "critical",
                                                                                     "Critical")
    taken, sent = run("update_incident", {"id": MINIMAL, "ref_id": "inc-ref-1"},
                      Step("PATCH", incidents_path(f"{MINIMAL}/"), recorded("09", 0)))
    assert taken.exit_code == 1 and taken.errors[0].message == (
        f"ciso_assistant: PATCH /api/incidents/{MINIMAL}/: 400 Bad Request: "
        "ref_id: inc-ref-1 is already used in this scope. Please choose another value.")
    renamed, sent = run(
        "update_incident", {"id": SCOPE_A, "name": "Ref scope A (PUT name only)", "partial": False},
        Step("PUT", incidents_path(f"{SCOPE_A}/"), recorded("23", 1)),
        Step("GET", incidents_path(f"{SCOPE_A}/"), recorded("11", 0)),
    )
    assert sent.requests[0].json == {"name": "Ref scope A (PUT name only)"}
    assert (renamed.output["incident"]["title"], renamed.output["incident"]["status"]) == (
        "Ref scope A (PUT name only)", "closed")


def test_delete_preview_and_delete_on_real_answers() -> None:
    preview, _ = run("delete_incident", {"id": PHISHING, "preview": True},
                     Step("GET", incidents_path(f"{PHISHING}/cascade-info/"), recorded("26", 0)))
    assert preview.status == "success", preview.errors
    cascade = preview.output["cascade"]
    assert [(part, cascade[part]["count"]) for part in cascade] == [("deleted", 2), ("affected", 4), ("blocked", 0)]
    assert [o["name"] for o in cascade["deleted"]["related_objects"]] == ["Major->Critical", "Ongoing->Resolved"]
    gone, _ = run("delete_incident", {"id": MINIMAL}, Step("DELETE", incidents_path(f"{MINIMAL}/"), recorded("27", 0)))
    assert gone.output == {"id": MINIMAL, "deleted": True}
    again, _ = run("delete_incident", {"id": MINIMAL}, Step("DELETE", incidents_path(f"{MINIMAL}/"), recorded("27", 1)))
    assert again.exit_code == 1
    assert again.errors[0].message.endswith("404 Not Found: No Incident matches the given query.")


def test_batch_delete_reports_the_real_items() -> None:
    envelope, sent = run("incident_batch_action", {"action": "delete", "ids": [VICTIM, UNKNOWN]},
                         Step("POST", incidents_path("batch-action/"), recorded("28", 1)))
    assert sent.requests[0].json == {"action": "delete", "ids": [VICTIM, UNKNOWN]}
    assert (envelope.status, envelope.exit_code) == ("partial", 3)
    assert envelope.output["succeeded"] == [VICTIM], "ids, never the repr of the {id, name} items"
    assert envelope.output["failed"] == [{"id": UNKNOWN, "error_type": "vendor", "message": NOT_FOUND}]


def test_batch_change_field_patches_each_id_when_the_server_fails_them_all() -> None:
    envelope, sent = run(
        "incident_batch_action", {"action": "change_field", "field": "status", "value": "closed",
                                  "ids": [SCOPE_B, UNKNOWN]},
        Step("POST", incidents_path("batch-action/"), recorded("29", 0)),  # "Unexpected error" for SCOPE_B
        Step("PATCH", incidents_path(f"{SCOPE_B}/"), recorded("09", 1)),  # this PATCH is refused: ref_id clash
    )
    assert sent.requests[1].json == {"status": "closed"}
    assert envelope.meta.model_extra == {"patched_one_by_one": 1}
    assert envelope.exit_code == 1 and envelope.output["failed"] == [
        {"id": SCOPE_B, "error_type": "vendor", "message": (
            f"ciso_assistant: PATCH /api/incidents/{SCOPE_B}/: 400 Bad Request: "
            "ref_id: INC-REF-1 is already used in this scope. Please choose another value.")},
        {"id": UNKNOWN, "error_type": "vendor", "message": NOT_FOUND},
    ]


def test_batch_change_folder_patches_each_id() -> None:
    envelope, sent = run(
        "incident_batch_action", {"action": "change_folder", "value": GLOBAL, "ids": [PHISHING]},
        Step("POST", incidents_path("batch-action/"), recorded("29", 0) | {"body": {"succeeded": [], "failed": [
            {"id": PHISHING, "name": "Phishing wave against finance", "error": "Unexpected error"}]}}),
        Step("PATCH", incidents_path(f"{PHISHING}/"), recorded("22", 0)),
    )
    assert sent.requests[0].json == {"action": "change_folder", "value": GLOBAL, "ids": [PHISHING]}
    assert sent.requests[1].json == {"folder": GLOBAL}
    assert envelope.status == "success" and envelope.output["succeeded"] == [PHISHING]


def test_batch_errors_given_as_field_errors_are_one_line() -> None:
    answer = recorded("28", 1) | {"body": {"succeeded": [], "failed": [
        {"id": PHISHING, "name": "Phishing wave against finance",
         "error": {"folder": [f'Invalid pk "{UNKNOWN}" - object does not exist.']}}]}}
    change = {"action": "change_m2m", "field": "assets", "value": [], "ids": [PHISHING]}
    envelope, _ = run("incident_batch_action", change, Step("POST", incidents_path("batch-action/"), answer))
    assert envelope.output["failed"][0]["message"] == f'folder: Invalid pk "{UNKNOWN}" - object does not exist.'


def test_batch_envelope_refusal_on_real_answers() -> None:
    envelope, _ = run("incident_batch_action", {"action": "delete", "ids": [SCOPE_B]},
                      Step("POST", incidents_path("batch-action/"), recorded("30", 0)))
    assert envelope.exit_code == 1 and envelope.output["failed"][0]["message"] == (
        "ciso_assistant: POST /api/incidents/batch-action/: 400 Bad Request: Invalid action type")
