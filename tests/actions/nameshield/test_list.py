"""Nameshield actions against the simulator: list_events on the v2 API."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from connector.sandbox import SandboxConfig, build_app
from connector.sandbox.faults import FaultPlan
from connector.testing import RecordingTransport
from connector.vendors.nameshield.mapping import normalize_event
from tests.actions.nameshield.conftest import EVENTS, OWN, SIZE, act, extras, level, oldest_first, only_error, uids


def whole_second(iso: str, *, up: bool) -> str:
    """``iso`` in Nameshield's ``yyyy-MM-dd HH:mm:ss``, a fraction dropped or (``up``) rounded up."""
    moment = datetime.fromisoformat(iso)
    if up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def test_default_list_is_every_own_event_oldest_first(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {})
    assert uids(envelope) == OWN
    assert envelope.output["count"] == envelope.output["total"] == len(OWN)
    assert (envelope.meta.requests, envelope.meta.pages) == (1, 1)
    assert extras(envelope) == {"api": "v2"}
    (request,) = sandbox.requests
    assert request.params.multi_items() == [("sort", "date,asc"), ("size", "500")]
    assert request.auth_scheme == "Bearer"
    first = envelope.output["events"][0]
    assert first == normalize_event(next(e for e in EVENTS if f"nameshield:{e['id']}" == OWN[0]))


def test_pages_are_walked_until_has_next_is_false(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"vendor_filters": {"size": 20}})
    assert uids(envelope) == OWN
    assert envelope.meta.requests == envelope.meta.pages == math.ceil(len(OWN) / 20)
    assert [int(r.params.get("page", 0)) for r in sandbox.requests] == list(range(envelope.meta.pages))


def test_limit_asks_for_a_small_page_and_stops(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"limit": 7})
    assert uids(envelope) == OWN[:7]
    assert envelope.output["total"] == len(OWN) and envelope.meta.requests == 1
    assert sandbox.requests[0].params["size"] == "7"


def test_one_severity_is_filtered_by_nameshield(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"severity": ["high"]})
    expected = oldest_first(42, keep=level("HIGH"))
    assert uids(envelope) == expected and expected
    assert envelope.output["total"] == len(expected)
    assert sandbox.requests[0].params["criticality"] == "HIGH"
    assert {event["threat"]["severity"] for event in envelope.output["events"]} == {"high"}


def test_several_severities_are_filtered_client_side_in_one_walk(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"severity": ["informational", "medium", "critical"], "limit": 12})
    assert uids(envelope) == oldest_first(42, keep=level("NONE", "MEDIUM"))[:12]
    assert envelope.output["total"] is None, "the vendor's total counts events the client dropped"
    assert "criticality" not in sandbox.requests[0].params and sandbox.requests[0].params["size"] == "500"


def test_critical_alone_matches_nothing_without_a_request(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"severity": ["critical"]})
    assert envelope.output == {"events": [], "count": 0, "total": 0}
    assert envelope.meta.requests == 0 and sandbox.requests == []


def test_window_search_and_sort(sandbox: RecordingTransport) -> None:
    dates = sorted(e["date"] for e in EVENTS if e["customer_id"] == 42)
    since, until = dates[10], dates[60]
    document = {"since": since, "until": until, "search": "acme", "sort": ["date,desc"]}
    envelope = act(sandbox, "list_events", document)
    expected = oldest_first(42, keep=lambda e: since <= e["date"] <= until and "acme" in e["domain"])
    assert uids(envelope) == expected[::-1] and expected
    params = sandbox.requests[0].params
    assert (params["startedAt"], params["endedAt"], params["domain"]) == (
        whole_second(since, up=False),
        whole_second(until, up=True),
        "acme",
    )
    assert params.get_list("sort") == ["date,desc"]


def test_sub_second_bounds_are_exact(sandbox: RecordingTransport) -> None:
    own = sorted((e for e in EVENTS if e["customer_id"] == 42), key=lambda e: (e["date"], e["id"]))
    first, last = own[5]["date"], own[9]["date"]
    assert not first.endswith(".000Z") and not last.endswith(".000Z"), "the bounds must fall inside a second"
    envelope = act(sandbox, "list_events", {"since": first, "until": last})
    assert uids(envelope) == OWN[5:10]
    assert envelope.output["total"] is None, "whole-second bounds may count events the client dropped"


def test_customer_filter_and_a_forbidden_customer(sandbox: RecordingTransport) -> None:
    assert uids(act(sandbox, "list_events", {"vendor_filters": {"customerId": 43}})) == oldest_first(43)
    failed = act(sandbox, "list_events", {"vendor_filters": {"customerId": 7}})
    assert failed.exit_code == 1
    assert only_error(failed) == "nameshield: GET /cti/v2/events: 403 Forbidden: Access denied to customer 7"


def test_include_raw_keeps_the_vendor_record(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"limit": 3, "include_raw": True})
    by_id = {e["id"]: e for e in EVENTS}
    for event in envelope.output["events"]:
        assert event["raw"] == by_id[event["vendor_id"]]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"sort": ["colour,asc"]}, "input.sort[0]: 'colour,asc' is not"),
        (
            {"criteria": [{"name": "domain", "operator": "CONTAINS", "value": "x"}]},
            "input.criteria: only the v1 search",
        ),
        ({"threat_ids": ["t1"]}, "input.threat_ids: a MySecutec filter"),
        (
            {"vendor_filters": {"size": 900}},
            "input.vendor_filters.size: 900 is greater than the maximum of 500",
        ),
        (
            {"vendor_filters": {"startedAt": "2025-01-01T00:00:00Z"}},
            "input.vendor_filters.startedAt: '2025-01-01T00:00:00Z' does not match",
        ),
        ({"vendor_filters": {"customer_id": 43}}, "input.vendor_filters.customer_id: a Nameshield v1 filter"),
        (
            {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
            "input.until: must not be before",
        ),
        ({"severity": ["severe"]}, "input.severity[0]: 'severe' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(sandbox: RecordingTransport, document: dict[str, Any], message: str) -> None:
    envelope = act(sandbox, "list_events", document)
    assert only_error(envelope).startswith(message)
    assert envelope.exit_code == 2 and sandbox.requests == []


def test_injected_429s_and_5xx_lose_nothing(sandbox: RecordingTransport) -> None:
    faulty = build_app(
        SandboxConfig(
            sizes={"nameshield": SIZE},
            rate_limits=False,
            vendors=("nameshield",),
            faults=FaultPlan.parse("429@1,503@3,429@4"),
        )
    )
    slept: list[float] = []
    envelope = act(sandbox, "list_events", {"vendor_filters": {"size": 30}}, slept=slept,
                   transport=httpx.ASGITransport(app=faulty))
    assert uids(envelope) == OWN
    assert envelope.meta.retries == 3 and envelope.meta.pages == math.ceil(len(OWN) / 30)
    assert slept == [1.0, 1.0, 1.0], "each Retry-After is honoured"
