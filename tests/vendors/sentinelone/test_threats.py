"""SentinelOne mapping: the real captured payloads normalise, field by field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from connector.enums import SeverityId, StatusId
from connector.errors import BadInput, BadVendorAnswer
from connector.hygiene import recording
from connector.vendors.sentinelone import error_detail, normalize_threat, threat_query
from connector.vendors.sentinelone.mapping import (
    CONFIDENCE_BY_LEVEL,
    INCIDENT_CHANGE_BY_STATUS,
    SEVERITY_BY_CONFIDENCE,
    STATUS_BY_INCIDENT_STATUS,
    applied,
    incident_change,
    needs_status_check,
)
from tests.conftest import doc, real_payload


def _records(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = real_payload(f"sentinelone/{name}")["data"]
    return records


def test_newer_schema_page_normalises() -> None:
    first, second = (normalize_threat(r) for r in _records("threats_page_eventcollector.json"))
    assert first["uid"] == "sentinelone:123456"
    assert first["title"] == "cmd.exe (interactive session)"
    assert first["verdict"] == "true_positive"
    assert (first["status"], first["status_id"]) == ("in_progress", StatusId.in_progress)
    assert (first["severity"], first["severity_id"]) == ("high", SeverityId.high)
    assert first["vendor_severity"] == "malicious" and first["vendor_status"] == "in_progress"
    assert first["disposition"] == "not_mitigated"
    endpoint = first["resources"][0]
    assert endpoint["hostname"] == "DESKTOP-8CME2KF"
    assert endpoint["uid"] == "1559342436290084702"
    assert endpoint["ip"][0] == "1.1.1.1"
    assert "3.3.3.3" in endpoint["ip"]
    assert "123:123:123:123" not in endpoint["ip"], "the publisher's anonymised agentIpV6 is no address"
    assert endpoint["os"] == "Windows 10 Pro"
    assert (endpoint["agent_version"], endpoint["container"], endpoint["cloud"]) == ("2.2.2.2", None, None)
    assert first["attacks"][0]["tactic"] == "Defense Evasion"
    assert first["attacks"][0]["technique_name"] == "123"
    assert len(first["attacks"]) == 1, "identical techniques are kept once"
    assert first["created_at"] == "2022-12-20T13:54:53.009117Z"
    assert first["first_seen"] == "2022-12-20T13:54:52.659000Z"
    assert first["updated_at"] == "2022-12-21T10:29:58.264166Z"
    assert (first["classification"], first["classification_source"]) == ("Infostealer", "Static")
    assert (first["detection_type"], first["detection_engines"]) == ("dynamic", ["Manual"])
    assert first["correlation_uid"] == "123456" and first["vendor_threat_id"] is None
    assert first["file"] is None, "a fileless threat has no file"
    assert first["process"] == {"command_line": None, "user": "DESKTOP", "parent_name": None}
    assert not [o for o in first["observables"] if o["type"].startswith("file_hash")], "empty sha1 is no observable"
    assert second["title"] == "unnamed threat"
    assert second["verdict"] == "suspicious" and second["status"] == "new"


def test_older_schema_normalises() -> None:
    threats = [normalize_threat(r) for r in _records("threats_2_1_raw_response.json")]
    assert [t["vendor_id"] for t in threats] == [
        "715718962991148224", "715723437013282014", "715723444638526700", "715723450678324472",
    ]
    first = threats[0]
    assert first["title"] == "Unconfirmed 123490.crdownload"
    assert first["status"] == "resolved" and first["verdict"] == "undefined"
    assert first["disposition"] == "mitigated"
    assert {"type": "file_hash.sha1", "value": "3395856ce81f2b7382dee72602f798b642f14140", "name": None} in [
        o for o in first["observables"]
    ]
    assert first["resources"][0]["hostname"] == "EC2AMAZ-AJ0KANC"
    assert first["resources"][0]["ip"] == ["8.8.8.8", "fe80::1da3:1ca8:b311:af32"], "a resource keeps link-local"
    assert [o["value"] for o in first["observables"] if o["type"] == "ip"] == ["8.8.8.8"], "an observable does not"
    assert (first["resources"][0]["machine_type"], first["resources"][0]["agent_version"]) == ("server", "3.1.3.38")
    assert first["file"] == {
        "name": "Unconfirmed 123490.crdownload",
        "path": "\\Device\\HarddiskVolume1\\Users\\Administrator\\Downloads\\Unconfirmed 123490.crdownload",
        "size": 0,
    }
    assert (first["classification"], first["detection_engines"]) == ("Malware", ["Reputation"])
    assert first["created_at"] == "2019-09-15T12:05:49.095889Z"
    assert first["attacks"] == []
    assert all(t["severity_id"] == SeverityId.high for t in threats)
    assert threats[3]["observables"][0]["value"] == "ccce727e39cb8d955a323bf2c0419f31fb917e5a"


def test_every_real_record_keeps_raw_on_request() -> None:
    for name in ("threats_page_eventcollector.json", "threats_2_1_raw_response.json"):
        for record in _records(name):
            assert normalize_threat(record, include_raw=True)["raw"] == record


@pytest.mark.parametrize(
    ("confidence", "incident", "verdict", "severity", "status"),
    [
        ("malicious", "unresolved", "undefined", "high", "new"),
        ("suspicious", "in_progress", "suspicious", "medium", "in_progress"),
        ("n/a", "resolved", "true_positive", "unknown", "resolved"),
        ("malicious", "resolved", "false_positive", "high", "suppressed"),
        ("something_new", "reopened", None, "unknown", "unknown"),
    ],
)
def test_severity_and_status_tables(
    confidence: str, incident: str, verdict: str | None, severity: str, status: str
) -> None:
    threat = normalize_threat(
        {
            "id": "1",
            "threatInfo": {
                "confidenceLevel": confidence, "incidentStatus": incident, "analystVerdict": verdict,
            },
        }
    )
    assert (threat["severity"], threat["status"]) == (severity, status)
    assert threat["vendor_severity"] == confidence and threat["vendor_status"] == incident


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"threatInfo": {}}, r"^sentinelone: threat: id: missing \(neither id nor threatInfo.threatId"),
        ({"id": "***", "threatInfo": {"threatName": "x"}}, r"^sentinelone: threat: id: missing"),
        ({"id": "9"}, r"^sentinelone: threat 9: threatInfo: missing or not an object, and no field of the flat"),
        ({"id": "9", "threatInfo": [1, 2]}, r"^sentinelone: threat 9: threatInfo: missing or not an object"),
        ([1, 2, 3], r"^sentinelone: threat: expected an object, got list"),
    ],
)
def test_unmappable_records_are_one_line_failures(record: Any, message: str) -> None:
    with pytest.raises(BadVendorAnswer, match=message):
        normalize_threat(record)


def test_a_bad_timestamp_is_dropped_and_noted() -> None:
    with recording() as drops:
        threat = normalize_threat({"id": "9", "threatInfo": {"createdAt": "yesterday", "updatedAt": 1714557600}})
    assert (threat["created_at"], threat["updated_at"]) == (None, "2024-05-01T10:00:00Z")
    assert threat["first_seen"] is None and threat["last_seen"] == "2024-05-01T10:00:00Z"
    assert [(d.field, d.rule) for d in drops] == [
        ("created_at", "'yesterday' is not a timestamp (RFC 3339, 'yyyy-MM-dd HH:mm:ss' or epoch)")
    ]


def test_common_filters_map_onto_sentinelone_filters() -> None:
    query = threat_query(
        {
            "severity": ["high", "medium"],
            "status": ["new"],
            "since": "2025-01-01T00:00:00Z",
            "search": "mimikatz",
            "ids": ["1", "2"],
            "asset": "DESKTOP",
            "vendor_filters": {"siteIds": ["42"], "resolved": False},
        }
    )
    assert query == {
        "confidenceLevels": "malicious,suspicious",
        "incidentStatuses": "unresolved",
        "analystVerdictsNin": "false_positive",
        "updatedAt__gte": "2025-01-01T00:00:00Z",
        "query": "mimikatz",
        "ids": "1,2",
        "computerName__contains": "DESKTOP",
        "siteIds": "42",
        "resolved": "false",
    }


def test_error_detail_reads_the_errors_list() -> None:
    body = {"errors": [{"code": 4010010, "detail": "Invalid token", "title": "Authentication Failed"}]}
    assert error_detail(body) == "Authentication Failed: Invalid token"
    assert error_detail({"data": []}) is None


def test_filter_schema_has_every_documented_filter() -> None:
    documented = {parameter["name"] for parameter in doc("sentinelone/get_threats_parameters.json")}
    schema_path = Path(__file__).resolve().parents[3] / "schemas/sentinelone.threat_filters.json"
    names = json.loads(schema_path.read_text())["properties"]
    assert {name.lower().replace("__", " ") for name in names} == documented


def test_severity_table_value_by_value() -> None:
    as_ids = {level: int(severity) for level, severity in SEVERITY_BY_CONFIDENCE.items()}
    assert as_ids == {"malicious": 4, "suspicious": 3, "n/a": 0}
    assert {level: s.name for level, s in SEVERITY_BY_CONFIDENCE.items()} == {
        "malicious": "high", "suspicious": "medium", "n/a": "unknown",
    }
    assert {level: c.name for level, c in CONFIDENCE_BY_LEVEL.items()} == {
        "malicious": "high", "suspicious": "medium", "n/a": "unknown",
    }


def test_status_table_value_by_value() -> None:
    assert {status: s.name for status, s in STATUS_BY_INCIDENT_STATUS.items()} == {
        "unresolved": "new", "in_progress": "in_progress", "resolved": "resolved",
    }
    assert {status: int(s) for status, s in STATUS_BY_INCIDENT_STATUS.items()} == {
        "unresolved": 1, "in_progress": 2, "resolved": 4,
    }


@pytest.mark.parametrize(
    ("status", "change"),
    [
        ("new", {"incidentStatus": "unresolved"}),
        ("in_progress", {"incidentStatus": "in_progress"}),
        ("resolved", {"incidentStatus": "resolved"}),
        ("false_positive", {"incidentStatus": "resolved", "analystVerdict": "false_positive"}),
    ],
)
def test_update_status_table_value_by_value(status: str, change: dict[str, str]) -> None:
    assert INCIDENT_CHANGE_BY_STATUS[status] == change
    assert incident_change({"status": status}) == change
    info = {"incidentStatus": change["incidentStatus"], "analystVerdict": change.get("analystVerdict")}
    # What is written reads back as the status asked for (false_positive reads as suppressed).
    read_back = {"false_positive": "suppressed"}.get(status, status)
    assert normalize_threat({"id": "1", "threatInfo": info})["status"] == read_back


def test_update_status_table_covers_exactly_what_sentinelone_can_say() -> None:
    assert set(INCIDENT_CHANGE_BY_STATUS) == {"new", "in_progress", "resolved", "false_positive"}


@pytest.mark.parametrize(
    ("update", "change"),
    [
        ({"vendor_status": "in_progress", "status": "resolved"}, {"incidentStatus": "in_progress"}),
        ({"status": "resolved", "verdict": "true_positive"},
         {"incidentStatus": "resolved", "analystVerdict": "true_positive"}),
        ({"status": "false_positive", "verdict": "false_positive"},
         {"incidentStatus": "resolved", "analystVerdict": "false_positive"}),
        ({"vendor_status": "unresolved", "verdict": "undefined"},
         {"incidentStatus": "unresolved", "analystVerdict": "undefined"}),
        ({"verdict": "suspicious"}, {"analystVerdict": "suspicious"}),
    ],
)
def test_incident_change_combines_status_vendor_status_and_verdict(
    update: dict[str, str], change: dict[str, str]
) -> None:
    assert incident_change(update) == change


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"status": "closed"}, "input.status: 'closed' cannot be expressed for sentinelone"),
        ({"status": "accepted"}, "input.status: 'accepted' cannot be expressed for sentinelone"),
        ({"status": "suppressed"}, "input.status: 'suppressed' cannot be expressed for sentinelone"),
        ({"vendor_status": "reopened"},
         "input.vendor_status: 'reopened' is not a sentinelone incidentStatus"),
        ({"status": "false_positive", "verdict": "suspicious"},
         "input.verdict: 'suspicious' contradicts status false_positive"),
    ],
)
def test_inexpressible_updates_are_bad_input(update: dict[str, str], message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        incident_change(update)


def test_applied_compares_every_field_of_the_change() -> None:
    record = {"threatInfo": {"incidentStatus": "resolved", "analystVerdict": "true_positive"}}
    assert applied(record, {"incidentStatus": "resolved"})
    assert applied(record, {"incidentStatus": "resolved", "analystVerdict": "true_positive"})
    assert not applied(record, {"incidentStatus": "resolved", "analystVerdict": "false_positive"})
    assert not applied({"threatInfo": None}, {"incidentStatus": "resolved"})


NOT_FP = {"analystVerdictsNin": "false_positive"}


@pytest.mark.parametrize(
    ("status", "query", "checked"),
    [
        (["new"], {"incidentStatuses": "unresolved", **NOT_FP}, False),
        (["in_progress", "resolved"], {"incidentStatuses": "in_progress,resolved", **NOT_FP}, False),
        (["suppressed"], {"analystVerdicts": "false_positive"}, False),
        (["suppressed", "closed"], {"analystVerdicts": "false_positive"}, False),
        (["closed"], {"incidentStatuses": "", **NOT_FP}, False),
        (["new", "suppressed"], {}, True),
    ],
)
def test_common_status_filter_value_by_value(status: list[str], query: dict[str, str], checked: bool) -> None:
    assert threat_query({"status": status}) == query
    assert needs_status_check({"status": status}) is checked


def test_vendor_filters_win_over_common_filters() -> None:
    own = {"incidentStatuses": ["resolved"], "confidenceLevels": ["n/a"]}
    query = threat_query({"status": ["new"], "severity": ["high"], "vendor_filters": own})
    assert query["incidentStatuses"] == "resolved" and query["confidenceLevels"] == "n/a"
    assert query["analystVerdictsNin"] == "false_positive", "keys the vendor filters do not set stay"


@pytest.mark.parametrize(
    ("severity", "levels"),
    [
        (["high"], "malicious"),
        (["medium"], "suspicious"),
        (["unknown"], "n/a"),
        (["critical"], ""),
        (["low", "informational"], ""),
    ],
)
def test_common_severity_filter_value_by_value(severity: list[str], levels: str) -> None:
    assert threat_query({"severity": severity}) == {"confidenceLevels": levels}


def test_the_older_flat_v2_0_shape_is_mapped_field_by_field() -> None:
    flat = {
        "id": "1001", "threatName": "invoice.exe", "classification": "Ransomware", "classificationSource": "Cloud",
        "agentComputerName": "LAPTOP-7", "agentId": "55", "agentIp": "192.0.2.10, fe80::1", "agentOsType": "windows",
        "agentVersion": "2.6.1", "agentMachineType": "laptop", "fileContentHash": "A" * 40,
        "filePath": "C:\\Users\\x\\invoice.exe", "createdAt": "2018-02-27T04:49:26.257525Z",
        "updatedAt": "2018-02-28 10:00:00", "mitigationStatus": "mitigated", "resolved": True,
        "markedAsBenign": False, "rank": 7, "username": "LAPTOP-7\\x", "engines": ["reputation", "pre_execution"],
        "commandLineArguments": "invoice.exe /silent",
    }
    threat = normalize_threat(flat)
    assert (threat["uid"], threat["title"]) == ("sentinelone:1001", "invoice.exe")
    assert threat["classification"] == "Ransomware"
    assert (threat["status"], threat["vendor_status"], threat["disposition"]) == ("resolved", "resolved", "mitigated")
    assert (threat["score"], threat["detection_engines"]) == (7.0, ["reputation", "pre_execution"])
    assert (threat["created_at"], threat["updated_at"]) == ("2018-02-27T04:49:26.257525Z", "2018-02-28T10:00:00Z")
    (endpoint,) = threat["resources"]
    assert (endpoint["uid"], endpoint["hostname"], endpoint["ip"]) == ("55", "LAPTOP-7", ["192.0.2.10", "fe80::1"])
    assert (endpoint["os"], endpoint["agent_version"], endpoint["machine_type"]) == ("windows", "2.6.1", "laptop")
    assert threat["file"] == {"name": "invoice.exe", "path": "C:\\Users\\x\\invoice.exe", "size": None}
    assert threat["process"] == {"command_line": "invoice.exe /silent", "user": "LAPTOP-7\\x", "parent_name": None}
    assert [(o["type"], o["value"]) for o in threat["observables"]] == [
        ("file_hash.sha1", "a" * 40), ("file_path", "C:\\Users\\x\\invoice.exe"), ("hostname", "LAPTOP-7"),
        ("ip", "192.0.2.10"), ("user", "LAPTOP-7\\x"),
    ]
    assert normalize_threat({**flat, "markedAsBenign": True})["status"] == "suppressed"


def test_threat_id_is_surfaced_when_it_differs_from_id() -> None:
    record = {"id": "1", "threatInfo": {"threatId": "2", "threatName": "x"}}
    assert normalize_threat(record)["vendor_threat_id"] == "2"
    assert normalize_threat({"id": "***", "threatInfo": {"threatId": "2"}})["uid"] == "sentinelone:2"
