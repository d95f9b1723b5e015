"""CISO Assistant mapping: the DESIGN tables value by value, both faces of an incident, the write bodies."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.enums import Kind, SeverityId, StatusId
from connector.errors import BadVendorAnswer
from connector.hygiene import recording
from connector.sandbox.ciso_assistant import create_app
from connector.threat import Threat
from connector.vendors.ciso_assistant.batch import batch_template
from connector.vendors.ciso_assistant.listing import incident_query
from connector.vendors.ciso_assistant.mapping import (
    SEVERITY_BY_VALUE,
    STATUS_BY_SLUG,
    VALUE_BY_COMMON_SEVERITY,
    VALUE_BY_SEVERITY_ID,
    body_from_threat,
    content_ref_id,
    error_detail,
    incident_id,
    native_statuses,
    normalize_incident,
    ref_id_for,
    write_body,
)

FIXTURES = Path(__file__).parents[1] / "fixtures/ciso_assistant"
WRITE_FACE_LACKS = {"created_at", "updated_at", "assignee", "resources", "raw"}
"""What the write face (create/update answers) does not carry: timestamps and the relations' names."""


def _fixture(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return record


# DESIGN section 4: CISO Assistant 1/2/3/4/5/6 -> OCSF 5/4/3/2/1/0.
SEVERITY_ROWS = [
    (1, "Critical", "critical", 5),
    (2, "Major", "high", 4),
    (3, "Moderate", "medium", 3),
    (4, "Minor", "low", 2),
    (5, "Low", "informational", 1),
    (6, "unknown", "unknown", 0),
]
# DESIGN section 4: new/ongoing/resolved/closed/dismissed -> new/in_progress/resolved/closed/closed.
STATUS_ROWS = [
    ("new", "New", "new", 1),
    ("ongoing", "Ongoing", "in_progress", 2),
    ("resolved", "Resolved", "resolved", 4),
    ("closed", "Closed", "closed", 5),
    ("dismissed", "Dismissed", "closed", 5),
]


def test_severity_table_is_the_designs() -> None:
    assert {value: int(sev) for value, sev in SEVERITY_BY_VALUE.items()} == {
        value: ocsf for value, _, _, ocsf in SEVERITY_ROWS
    }


def test_status_table_is_the_designs() -> None:
    assert {slug: int(status) for slug, status in STATUS_BY_SLUG.items()} == {
        slug: ocsf for slug, _, _, ocsf in STATUS_ROWS
    }


@pytest.mark.parametrize(("value", "label", "common", "ocsf"), SEVERITY_ROWS)
def test_severity_value_and_display_string_map_alike(value: int, label: str, common: str, ocsf: int) -> None:
    for raw in (value, str(value), label, label.upper()):
        incident = normalize_incident({"id": "a", "severity": raw})
        assert (incident["severity"], int(incident["severity_id"])) == (common, ocsf), raw
        assert incident["vendor_severity"] == label


@pytest.mark.parametrize(("slug", "label", "common", "ocsf"), STATUS_ROWS)
def test_status_slug_and_display_string_map_alike(slug: str, label: str, common: str, ocsf: int) -> None:
    for raw in (slug, label):
        incident = normalize_incident({"id": "a", "status": raw})
        assert (incident["status"], int(incident["status_id"])) == (common, ocsf), raw
        assert incident["vendor_status"] == slug


def test_dismissed_is_closed_but_keeps_its_name() -> None:
    dismissed = normalize_incident({"id": "a", "status": "Dismissed"})
    closed = normalize_incident({"id": "a", "status": "Closed"})
    assert dismissed["status_id"] == closed["status_id"] == StatusId.closed
    assert (dismissed["vendor_status"], closed["vendor_status"]) == ("dismissed", "closed")


@pytest.mark.parametrize(
    ("severity", "status", "labels"),
    [
        (0, "reopened", ("0", "reopened")),
        (9, "Escalated", ("9", "Escalated")),
        ("Severe", 3, ("Severe", "3")),
        (True, None, (None, None)),
        ({"str": "Major"}, "None", (None, None)),
    ],
)
def test_unknown_values_are_unknown_and_keep_the_vendors_label(
    severity: Any, status: Any, labels: tuple[str | None, str | None]
) -> None:
    incident = normalize_incident({"id": "a", "severity": severity, "status": status})
    assert (incident["severity_id"], incident["status_id"]) == (SeverityId.unknown, StatusId.unknown)
    assert (incident["vendor_severity"], incident["vendor_status"]) == labels


def test_read_face_maps_field_by_field() -> None:
    incident = normalize_incident(_fixture("incident_read.json"))
    assert incident["uid"] == "ciso_assistant:61f628ef-3247-44c1-ba75-392980285fd2"
    assert (incident["vendor"], incident["vendor_id"], incident["kind"]) == (
        "ciso_assistant", "61f628ef-3247-44c1-ba75-392980285fd2", Kind.incident,
    )
    assert incident["title"] == "Phishing campaign targeting finance"
    assert incident["description"] == "Credential-harvesting emails spoofing Umbrella Telecom."
    assert (incident["severity"], incident["vendor_severity"]) == ("critical", "Critical")
    assert (incident["status"], incident["vendor_status"]) == ("closed", "dismissed")
    assert incident["first_seen"] == "2026-07-11T17:09:29.571053Z"
    assert incident["created_at"] == "2026-07-11T19:13:29.571053Z"
    assert incident["updated_at"] == "2026-07-15T02:13:29.571053Z"
    assert incident["url"] == "https://tickets.example.com/browse/SEC-3566"
    assert incident["assignee"] == "Bruno Keller"
    assert [(r["uid"], r["name"], r["type"]) for r in incident["resources"]] == [
        ("1fbff1fb-9cf3-4605-be9e-8ce66c4a15e4", "Customer portal", "asset"),
        ("22f74898-9399-4324-8d48-d65b9a855f78", "Data warehouse", "asset"),
        ("fc5f7c94-8639-4799-86ed-0dc5a2ae4ce2", "Active Directory", "asset"),
    ]
    assert incident["raw"] is None
    assert normalize_incident(_fixture("incident_read.json"), include_raw=True)["raw"] == _fixture("incident_read.json")


def _alike(read: dict[str, Any], written: dict[str, Any]) -> None:
    """The two faces give the same record, except what the write face does not carry (which it leaves empty)."""
    assert {k: v for k, v in read.items() if k not in WRITE_FACE_LACKS} == {
        k: v for k, v in written.items() if k not in WRITE_FACE_LACKS
    }
    assert [r["uid"] for r in read["resources"]] == [r["uid"] for r in written["resources"]]
    assert all(r["name"] is None for r in written["resources"])
    assert (written["created_at"], written["updated_at"], written["assignee"]) == (None, None, None)


def test_write_face_maps_to_the_same_incident() -> None:
    read = normalize_incident(_fixture("incident_read.json"))
    written = normalize_incident(_fixture("incident_write.json"))
    _alike(read, written)
    assert written["vendor_severity"] == "Critical" and written["vendor_status"] == "dismissed"


def test_both_faces_of_every_seeded_incident_map_alike() -> None:
    app = create_app(seed=11, size=80, token="t", rate_limit=False)

    async def faces() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        headers = {"Authorization": "Token t"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers) as http:
            listed = (await http.get("/api/incidents/", params={"limit": 100})).json()["results"]
            return [(r, (await http.get(f"/api/incidents/{r['id']}/object/")).json()) for r in listed]

    pairs = asyncio.run(faces())
    assert len(pairs) == 80
    seen_statuses = set()
    for read, written in pairs:
        _alike(normalize_incident(read), normalize_incident(written))
        seen_statuses.add(written["status"])
    assert seen_statuses == set(STATUS_BY_SLUG), "every status was exercised"


def test_record_without_id_is_a_clean_failure() -> None:
    with pytest.raises(BadVendorAnswer, match=r"^ciso_assistant: incident: id: missing \(keys: name\)$"):
        normalize_incident({"name": "x"})
    with pytest.raises(BadVendorAnswer, match=r"^ciso_assistant: incident: expected an object, got list$"):
        normalize_incident([1])


def test_bad_values_are_dropped_and_noted() -> None:
    with recording() as drops:
        incident = normalize_incident({"id": "7", "updated_at": "last tuesday", "link": "not a url", "assets": [1]})
    assert (incident["updated_at"], incident["url"], incident["resources"]) == (None, None, [
        {"uid": "1", "name": None, "type": "asset", "hostname": None, "ip": [], "os": None,
         "agent_version": None, "machine_type": None, "container": None, "cloud": None}
    ])
    assert [d.field for d in drops] == ["updated_at", "url"]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ({"detail": "Invalid token."}, "Invalid token."),
        ({"name": ["This field is required."], "severity": ['"9" is not a valid choice.']},
         'name: This field is required.; severity: "9" is not a valid choice.'),
        ({"ids": {"0": ["Not a valid string."]}}, "ids.0: Not a valid string."),
        ({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
         "non_field_errors: Invalid data. Expected a dictionary, but got list."),
        (["Batch refused."], "Batch refused."),
        ({"error": "Invalid action type"}, "Invalid action type"),
        ({"error": "Permission denied"}, "Permission denied"),
        ({"ref_id": "A-1 is already used in this scope. Please choose another value."},
         "ref_id: A-1 is already used in this scope. Please choose another value."),
        ({}, None),
        (None, None),
    ],
)
def test_error_detail_reads_drf_bodies(body: Any, line: str | None) -> None:
    assert error_detail(body) == line


def test_common_severity_and_status_write_native_values() -> None:
    assert VALUE_BY_COMMON_SEVERITY == {
        "critical": 1, "high": 2, "medium": 3, "low": 4, "informational": 5, "unknown": 6,
    }
    for common, native in (("new", "new"), ("in_progress", "ongoing"), ("resolved", "resolved"),
                           ("closed", "closed"), ("dismissed", "dismissed"), ("ongoing", "ongoing")):
        assert write_body({"status": common}) == {"status": native}
    assert write_body({"severity": "high", "name": "n", "assets": ["u"], "id": "x", "partial": True}) == {
        "severity": 2, "name": "n", "assets": ["u"],
    }
    assert write_body({"severity": 4}) == {"severity": 4}


def test_common_status_filters_take_every_native_status_they_cover() -> None:
    assert native_statuses("closed") == ["closed", "dismissed"]
    assert native_statuses("in_progress") == ["ongoing"]
    assert native_statuses("dismissed") == ["dismissed"]


def _threat(**fields: Any) -> dict[str, Any]:
    """A common threat as create_incident's from_threat input carries it."""
    base: dict[str, Any] = {
        "uid": "sentinelone:123456", "vendor": "sentinelone", "vendor_id": "123456", "kind": "detection",
        "title": "cmd.exe (interactive session)", "severity_id": 4, "status_id": 1,
    }
    return Threat.model_validate({**base, **fields}).model_dump(mode="json")


def test_threat_severity_maps_back_to_native_values() -> None:
    assert VALUE_BY_SEVERITY_ID == {5: 1, 4: 2, 3: 3, 2: 4, 1: 5, 0: 6, 6: 1, 99: 6}
    for severity_id, native in VALUE_BY_SEVERITY_ID.items():
        assert body_from_threat(_threat(severity_id=severity_id))["severity"] == native


def test_incident_body_from_a_threat() -> None:
    threat = _threat(
        description="Malicious (malicious) on DESKTOP-1", url="https://console.example/threats/123456",
        first_seen="2024-05-01T10:00:00Z", created_at="2024-05-01T10:05:00Z",
    )
    assert body_from_threat(threat) == {
        "name": "cmd.exe (interactive session)",
        "description": "Malicious (malicious) on DESKTOP-1",
        "severity": 2,
        "ref_id": "sentinelone:123456",
        "detection": "externally_detected",
        "link": "https://console.example/threats/123456",
        "reported_at": "2024-05-01T10:00:00Z",
    }
    assert body_from_threat(_threat(created_at="2024-05-01T10:05:00Z"))["reported_at"] == "2024-05-01T10:05:00Z"
    bare = body_from_threat(_threat())
    assert "reported_at" not in bare and "link" not in bare


def test_long_titles_and_uids_are_cut_to_the_vendors_limits() -> None:
    body = body_from_threat(_threat(title="x" * 250, url="https://e.example/" + "p" * 2100))
    assert len(body["name"]) == 200 and body["name"].endswith("…")
    assert "link" not in body, "a cut URL would lead nowhere"
    long_uid = "nameshield:" + "a" * 140
    ref_id = ref_id_for(long_uid)
    assert len(ref_id) == 100 and ref_id.startswith("nameshield:aaaa")
    assert ref_id == ref_id_for(long_uid), "deterministic"
    assert ref_id != ref_id_for(long_uid + "b"), "different uids with the same prefix stay apart"
    assert ref_id_for("x" * 100) == "x" * 100


def test_a_create_without_ref_id_gets_a_stable_one() -> None:
    body = {"name": "Lost laptop", "description": "d", "severity": 3}
    assert content_ref_id(body) == content_ref_id(dict(body))
    assert re.fullmatch(r"connector-[0-9a-f]{20}", content_ref_id(body))
    assert content_ref_id(body) != content_ref_id({**body, "name": "Lost phone"})
    assert content_ref_id(body) == content_ref_id({**body, "severity": 1}), "severity may change on a retry"


def test_ids_accept_common_uids() -> None:
    assert incident_id("ciso_assistant:61F628EF-3247-44C1-BA75-392980285FD2") == "61f628ef-3247-44c1-ba75-392980285fd2"
    assert incident_id("61f628ef-3247-44c1-ba75-392980285fd2") == "61f628ef-3247-44c1-ba75-392980285fd2"


def test_list_filters_map_onto_django_filters() -> None:
    query = incident_query({
        "severity": ["critical", 1, "high"],
        "status": ["closed", "in_progress", "dismissed"],
        "detection": ["externally_detected"],
        "owners": ["bbeae0f4-7e5b-49be-a4b0-16f0ee045dac"],
        "folder": ["8ebd756c-7492-401f-a43d-45094c2db25f"],
        "ids": ["ciso_assistant:61f628ef-3247-44c1-ba75-392980285fd2", "aaecdb0c-499c-4911-a9bf-86107b354076"],
        "search": "phishing",
        "ordering": "-updated_at",
    })
    assert query == {
        "severity": [1, 2],
        "status": ["closed", "dismissed", "ongoing"],
        "detection": ["externally_detected"],
        "folder": ["8ebd756c-7492-401f-a43d-45094c2db25f"],
        "owners": ["bbeae0f4-7e5b-49be-a4b0-16f0ee045dac"],
        "id": "61f628ef-3247-44c1-ba75-392980285fd2,aaecdb0c-499c-4911-a9bf-86107b354076",
        "search": "phishing",
        "ordering": "-updated_at",
    }


def test_batch_values_accept_the_common_vocabulary() -> None:
    assert batch_template({"action": "change_field", "field": "status", "value": "in_progress", "ids": ["x"]}) == {
        "action": "change_field", "field": "status", "value": "ongoing",
    }
    assert batch_template({"action": "change_field", "field": "severity", "value": "critical"})["value"] == 1
    assert batch_template({"action": "change_field", "field": "severity", "value": 3})["value"] == 3
    assert batch_template({"action": "change_field", "field": "name", "value": "in_progress"})["value"] == "in_progress"
    assert batch_template({"action": "change_folder", "value": "f"}) == {"action": "change_folder", "value": "f"}
    assert batch_template({"action": "delete", "field": "x", "value": 1}) == {"action": "delete"}
