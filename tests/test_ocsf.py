"""Common records as OCSF 1.8.0 events, validated against the official schema, offline.

The ``ocsf-json-schema`` package ships the OCSF schema exports (``ocsf/1.8.0.json``, the
``/export/v2/schema`` of schema.ocsf.io) and turns a class plus profiles into a draft 2020-12 JSON
Schema with every object embedded under ``$defs``; jsonschema validates each event against the
schema of its class and the profiles its metadata names.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.errors import BadVendorAnswer
from connector.ocsf import NotAFinding, to_ocsf
from connector.sandbox import SandboxConfig
from connector.vendors.ciso_assistant.mapping import normalize_incident
from connector.vendors.mysecutec.mapping import normalize_log
from connector.vendors.mysecutec.mapping import normalize_threat as mysecutec_threat
from connector.vendors.nameshield.mapping import normalize_event
from connector.vendors.sentinelone.threats import normalize_threat as sentinelone_threat
from tests.conftest import REAL, real_payload
from tests.records_support import assert_ocsf, served_records

SIZES = {"sentinelone": 300, "mysecutec": 300, "nameshield": 300, "ciso_assistant": 60}
MAPPERS = {
    "sentinelone": sentinelone_threat, "mysecutec": mysecutec_threat, "nameshield": normalize_event,
    "ciso_assistant": normalize_incident,
}


def _events(vendor: str, records: list[Any]) -> list[dict[str, Any]]:
    events = []
    for record in records:
        try:
            mapped = MAPPERS[vendor](record, include_raw=True)
        except BadVendorAnswer:
            continue  # a record refused by the mapper (messy data) has no event either
        events.append(to_ocsf(mapped))
    return events


@pytest.mark.parametrize("rate", [0.0, 1.0], ids=["clean", "all-messy"])
def test_every_sandbox_record_is_a_valid_ocsf_event(rate: float) -> None:
    served = asyncio.run(served_records(SandboxConfig(sizes=SIZES, rate_limits=False, messy=rate)))
    classes = set()
    for vendor in MAPPERS:
        events = _events(vendor, served[vendor])
        assert len(events) > len(served[vendor]) * 0.8, vendor
        for event in events:
            assert_ocsf(event)
            classes.add((vendor, event["class_uid"]))
    assert classes == {("sentinelone", 2004), ("mysecutec", 2002), ("mysecutec", 2004), ("nameshield", 2004),
                       ("ciso_assistant", 2005)}


def test_every_real_payload_is_a_valid_ocsf_event() -> None:
    s1 = [r for path in sorted((REAL / "sentinelone").glob("*.json")) for r in json.loads(path.read_text())["data"]]
    events = _events("sentinelone", s1)
    event = real_payload("nameshield/get_event_v2_doc_example.json")
    events += _events("nameshield", [event.get("data", event)])
    for path in sorted((REAL / "ciso_assistant").glob("*.json")):
        for exchange in json.loads(path.read_text())["exchanges"]:
            body = exchange["response"].get("body")
            if exchange["response"]["status"] < 300 and isinstance(body, dict) and "severity" in body and "id" in body:
                events += _events("ciso_assistant", [body])
    assert len(events) > 20
    for found in events:
        assert_ocsf(found)


def test_a_sentinelone_threat_field_by_field() -> None:
    record = real_payload("sentinelone/threats_2_1_raw_response.json")["data"][0]
    event = to_ocsf(sentinelone_threat(record))
    assert (event["class_uid"], event["type_uid"], event["activity_id"]) == (2004, 200402, 2)
    assert event["metadata"]["product"] == {"name": "Singularity Platform", "vendor_name": "SentinelOne"}
    assert (event["metadata"]["version"], event["metadata"]["correlation_uid"]) == ("1.8.0", "A8F6CB4CB9AE09A1")
    assert event["time"] == 1585839148528, "the last update"
    assert (event["severity_id"], event["status_id"], event["confidence_id"]) == (4, 4, 3)
    assert event["finding_info"]["types"] == ["Malware"]
    assert event["finding_info"]["uid"] == "sentinelone:715718962991148224"
    assert event["device"]["os"] == {"name": "Windows Server 2016", "type_id": 100, "type": "Windows"}
    assert (event["device"]["type_id"], event["device"]["ip"]) == (1, "8.8.8.8")
    (evidence,) = event["evidences"]
    assert evidence["file"]["hashes"] == [
        {"algorithm_id": 2, "algorithm": "SHA-1", "value": "3395856ce81f2b7382dee72602f798b642f14140"}
    ]
    assert event["malware"] == [{"name": "Unconfirmed 123490.crdownload", "classification_ids": [99],
                                 "classifications": ["Malware"]}]
    observed = {(o["type_id"], o["value"]) for o in event["observables"]}
    assert observed >= {(8, "3395856ce81f2b7382dee72602f798b642f14140"), (2, "8.8.8.8"), (1, "EC2AMAZ-AJ0KANC")}
    assert event["unmapped"]["vendor_severity"] == "malicious" and event["unmapped"]["verdict"] == "undefined"


def test_an_incident_without_owner_is_assigned_to_no_one_by_name() -> None:
    incident = normalize_incident({"id": "a1", "name": "Lost laptop", "severity": 2, "status": "ongoing"})
    event = to_ocsf(incident, now=datetime(2024, 5, 1, 10, tzinfo=UTC))
    assert (event["class_uid"], event["status_id"], event["severity_id"]) == (2005, 2, 4)
    assert event["assignee_group"] == {"name": "unassigned"} and "assignee" not in event
    assert event["time"] == 1714557600000, "no time in the record: the time it was read"
    assert event["metadata"]["processed_time"] == 1714557600000
    assert event["metadata"]["tags"] == [{"name": "time", "value": "read"}]
    assert event["finding_info_list"][0]["title"] == "Lost laptop"
    assert_ocsf(event)


def test_a_mysecutec_cve_is_a_vulnerability_finding() -> None:
    threat = mysecutec_threat({
        "id": "t1", "name": "CVE-2024-1234 RCE", "external_id": "cve-2024-1234", "severity": "critical",
        "cvss_score": 9.8, "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "updated_at": "2025-03-01T12:00:00Z", "asset": {"id": "a1", "name": "example.com", "type": "domain"},
    })
    event = to_ocsf(threat)
    assert event["class_uid"] == 2002
    assert event["vulnerabilities"] == [{
        "cve": {"uid": "CVE-2024-1234", "cvss": [{"base_score": 9.8, "version": "3.1",
                                                  "vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]},
        "title": "CVE-2024-1234 RCE", "severity": "Critical",
    }]
    assert_ocsf(event)


def test_a_nameshield_event_is_the_detection_of_its_domain() -> None:
    event = to_ocsf(normalize_event({
        "id": "e1", "date": "2025-01-01 00:00:00", "type": "DOMAIN_DETECTED", "domain": "acme-login.com",
        "criticality": {"level": "HIGH"}, "observed_data": {"whois": {"registrar_name": "X"}},
    }))
    assert (event["class_uid"], event["time"], event["unmapped"]["event_type"]) == (2004, 1735689600000,
                                                                                     "DOMAIN_DETECTED")
    assert event["enrichments"] == [{"name": "whois", "value": "acme-login.com", "data": {"registrar_name": "X"}}]
    assert_ocsf(event)


def test_a_threat_log_entry_is_no_finding() -> None:
    entry = normalize_log({"id": "l1", "created_at": "2025-01-01T00:00:00Z", "operation": "status_change"})
    with pytest.raises(NotAFinding, match="mysecutec:l1: a status_change log entry carries no finding"):
        to_ocsf(entry)


# --- --format ocsf and format="ocsf" --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_url() -> Any:
    from connector.sandbox import running_sandbox

    with running_sandbox(SandboxConfig(rate_limits=False, sizes={"sentinelone": 20, "mysecutec": 20,
                                                                 "nameshield": 20, "ciso_assistant": 20})) as url:
        yield url


def test_format_ocsf_writes_each_threat_as_a_valid_event_line(sandbox_url: str) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "connector", "run", "get-threats", "--sandbox-url", sandbox_url,
               "--vendor", "mysecutec", "--format", "ocsf", "--input", '{"limit": 5}']
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(events) == 5 and {event["class_uid"] for event in events} <= {2002, 2004}
    for event in events:
        assert_ocsf(event)


def test_ocsf_in_the_python_api_for_lists_and_single_records(sandbox_url: str) -> None:
    from connector.api import run_action

    incidents = run_action("list_incidents", {"limit": 3}, sandbox=sandbox_url, vendor="ciso_assistant", format="ocsf")
    assert incidents.status == "success" and len(incidents.output["incidents"]) == 3
    for event in incidents.output["incidents"]:
        assert event["class_uid"] == 2005
        assert_ocsf(event)
    events = run_action("list_events", {"limit": 1}, sandbox=sandbox_url, vendor="nameshield")
    uid = events.output["events"][0]["uid"]
    one = run_action("get_event", {"id": uid}, sandbox=sandbox_url, vendor="nameshield", format="ocsf")
    assert one.output["event"]["class_uid"] == 2004
    assert_ocsf(one.output["event"])


def test_ocsf_of_an_action_without_records_is_bad_input_and_log_entries_are_reported(sandbox_url: str) -> None:
    from connector.api import run_action

    refused = run_action("test_connection", {}, sandbox=sandbox_url, vendor="sentinelone", format="ocsf")
    assert (refused.exit_code, refused.errors[0].message) == (
        2, "ocsf: test_connection returns no threats, events or incidents to write as OCSF")
    logs = run_action("list_events", {"since": "2000-01-01T00:00:00Z", "limit": 2}, sandbox=sandbox_url,
                      vendor="mysecutec", format="ocsf")
    assert (logs.status, logs.output["events"], logs.output["count"]) == ("partial", [], 2)
    assert {error.type for error in logs.errors} == {"no_ocsf_form"}
