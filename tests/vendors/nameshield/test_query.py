"""Nameshield query: the filter schema against the documented parameters, the v2 query, the v1 body, input checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.errors import BadInput
from connector.threat import Event
from connector.vendors.nameshield.mapping import (
    normalize_event,
)
from connector.vendors.nameshield.query import (
    SORT_PATTERN,
    V1_FILTERS,
    V2_FILTERS,
    V2_TO_V1,
    check_input,
    selection,
    v1_body,
    v2_params,
    vendor_time,
)
from tests.conftest import doc
from tests.vendors.nameshield.conftest import FILTERS_SCHEMA


def test_filter_schema_has_every_documented_parameter() -> None:
    documented = set(doc("nameshield/parameters.json"))
    assert {
        "size",
        "page",
        "customerId",
        "startedAt",
        "query_parameters",
        "offset",
        "include_customer_children_events",
    } <= documented
    schema = json.loads(FILTERS_SCHEMA.read_text())
    assert set(schema["properties"]) == documented - {"page", "offset"}, "paging stays the connector's"
    assert set(schema["properties"]) == V2_FILTERS | V1_FILTERS
    assert schema["$defs"]["sort"]["pattern"] == SORT_PATTERN
    assert set(V2_TO_V1) <= V2_FILTERS and set(V2_TO_V1.values()) <= V1_FILTERS


def test_common_filters_map_onto_v2_parameters() -> None:
    document = {
        "since": "2025-01-01T00:00:00.250+01:00",
        "until": "2025-02-01T12:00:00.5Z",
        "severity": ["medium"],
        "search": "acme",
        "sort": ["criticality,desc", "date"],
        "limit": 20,
        "vendor_filters": {"customerId": 43, "sort": "domain,asc"},
    }
    chosen = selection(document)
    assert chosen.since == datetime(2024, 12, 31, 23, 0, 0, 250000, tzinfo=UTC)
    assert not chosen.exact, "sub-second bounds are finished client-side"
    assert v2_params(document, chosen) == {
        "startedAt": "2024-12-31 23:00:00",
        "endedAt": "2025-02-01 12:00:01",
        "criticality": "MEDIUM",
        "domain": "acme",
        "sort": ["domain,asc"],
        "size": 500,
        "customerId": 43,
    }


def test_one_severity_is_the_vendors_filter_several_are_the_clients() -> None:
    one = selection({"severity": ["high"], "limit": 5})
    assert one.exact and v2_params({}, one) == {"criticality": "HIGH", "sort": ["date,asc"], "size": 5}
    several = selection({"severity": ["high", "informational"], "limit": 5})
    assert not several.exact and "criticality" not in v2_params({}, several)
    assert v2_params({}, several)["size"] == 500
    assert not selection({"severity": ["unknown"]}).exact
    assert selection({"severity": ["critical"]}).matches_nothing
    assert not selection({"severity": ["critical", "low"]}).matches_nothing


def test_selection_keeps_exact_bounds_and_severities() -> None:
    chosen = selection(
        {"since": "2025-01-01T00:00:00.500Z", "until": "2025-01-02T00:00:00Z", "severity": ["low", "high"]}
    )

    def event(date: str, level: str) -> Event:
        return normalize_event({"id": date, "date": date, "domain": "a.com", "criticality": {"level": level}})

    assert not chosen.keeps(event("2025-01-01T00:00:00.400Z", "LOW"))
    assert chosen.keeps(event("2025-01-01T00:00:00.500Z", "LOW"))
    assert chosen.keeps(event("2025-01-02T00:00:00.000Z", "HIGH"))
    assert not chosen.keeps(event("2025-01-02T00:00:00.001Z", "HIGH"))
    assert not chosen.keeps(event("2025-01-01T12:00:00Z", "MEDIUM"))


def test_v1_body_and_the_fallback_translation() -> None:
    document = {
        "api": "v1",
        "search": "globex",
        "criteria": [{"name": "type", "operator": "EQUALS", "value": "DOMAIN_REPORTED"}],
        "junction": "AND",
        "severity": ["low"],
        "vendor_filters": {"customer_id": 43, "include_customer_children_events": False, "limit": 50},
    }
    assert v1_body(document, selection(document)) == {
        "limit": 50,
        "offset": 0,
        "criticality": "LOW",
        "customer_id": 43,
        "include_customer_children_events": False,
        "junction": "AND",
        "query_parameters": [
            {"name": "type", "operator": "EQUALS", "value": "DOMAIN_REPORTED"},
            {"name": "domain", "operator": "CONTAINS", "value": "globex"},
        ],
    }
    v2_document = {
        "until": "2025-01-01T00:00:00Z",
        "search": "ignored",
        "vendor_filters": {
            "customerId": 44,
            "domain": "hooli",
            "sort": "date,desc",
            "startedAt": "2024-01-01 00:00:00",
        },
    }
    assert v1_body(v2_document, selection(v2_document), fallback=True) == {
        "limit": 500,
        "offset": 0,
        "ended_at": "2025-01-01 00:00:00",
        "include_customer_children_events": False,
        "customer_id": 44,
        "started_at": "2024-01-01 00:00:00",
        "query_parameters": [{"name": "domain", "operator": "CONTAINS", "value": "hooli"}],
    }


@pytest.mark.parametrize(
    ("document", "api", "message"),
    [
        ({"threat_ids": ["1"]}, "v2", "input.threat_ids: a MySecutec filter, not used by Nameshield"),
        ({"include_system": True}, "v1", "input.include_system: a MySecutec filter"),
        ({"criteria": []}, "v2", "input.criteria: only the v1 search takes criteria (set api to v1)"),
        ({"junction": "OR"}, "v2", "input.junction: only the v1 search takes criteria"),
        (
            {"sort": ["date,asc", "color"]},
            "v2",
            "input.sort[1]: 'color' is not 'attribute[,attribute...][,asc|desc]'",
        ),
        ({"sort": ["date,desc"]}, "v1", "input.sort: the v1 search cannot sort"),
        (
            {"vendor_filters": {"sort": "date"}},
            "v1",
            "input.vendor_filters.sort: a Nameshield v2 filter, not valid with api v1",
        ),
        (
            {"vendor_filters": {"customer_id": 43}},
            "v2",
            "input.vendor_filters.customer_id: a Nameshield v1 filter",
        ),
        ({"junction": "OR", "search": "x"}, "v1", "input.search: cannot be combined with junction OR"),
    ],
)
def test_inputs_that_do_not_apply_are_refused_in_one_line(document: dict[str, Any], api: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_input(document, api)
    assert caught.value.message.startswith(message)


def test_window_checks() -> None:
    with pytest.raises(BadInput, match=r"^input.until: must not be before input.since$"):
        selection({"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"})
    assert vendor_time(datetime(2025, 1, 1, 23, 59, 59, 1, tzinfo=UTC), round_up=True) == "2025-01-02 00:00:00"
    assert vendor_time(datetime(2025, 1, 1, 23, 59, 59, 1, tzinfo=UTC)) == "2025-01-01 23:59:59"
