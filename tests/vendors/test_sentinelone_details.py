"""SentinelOne details checked on the real payloads (tests/fixtures/real/sentinelone): engine names
kept whole, OCSF addresses that name the host to others, no invented time."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.ocsf import to_ocsf
from connector.vendors.sentinelone import normalize_threat
from tests.records_support import assert_ocsf

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "sentinelone"


def _real(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((REAL / name).read_text())["data"]
    return records


def test_real_engine_titles_are_kept_as_they_are() -> None:
    newer = [normalize_threat(r)["detection_engines"] for r in _real("threats_page_eventcollector.json")]
    older = [normalize_threat(r)["detection_engines"] for r in _real("threats_2_1_raw_response.json")]
    assert newer == [["Manual"], ["Manual"]]
    assert older == [["Reputation"], ["On-Write DFI"], ["On-Write DFI"], ["On-Write DFI"]]


def test_an_engine_title_with_a_comma_is_one_engine() -> None:
    record = copy.deepcopy(_real("threats_page_eventcollector.json")[0])
    record["threatInfo"]["detectionEngines"] = [
        {"key": "data_files", "title": "Documents, Scripts"}, {"key": "reputation", "title": "Reputation"},
    ]
    assert normalize_threat(record)["detection_engines"] == ["Documents, Scripts", "Reputation"]
    older = copy.deepcopy(_real("threats_2_1_raw_response.json")[0])
    older["threatInfo"]["engines"] = ["Documents, Scripts", "Anti Exploitation / Fileless"]
    assert normalize_threat(older)["detection_engines"] == ["Documents, Scripts", "Anti Exploitation / Fileless"]
    older["threatInfo"]["engines"] = "Documents, Scripts"
    assert normalize_threat(older)["detection_engines"] == ["Documents, Scripts"]


def test_ocsf_device_and_resource_take_a_routable_address_before_a_link_local_one() -> None:
    record = copy.deepcopy(_real("threats_page_eventcollector.json")[0])
    interfaces = record["agentRealtimeInfo"]["networkInterfaces"]
    interfaces.insert(0, {"id": "1", "inet": ["127.0.0.1"], "inet6": ["fe80::1"], "name": "lo", "physical": ""})
    threat = normalize_threat(record)
    assert threat["resources"][0]["ip"][:3] == ["127.0.0.1", "fe80::1", "1.1.1.1"], "the resource keeps them all"
    event = to_ocsf(threat)
    assert event["device"]["ip"] == "1.1.1.1"
    assert event["resources"][0]["ip"] == "1.1.1.1"
    assert_ocsf(event)


def test_ocsf_keeps_a_link_local_address_when_it_is_the_only_one() -> None:
    record = copy.deepcopy(_real("threats_page_eventcollector.json")[0])
    record["agentRealtimeInfo"]["networkInterfaces"] = [{"id": "1", "inet6": ["fe80::1"], "name": "Ethernet0"}]
    record["agentDetectionInfo"].update(agentIpV4=None, agentIpV6=None, externalIp=None)
    event = to_ocsf(normalize_threat(record))
    assert (event["device"]["ip"], event["resources"][0]["ip"]) == ("fe80::1", "fe80::1")


def test_a_real_record_with_its_times_has_no_read_time_mark() -> None:
    event = to_ocsf(normalize_threat(_real("threats_page_eventcollector.json")[0]))
    assert event["time"] == 1671618598264, "the last update"
    assert "processed_time" not in event["metadata"] and "tags" not in event["metadata"]


def test_a_record_with_no_time_at_all_takes_the_time_it_was_read_marked_as_such() -> None:
    record = copy.deepcopy(_real("threats_2_1_raw_response.json")[0])
    for key in ("createdAt", "updatedAt", "identifiedAt"):
        record["threatInfo"][key] = None
    threat = normalize_threat(record)
    assert (threat["created_at"], threat["updated_at"], threat["first_seen"], threat["last_seen"]) == (None,) * 4
    read = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    event = to_ocsf(threat, now=read)
    assert event["time"] == event["metadata"]["processed_time"] == 1796580000000
    assert event["metadata"]["tags"] == [{"name": "time", "value": "read"}]
    assert "created_time" not in event["finding_info"] and "first_seen_time" not in event["finding_info"]
    assert_ocsf(event)
