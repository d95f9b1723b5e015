"""SentinelOne mapping: the real captured payloads normalise, field by field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.errors import BadVendorAnswer
from connector.threat import SeverityId, StatusId
from connector.vendors.sentinelone import error_detail, normalize_threat, threat_query


def _records(shared_dir: Path, name: str) -> list[dict[str, Any]]:
    document = json.loads((shared_dir / "fixtures/real/sentinelone" / name).read_text())
    records: list[dict[str, Any]] = document["data"]
    return records


def test_newer_schema_page_normalises(shared_dir: Path) -> None:
    first, second = (normalize_threat(r) for r in _records(shared_dir, "threats_page_eventcollector.json"))
    assert first.uid == "sentinelone:123456"
    assert first.title == "cmd.exe (interactive session)"
    assert first.verdict == "true_positive"
    assert (first.status, first.status_id) == ("in_progress", StatusId.in_progress)
    assert (first.severity, first.severity_id) == ("high", SeverityId.high)
    assert first.vendor_severity == "malicious" and first.vendor_status == "in_progress"
    assert first.disposition == "not_mitigated"
    endpoint = first.resources[0]
    assert endpoint.hostname == "DESKTOP-8CME2KF"
    assert endpoint.uid == "1559342436290084702"
    assert endpoint.ip[:2] == ["1.1.1.1", "123:123:123:123"]
    assert "3.3.3.3" in endpoint.ip
    assert endpoint.os == "Windows 10 Pro"
    assert first.attacks[0].tactic == "Defense Evasion"
    assert first.attacks[0].technique_name == "123"
    assert len(first.attacks) == 1, "identical techniques are kept once"
    assert first.created_at == datetime(2022, 12, 20, 13, 54, 53, 9117, tzinfo=UTC)
    assert first.first_seen == datetime(2022, 12, 20, 13, 54, 52, 659000, tzinfo=UTC)
    assert first.updated_at is not None and first.updated_at.utcoffset() is not None
    assert not [o for o in first.observables if o.type.startswith("file_hash")], "empty sha1 is no observable"
    assert second.title == "unnamed threat"
    assert second.verdict == "suspicious" and second.status == "new"


def test_older_schema_normalises(shared_dir: Path) -> None:
    threats = [normalize_threat(r) for r in _records(shared_dir, "threats_2_1_raw_response.json")]
    assert [t.vendor_id for t in threats] == [
        "715718962991148224", "715723437013282014", "715723444638526700", "715723450678324472",
    ]
    first = threats[0]
    assert first.title == "Unconfirmed 123490.crdownload"
    assert first.status == "resolved" and first.verdict == "undefined"
    assert first.disposition == "mitigated"
    assert {"type": "file_hash.sha1", "value": "3395856ce81f2b7382dee72602f798b642f14140", "name": None} in [
        o.model_dump() for o in first.observables
    ]
    assert first.resources[0].hostname == "EC2AMAZ-AJ0KANC"
    assert first.resources[0].ip == ["8.8.8.8", "fe80::1da3:1ca8:b311:af32"]
    assert first.created_at == datetime(2019, 9, 15, 12, 5, 49, 95889, tzinfo=UTC)
    assert first.attacks == []
    assert all(t.severity_id == SeverityId.high for t in threats)
    assert threats[3].observables[0].value == "ccce727e39cb8d955a323bf2c0419f31fb917e5a"


def test_every_real_record_keeps_raw_on_request(shared_dir: Path) -> None:
    for name in ("threats_page_eventcollector.json", "threats_2_1_raw_response.json"):
        for record in _records(shared_dir, name):
            assert normalize_threat(record, include_raw=True).raw == record


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
def test_severity_and_status_tables(confidence: str, incident: str, verdict: str | None, severity: str, status: str) -> None:
    threat = normalize_threat(
        {"id": "1", "threatInfo": {"confidenceLevel": confidence, "incidentStatus": incident, "analystVerdict": verdict}}
    )
    assert (threat.severity, threat.status) == (severity, status)
    assert threat.vendor_severity == confidence and threat.vendor_status == incident


def test_record_without_id_is_a_clean_failure() -> None:
    with pytest.raises(BadVendorAnswer, match="without id"):
        normalize_threat({"threatInfo": {}})


def test_bad_timestamp_names_the_field() -> None:
    with pytest.raises(BadVendorAnswer, match=r"threat 9: first_seen: Input should be a valid datetime"):
        normalize_threat({"id": "9", "threatInfo": {"createdAt": "yesterday"}})


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


def test_filter_schema_has_every_documented_filter(shared_dir: Path) -> None:
    spec = (shared_dir / "spec/sentinelone-get-threats.txt").read_text()
    block = spec.split("inputs parameters (object)", 1)[1].split("output example", 1)[0]
    documented = {name.strip() for name, _ in re.findall(r"([a-z0-9 ]+?) \((array|boolean|string|number)\)", block)}
    schema_path = Path(__file__).resolve().parents[2] / "schemas/sentinelone.threat_filters.json"
    names = json.loads(schema_path.read_text())["properties"]
    assert {name.lower().replace("__", " ") for name in names} == documented
