"""Nameshield mapping: the real and documented payloads field by field, the tables, patchy and unreadable records."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connector.enums import SeverityId, StatusId
from connector.errors import BadVendorAnswer
from connector.plugins import default_host
from connector.vendors.nameshield.mapping import (
    CRITICALITY_BY_SEVERITY,
    SEVERITY_BY_CRITICALITY,
    TITLE_BY_TYPE,
    error_detail,
    normalize_event,
)
from connector.vendors.nameshield.query import (
    selection,
    v1_body,
    v2_params,
)
from tests.conftest import doc, real_payload
from tests.vendors.nameshield.conftest import FILTERS_SCHEMA


def test_real_v2_get_payload_normalises_field_by_field() -> None:
    record = real_payload("nameshield/get_event_v2_doc_example.json")
    event = normalize_event(record, include_raw=True)
    assert event["uid"] == "nameshield:2fc25065-5fa1-4766-93a3-471f36599f1d"
    assert (event["vendor"], event["vendor_id"], event["type"]) == (
        "nameshield",
        "2fc25065-5fa1-4766-93a3-471f36599f1d",
        "DOMAIN_REPORTED",
    )
    assert event["time"] == "2023-10-27T09:42:58Z"
    assert event["summary"] == "HIGH: Reported domain example.com (Example)"
    assert event["raw"] == record
    threat = event["threat"]
    assert threat is not None
    assert threat["uid"] == event["uid"] and threat["kind"] == "detection"
    assert threat["title"] == "Reported domain example.com (Example)"
    assert (threat["severity"], threat["severity_id"], threat["vendor_severity"]) == ("high", SeverityId.high, "HIGH")
    assert (threat["status"], threat["status_id"], threat["vendor_status"]) == ("new", StatusId.new, None)
    assert threat["first_seen"] == threat["last_seen"] == threat["created_at"] == event["time"]
    assert threat["updated_at"] is None
    assert threat["description"] == (
        "2023-10-26T07:28:10.670Z: Lorem ipsum dolor sit amet, qui minim labore adipisicing minim sint "
        "cillum sint consectetur cupidatat."
    )
    assert [resource for resource in threat["resources"]] == [
        {"uid": "1", "name": "Example", "type": "brand", "hostname": None, "ip": [], "os": None,
         "agent_version": None, "machine_type": None, "container": None, "cloud": None}
    ]
    assert [(o["type"], o["value"], o["name"]) for o in threat["observables"]] == [
        ("domain", "example.com", "domain"),
        ("ip", "13.107.246.42", "observed_data.dns_records.ip"),
        ("hostname", "cng4cvfbf6g4eaby.example.com", "observed_data.dns_records.name"),
        ("email", "owner@example.com", "observed_data.whois.owner_email"),
        ("url", "https://example.com", "observed_data.website.final_url"),
        ("url", "http://www.example.com", "observed_data.website.origin_url"),
    ]
    (indicator,) = threat["indicators"]
    assert indicator["domain"] == "example.com"
    assert [record for record in indicator["dns_records"]] == [
        {"type": "CNAME", "name": "cng4cvfbf6g4eaby.example.com", "ip": "13.107.246.42", "country_code": "ZZ"}
    ]
    assert indicator["whois"] == record["observed_data"]["whois"]
    assert indicator["whois"] is not None and indicator["whois"]["registrar_name"] == "Nameshield"
    assert indicator["website"] == record["observed_data"]["website"]
    assert threat["raw"] is None, "the raw record is kept once, on the event"
    assert normalize_event(record)["raw"] is None


def test_spec_v2_list_example_normalises() -> None:
    page = doc("nameshield/v2_list_response.json")
    assert (page["has_next"], page["total_items"]) == (False, 1)
    (event,) = (normalize_event(record) for record in page["data"])
    assert event["vendor_id"] == "2fc25065-4766-5fa1-93a3-471f36599f1d"
    assert event["time"] == "2025-01-27T09:42:58Z"
    threat = event["threat"]
    assert threat is not None
    assert (threat["severity"], threat["vendor_severity"]) == ("low", "LOW")
    assert str(threat["description"]).startswith("2025-01-27T17:28:10.670Z: Lorem ipsum")
    dns = threat["indicators"][0]["dns_records"]
    assert [(r["type"], r["ip"], r["country_code"]) for r in dns] == [
        ("NS", "1.1.1.42", "CH"),
        ("MX", "2.2.2.42", "FR"),
        ("A", "3.3.3.42", "CH"),
        ("CNAME", "4.4.4.42", "ZZ"),
    ]
    observed = [o["value"] for o in threat["observables"]]
    assert observed[:3] == ["example.com", "1.1.1.42", "ns.example.net"]
    assert observed.count("https://example.com") == 1
    assert "example.example.com" in observed and "owner@example.com" in observed


def test_spec_v1_search_example_normalises() -> None:
    answer = doc("nameshield/v1_search_response.json")
    assert answer["data"]["total"] == 1
    (event,) = (normalize_event(record) for record in answer["data"]["results"])
    assert event["uid"] == "nameshield:2fc25065-5fa1-4766-93a3-471f36599f1d"
    assert event["summary"] == "HIGH: Reported domain example.com (Example)"
    assert event["threat"] is not None and event["threat"]["indicators"][0]["whois"] is not None
    assert event["threat"]["indicators"][0]["whois"]["expiration_date"] == "2024-09-21T22:00:00.000Z"


def test_spec_v2_request_example_is_what_the_query_builds() -> None:
    documented = parse_qs(urlsplit(doc("nameshield/v2_list_request.json")["target"]).query)
    assert documented == {"criticality": ["LOW"], "startedAt": ["2024-12-31 15:30:45"]}
    document = {"severity": ["low"], "since": "2024-12-31T15:30:45Z"}
    params = v2_params(document, selection(document))
    assert params == {
        "criticality": "LOW",
        "startedAt": "2024-12-31 15:30:45",
        "sort": ["date,asc"],
        "size": 500,
    }


def test_spec_v1_request_example_is_what_the_body_builds() -> None:
    documented = doc("nameshield/v1_search_request.json")
    document = {
        "api": "v1",
        "criteria": documented["query_parameters"],
        "limit": 10,
        "since": "2023-10-01T00:00:00Z",
        "until": "2023-10-31T00:00:00Z",
    }
    body = v1_body(document, selection(document))
    # The example spells started_At; the parameter table (and this client) say started_at.
    assert body == {
        "query_parameters": [{"name": "domain", "operator": "ENDS_WITH", "value": ".com"}],
        "limit": 10,
        "offset": 0,
        "started_at": documented["started_At"],
        "ended_at": documented["ended_at"],
    }


@pytest.mark.parametrize(
    ("level", "severity", "severity_id"),
    [
        ("HIGH", "high", 4),
        ("MEDIUM", "medium", 3),
        ("LOW", "low", 2),
        ("NONE", "informational", 1),
        ("CRITICAL", "unknown", 0),
        ("", "unknown", 0),
    ],
)
def test_severity_table_value_by_value(level: str, severity: str, severity_id: int) -> None:
    """Each level maps by the table; an empty level is a null, not a label."""
    threat = normalize_event(
        {"id": "e1", "date": "2025-01-01T00:00:00Z", "domain": "a.com", "criticality": {"level": level}}
    )["threat"]
    assert threat is not None
    assert (threat["severity"], int(threat["severity_id"]), threat["vendor_severity"]) == (
        severity,
        severity_id,
        level or None,
    )


def test_tables_are_the_designed_ones() -> None:
    assert {level: int(sev) for level, sev in SEVERITY_BY_CRITICALITY.items()} == {
        "HIGH": 4,
        "MEDIUM": 3,
        "LOW": 2,
        "NONE": 1,
    }
    assert CRITICALITY_BY_SEVERITY == {
        "high": "HIGH",
        "medium": "MEDIUM",
        "low": "LOW",
        "informational": "NONE",
    }
    assert TITLE_BY_TYPE == {"DOMAIN_DETECTED": "Typosquat domain", "DOMAIN_REPORTED": "Reported domain"}


@pytest.mark.parametrize(
    ("event_type", "title"),
    [
        ("DOMAIN_DETECTED", "Typosquat domain example-login.com (Example)"),
        ("DOMAIN_REPORTED", "Reported domain example-login.com (Example)"),
        ("DOMAIN_SEIZED", "Suspicious domain example-login.com (Example)"),
        (None, "Suspicious domain example-login.com (Example)"),
    ],
)
def test_title_by_event_type(event_type: str | None, title: str) -> None:
    record = {
        "id": "e1",
        "date": "2025-01-01T00:00:00Z",
        "type": event_type,
        "domain": "example-login.com",
        "brand": {"id": 1, "name": "Example"},
        "criticality": {"level": "MEDIUM"},
    }
    event = normalize_event(record)
    assert event["threat"] is not None and event["threat"]["title"] == title
    assert event["type"] == (event_type or "UNKNOWN")
    assert event["summary"] == f"MEDIUM: {title}"


def test_patchy_record_normalises_with_empty_parts() -> None:
    record = {
        "id": "e2",
        "date": "2025-03-01T10:00:00.123Z",
        "type": "DOMAIN_DETECTED",
        "domain": "acme-pay.io",
        "brand": None,
        "criticality": None,
        "comments": [],
        "observed_data": {"dns_records": [], "whois": None, "website": None},
    }
    event = normalize_event(record)
    threat = event["threat"]
    assert threat is not None
    assert threat["title"] == "Typosquat domain acme-pay.io"
    assert (threat["severity"], threat["vendor_severity"]) == ("unknown", None)
    assert threat["description"] is None and threat["resources"] == []
    assert [o["value"] for o in threat["observables"]] == ["acme-pay.io"]
    assert threat["indicators"][0] == {
        "domain": "acme-pay.io",
        "whois": None,
        "dns_records": [],
        "website": None,
    }
    assert event["summary"] == "UNKNOWN: Typosquat domain acme-pay.io"


def test_redacted_whois_and_unresolved_dns_give_no_observables() -> None:
    record = {
        "id": "e3",
        "date": "2025-03-01T10:00:00Z",
        "domain": "x.com",
        "observed_data": {
            "dns_records": [{"type": "A", "name": "x.com", "ip": None}],
            "whois": {"owner_email": None},
            "website": {"final_url": None, "origin_url": "http://x.com"},
        },
    }
    threat = normalize_event(record)["threat"]
    assert threat is not None
    assert [(o["type"], o["value"]) for o in threat["observables"]] == [("domain", "x.com"), ("url", "http://x.com")]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"date": "2025-01-01T00:00:00Z", "domain": "a.com"}, "nameshield: event: id: missing"),
        ({"id": "e4", "date": "2025-01-01T00:00:00Z"}, "nameshield: event e4: domain: missing"),
        ({"id": "e4", "date": "2025-01-01T00:00:00Z", "domain": "not a domain"}, "nameshield: event e4: domain: "),
        ({"id": "e5", "date": "yesterday", "domain": "a.com"}, "nameshield: event e5: date: missing or not a times"),
        ({"id": "e6", "domain": "a.com"}, "nameshield: event e6: date: missing"),
        ("a string", "nameshield: event: expected an object, got str"),
    ],
)
def test_unreadable_records_are_clean_failures(record: dict[str, Any], message: str) -> None:
    with pytest.raises(BadVendorAnswer) as caught:
        normalize_event(record)
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message


def test_vendor_registration() -> None:
    vendor = default_host().vendor("nameshield")
    assert (vendor.auth_scheme, vendor.rate_limit, vendor.error_detail) == ("Bearer", (600.0, 300.0), error_detail)
    assert set(vendor.bindings) == {"list_events", "get_event", "test_connection"}
    assert default_host().action("list_events").vendors["nameshield"].vendor_filters == FILTERS_SCHEMA.name


def test_error_detail_reads_the_message() -> None:
    assert error_detail({"message": "Invalid criticality 'X'", "data": None}) == "Invalid criticality 'X'"
    assert error_detail({"data": None}) is None
    assert error_detail(["not", "an", "object"]) is None
