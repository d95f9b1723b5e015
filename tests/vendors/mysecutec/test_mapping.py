"""MySecutec mapping: the spec's example payloads field by field, the DESIGN tables value by value,
the common filters -> list query, the bulk status table and the vendor filter schema against the spec.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from connector.enums import Kind, SeverityId, StatusId
from connector.errors import BadInput, BadVendorAnswer
from connector.hygiene import recording
from connector.sandbox.mysecutec.data import build_threats
from connector.vendors.mysecutec.api import gather_bounded
from connector.vendors.mysecutec.mapping import error_detail, log_summary, normalize_log, normalize_threat
from connector.vendors.mysecutec.query import keeps, pushed_down, threat_query
from connector.vendors.mysecutec.writes import bulk_user_status
from tests.conftest import doc

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def spec_example(*keys: str) -> dict[str, Any]:
    """The spec's JSON example whose top-level keys include ``keys``."""
    example: dict[str, Any] = next(block for block in doc("mysecutec/examples.json") if set(keys) <= set(block))
    return example


def record(**fields: Any) -> dict[str, Any]:
    return {"id": "t1", "name": "A threat", **fields}


def test_spec_list_example_normalises_field_by_field() -> None:
    page = spec_example("pagination", "threats")
    raw = page["threats"][0]
    threat = normalize_threat(raw, include_raw=True)
    assert threat["uid"] == "mysecutec:t1234-5678-abcd-ef90" and threat["vendor_id"] == "t1234-5678-abcd-ef90"
    assert threat["vendor"] == "mysecutec"
    assert threat["kind"] == Kind.vulnerability
    assert threat["title"] == "CVE-2024-1234 - Remote Code Execution"
    assert threat["description"] == "A critical RCE vulnerability in the web server..."
    assert (threat["severity"], threat["severity_id"]) == ("critical", SeverityId.critical)
    assert threat["vendor_severity"] == "critical"
    assert (threat["status"], threat["status_id"], threat["vendor_status"]) == ("new", StatusId.new, "unsolved")
    assert threat["verdict"] is None and threat["disposition"] is None
    assert threat["score"] == 9.8
    assert threat["vulnerabilities"] == [
        {"cve": "CVE-2024-1234", "cvss_score": 9.8,
         "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    ]
    assert threat["resources"] == [
        {"uid": "a1b2c3d4", "name": "example.com", "type": "domain", "hostname": None, "ip": [], "os": None,
         "agent_version": None, "machine_type": None, "container": None, "cloud": None}
    ]
    assert [o for o in threat["observables"]] == [
        {"type": "domain", "value": "example.com", "name": "asset"}
    ]
    stamp = "2025-03-01T12:00:00Z"
    assert (threat["first_seen"], threat["created_at"], threat["updated_at"]) == (stamp, stamp, stamp)
    assert threat["last_seen"] is None, "the API has no last-seen time"
    assert threat["raw"] == raw
    assert normalize_threat(raw)["raw"] is None


@pytest.mark.parametrize(
    ("label", "score", "severity"),
    [
        ("critical", None, "critical"),
        ("high", None, "high"),
        ("medium", None, "medium"),
        ("low", None, "low"),
        ("info", None, "informational"),
        ("high", 9.9, "high"),
        (None, 10.0, "critical"),
        (None, 9.0, "critical"),
        (None, 8.9, "high"),
        (None, 7.0, "high"),
        (None, 6.9, "medium"),
        (None, 4.0, "medium"),
        (None, 3.9, "low"),
        (None, 0.1, "low"),
        (None, 0.0, "informational"),
        (None, None, "unknown"),
        ("urgent", 9.5, "unknown"),
    ],
)
def test_severity_table(label: str | None, score: float | None, severity: str) -> None:
    threat = normalize_threat(record(severity=label, cvss_score=score))
    assert threat["severity"] == severity
    assert threat["severity_id"] == SeverityId[severity]
    assert threat["vendor_severity"] == label


@pytest.mark.parametrize(
    ("label", "status", "verdict", "disposition"),
    [
        ("unsolved", "new", None, None),
        ("solved", "resolved", None, None),
        ("accepted", "suppressed", None, "accepted"),
        ("false_positive", "suppressed", "false_positive", None),
        ("reopened", "unknown", None, None),
    ],
)
def test_status_table(label: str, status: str, verdict: str | None, disposition: str | None) -> None:
    threat = normalize_threat(record(status=label))
    assert (threat["status"], threat["status_id"]) == (status, StatusId[status])
    assert (threat["verdict"], threat["disposition"], threat["vendor_status"]) == (verdict, disposition, label)


def test_combined_status_falls_back_to_user_then_system_status() -> None:
    user_set = normalize_threat(record(user_status="accepted", system_status="unsolved"))
    assert user_set["vendor_status"] == "accepted"
    assert normalize_threat(record(system_status="solved"))["status"] == "resolved"
    assert normalize_threat(record())["status"] == "unknown"


def test_kind_vulnerabilities_and_assets_by_module() -> None:
    dnm = normalize_threat(record(
        external_id="DNM-ABC", tech_solution={"license_module_slug": "dnm"},
        asset={"id": "a9", "name": "j.martin@acme.fr", "type": "email"},
    ))
    assert dnm["kind"] == Kind.detection and dnm["vulnerabilities"] == []
    assert [(o["type"], o["value"]) for o in dnm["observables"]] == [("email", "j.martin@acme.fr")]
    check = normalize_threat(record(external_id="asm-open-rdp", tech_solution={"license_module_slug": "asm"},
                                    asset={"id": "a2", "name": "203.0.113.9", "type": "ip"}))
    assert check["kind"] == Kind.detection and check["vulnerabilities"] == []
    assert check["resources"][0]["ip"] == ["203.0.113.9"]
    lcm = normalize_threat(record(
        external_id="cve-2023-4863", cvss_score=8.8, tech_solution={"license_module_slug": "lcm"},
        asset={"id": "h1", "name": "DESKTOP-1", "type": "host"},
        data={"host": {"hostname": "desktop-1.corp", "os": "Windows 11 23H2"}},
    ))
    assert lcm["kind"] == Kind.vulnerability
    assert lcm["vulnerabilities"][0]["cve"] == "cve-2023-4863" and lcm["vulnerabilities"][0]["cvss_vector"] is None
    assert (lcm["resources"][0]["hostname"], lcm["resources"][0]["os"]) == ("desktop-1.corp", "Windows 11 23H2")
    no_asset = normalize_threat(record(asset=None, asset_id=None, name=None, external_id="X-1"))
    assert no_asset["resources"] == [] and no_asset["title"] == "X-1"


def test_every_seeded_sandbox_threat_normalises() -> None:
    stored = build_threats(11, 400)
    kinds = {normalize_threat(threat.record)["kind"] for threat in stored}
    assert kinds == {Kind.vulnerability, Kind.detection}
    assert any(threat.record["severity"] is None for threat in stored), "some have no severity"


def test_unmappable_records_are_one_line_failures() -> None:
    with pytest.raises(BadVendorAnswer, match=r"^mysecutec: threat: id: missing \(keys: name\)$"):
        normalize_threat({"name": "x"})
    with pytest.raises(BadVendorAnswer, match=r"^mysecutec: threat: expected an object, got int$"):
        normalize_threat(7)
    with pytest.raises(BadVendorAnswer, match=r"^mysecutec: threat log l1: created_at: missing or not a timestamp$"):
        normalize_log({"id": "l1", "created_at": None})


def test_bad_values_are_dropped_and_noted() -> None:
    with recording() as drops:
        threat = normalize_threat(record(updated_at="yesterday", cvss_score=11.0, severity="None",
                                         asset={"id": "a", "name": "999.1.1.1", "type": "ip"}))
    assert (threat["updated_at"], threat["score"], threat["vulnerabilities"]) == (None, None, [])
    assert (threat["severity"], threat["vendor_severity"]) == ("unknown", None), "'None' is a null"
    assert threat["resources"][0]["ip"] == [] and threat["observables"] == []
    assert [d.field for d in drops] == ["score", "updated_at", "resources.ip", "observables.ip"]


def test_spec_log_example_becomes_an_event() -> None:
    entry = spec_example("logs")["logs"][0]
    event = normalize_log(entry)
    assert event["uid"] == "mysecutec:log-uuid-123" and event["vendor_id"] == "log-uuid-123"
    assert event["type"] == "status_change"
    assert event["time"] == "2025-06-15T09:00:00Z"
    assert event["actor"] == "user@example.com"
    assert event["threat_uid"] == "mysecutec:t1234-5678"
    assert event["change"] is not None
    assert event["change"] == {"field": "user_status", "old_value": None, "new_value": "accepted"}
    assert event["summary"] == "status_change by user@example.com: user_status null -> accepted"
    assert event["raw"] is None and normalize_log(entry, include_raw=True)["raw"] == entry


def test_log_summary_is_one_short_line() -> None:
    assert log_summary("merge", None, {}) == "merge by unknown"
    line = log_summary("note_change", "a@b.c", {"field": "note", "old_value": "x\ny", "new_value": "z" * 200,
                                                "note": "per CHG-1"})
    assert "\n" not in line and line.startswith("note_change by a@b.c: note x y -> zzz")
    assert line.endswith("… (note: per CHG-1)")
    odd = {"id": "l2", "created_at": "2025-01-01T00:00:00Z", "change_data": "odd"}
    assert normalize_log(odd)["change"] is None


def test_error_detail_reads_every_error_dialect() -> None:
    api_error = {"error": {"code": "not_found", "message": "Threat not found"}}
    assert error_detail(api_error) == "not_found: Threat not found"
    assert error_detail({"detail": "Service Unavailable"}) == "Service Unavailable"
    validation = {"detail": [{"loc": ["query", "limit"], "msg": "not an int"}]}
    assert error_detail(validation) == "query.limit: not an int"
    assert error_detail({"message": "Forbidden"}) == "Forbidden"
    assert error_detail(["x"]) is None and error_detail({"error": {}}) is None


def test_common_filters_map_onto_the_list_query() -> None:
    query = threat_query({
        "severity": ["critical", "informational"], "status": ["new", "suppressed"],
        "since": "2025-01-01T00:00:00Z", "until": "2025-02-01T00:00:00Z", "search": "log4j", "asset": "a1",
        "vendor_filters": {
            "license_module": ["asm", "lcm"], "deleted": True, "sort": ["-cvss_score", "name"],
        },
    })
    assert query == {
        "severity": "critical,info",
        "status": "unsolved,accepted,false_positive",
        "updated_at_from": "2025-01-01T00:00:00Z",
        "updated_at_to": "2025-02-01T00:00:00Z",
        "search": "log4j",
        "asset_id": "a1",
        "license_module": "asm,lcm",
        "deleted": "true",
        "sort": "-cvss_score,name",
    }
    assert threat_query({}) == {"sort": "created_at,id"}
    assert threat_query({"since": "2025-01-01T00:00:00Z", "until": "2025-02-01T00:00:00Z"}, until=False) == {
        "updated_at_from": "2025-01-01T00:00:00Z", "sort": "created_at,id"}


def test_filters_no_vendor_value_can_match() -> None:
    assert threat_query({"status": ["in_progress", "closed"]}) is None
    unknown = threat_query({"severity": ["unknown", "high"]})
    assert unknown is not None and "severity" not in unknown
    assert not pushed_down({"severity": ["unknown"]}) and pushed_down({"severity": ["high"]})


def test_a_filter_set_twice_is_refused() -> None:
    with pytest.raises(BadInput, match=r"^input.vendor_filters.updated_at_from: also set by a common filter"):
        threat_query({"since": "2025-01-01T00:00:00Z", "vendor_filters": {"updated_at_from": "2025-01-01"}})


def test_keeps_checks_each_common_filter() -> None:
    threat = normalize_threat(record(severity=None, cvss_score=None, status="accepted",
                                     updated_at="2025-01-10T00:00:00Z", asset={"id": "a1"}))
    assert keeps(threat, {"severity": ["unknown"], "status": ["suppressed"], "asset": "a1",
                          "since": "2025-01-10T00:00:00Z", "until": "2025-01-10T00:00:00z"})
    assert not keeps(threat, {"severity": ["high"]})
    assert not keeps(threat, {"status": ["new"]})
    assert not keeps(threat, {"since": "2025-01-10T00:00:01Z"})
    assert not keeps(threat, {"until": "2025-01-09T23:59:59+00:00"})
    assert not keeps(threat, {"asset": "a2"})
    assert not keeps(normalize_threat(record()), {"since": "2025-01-01T00:00:00Z"}), "no updated_at, no match"


@pytest.mark.parametrize(
    ("status", "user_status"),
    [
        ("new", "unsolved"),
        ("resolved", "solved"),
        ("accepted", "accepted"),
        ("false_positive", "false_positive"),
    ],
)
def test_bulk_status_table(status: str, user_status: str) -> None:
    assert bulk_user_status({"status": status}) == user_status


@pytest.mark.parametrize("status", ["suppressed", "in_progress", "closed"])
def test_inexpressible_statuses_are_bad_input(status: str) -> None:
    with pytest.raises(BadInput) as caught:
        bulk_user_status({"status": status})
    assert caught.value.message == (
        f"input.status: '{status}' cannot be expressed for mysecutec "
        "(allowed: new, resolved, accepted, false_positive, or a vendor_status)"
    )


def test_vendor_status_overrides_and_is_checked() -> None:
    assert bulk_user_status({"status": "suppressed", "vendor_status": "accepted"}) == "accepted"
    expected = (r"^input.vendor_status: 'patched' is not a mysecutec user status "
                r"\(allowed: unsolved, false_positive, accepted, solved\)$")
    with pytest.raises(BadInput, match=expected):
        bulk_user_status({"vendor_status": "patched"})
    with pytest.raises(BadInput, match=r"^input.verdict: mysecutec has no analyst verdict"):
        bulk_user_status({"status": "resolved", "verdict": "true_positive"})


def test_filter_schema_has_every_documented_filter() -> None:
    documented = doc("mysecutec/list_threats.json")
    assert {"flag": "--threat-type", "type": "strings"} in documented["cli_flags"], "sent as threat_type"
    schema = json.loads((SCHEMAS / "mysecutec.threat_filters.json").read_text())
    properties = schema["properties"]
    assert set(properties) == (set(documented["query_parameters"]) - {"limit", "offset"}) | {"threat_type"}
    enums = {
        "severity": "severities", "status": "statuses", "system_status": "system statuses",
        "user_status": "user statuses", "license_module": "license modules", "threat_type": "threat types",
    }
    for name, what in enums.items():
        assert sorted(properties[name]["items"]["enum"]) == sorted(documented["valid_values"][what]), name


def test_gather_bounded_keeps_order_holds_the_bound_and_cancels_on_failure() -> None:
    running: list[int] = []
    most = 0
    cancelled: list[int] = []

    async def call(item: int) -> int:
        nonlocal most
        running.append(item)
        most = max(most, len(running))
        try:
            await asyncio.sleep(0.001 * (10 - item))
            if item == 5:
                raise ValueError("five")
            return item * 10
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        finally:
            running.remove(item)

    assert asyncio.run(gather_bounded(range(5), call, limit=2)) == [0, 10, 20, 30, 40]
    assert most == 2
    with pytest.raises(ValueError, match="five"):
        asyncio.run(gather_bounded(range(10), call, limit=3))
    assert cancelled and running == [], "the calls still running were cancelled and awaited"
