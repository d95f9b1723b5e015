"""Nameshield actions against the simulator: list_events on v1 and the fallback to it; get_event."""

from __future__ import annotations

import math

import httpx
import pytest

from connector.sandbox import SandboxConfig, build_app
from connector.sandbox.faults import FaultPlan
from connector.testing import RecordingTransport
from connector.vendors.nameshield.mapping import normalize_event
from tests.actions.nameshield.conftest import EVENTS, OWN, SIZE, act, extras, level, oldest_first, only_error, uids


def test_v1_search_includes_subsidiaries_pages_by_offset_oldest_first(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"api": "v1", "vendor_filters": {"limit": 40}})
    everyone = oldest_first(42, 43, 44)
    assert uids(envelope) == everyone
    assert envelope.output["total"] == len(everyone)
    assert envelope.meta.pages == envelope.meta.requests == math.ceil(len(everyone) / 40)
    assert extras(envelope) == {"api": "v1"}
    offsets = [r.json["offset"] for r in sandbox.requests]
    assert offsets == [40 * n for n in range(len(offsets))]
    assert {r.method + " " + r.path for r in sandbox.requests} == {"POST /nameshield/cti/v1/events/search"}


def test_v1_criteria_junction_and_children(sandbox: RecordingTransport) -> None:
    document = {
        "api": "v1",
        "junction": "OR",
        "severity": ["low"],
        "criteria": [
            {"name": "brand", "operator": "EQUALS", "value": "Umbrella"},
            {"name": "type", "operator": "IN", "value": ["DOMAIN_REPORTED"]},
        ],
    }
    expected = oldest_first(
        42,
        43,
        44,
        keep=lambda e: (
            e["criticality"]["level"] == "LOW" and (e["brand"]["name"] == "Umbrella" or e["type"] == "DOMAIN_REPORTED")
        ),
    )
    assert uids(act(sandbox, "list_events", document)) == expected and expected
    only_own = {
        "api": "v1",
        "search": "globex",
        "vendor_filters": {"include_customer_children_events": False},
    }
    assert uids(act(sandbox, "list_events", only_own)) == oldest_first(42, keep=lambda e: "globex" in e["domain"])


def test_v1_search_retries_a_429_and_is_sent_in_a_dry_run(sandbox: RecordingTransport) -> None:
    faulty = build_app(
        SandboxConfig(
            sizes={"nameshield": SIZE}, rate_limits=False, vendors=("nameshield",), faults=FaultPlan.parse("429@2")
        )
    )
    document = {"api": "v1", "vendor_filters": {"limit": 50}}
    envelope = act(sandbox, "list_events", document, transport=httpx.ASGITransport(app=faulty))
    assert uids(envelope) == oldest_first(42, 43, 44)
    assert envelope.meta.retries == 1, "a refused search did nothing, so even a POST is sent again"
    dry = act(sandbox, "list_events", document, dry_run=True)
    assert uids(dry) == uids(envelope), "the search changes nothing: a dry run sends it like a GET"
    sent = {(request.method, request.path) for request in sandbox.requests}
    assert sent == {("POST", "/nameshield/cti/v1/events/search")}


@pytest.mark.parametrize("status", [404, 410])
def test_v1_is_the_fallback_when_the_v2_list_is_gone(sandbox: RecordingTransport, status: int) -> None:
    document = {"severity": ["medium"], "search": "o", "limit": 9}
    v2 = act(sandbox, "list_events", document)
    fallback = act(sandbox, "list_events", document, gone=status)
    assert uids(fallback) == uids(v2) == oldest_first(42, keep=lambda e: level("MEDIUM")(e) and "o" in e["domain"])[:9]
    assert extras(fallback) == {
        "api": "v1",
        "fallback": f"the v2 list answered {status}: used the deprecated v1 search",
    }
    body = sandbox.requests[1].json
    assert body == {
        "limit": 9,
        "offset": 0,
        "criticality": "MEDIUM",
        "include_customer_children_events": False,
        "query_parameters": [{"name": "domain", "operator": "CONTAINS", "value": "o"}],
    }


def test_fallback_says_when_the_sort_is_lost(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {"sort": ["date,desc"], "limit": 3}, gone=410)
    assert uids(envelope) == OWN[:3]
    assert envelope.meta.model_extra is not None
    assert envelope.meta.model_extra["fallback"].endswith("(sort not applied)")


def test_other_v2_errors_do_not_fall_back(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "list_events", {}, gone=400)
    assert only_error(envelope) == "nameshield: GET /cti/v2/events: 400 Bad Request: This route has been removed"
    assert len(sandbox.requests) == 1


def test_get_event_by_id_and_by_uid(sandbox: RecordingTransport) -> None:
    record = next(e for e in EVENTS if e["customer_id"] == 44)
    by_id = act(sandbox, "get_event", {"id": record["id"], "include_raw": True})
    assert by_id.status == "success", by_id.errors
    assert by_id.output == {"event": normalize_event(record, include_raw=True)}
    by_uid = act(sandbox, "get_event", {"id": f"nameshield:{record['id']}"})
    assert by_uid.output["event"]["uid"] == f"nameshield:{record['id']}" and by_uid.output["event"]["raw"] is None
    assert sandbox.requests[0].path == f"/nameshield/cti/v2/events/{record['id']}"


def test_get_event_unknown_or_hidden_is_one_line_exit_1(sandbox: RecordingTransport) -> None:
    stranger = next(e for e in EVENTS if e["customer_id"] == 7)
    for event_id in ("00000000-0000-4000-8000-000000000000", stranger["id"]):
        envelope = act(sandbox, "get_event", {"id": event_id})
        assert (
            only_error(envelope) == f"nameshield: event {event_id} not found (GET /cti/v2/events/{{id}} answered 404)"
        )
        assert envelope.exit_code == 1


def test_get_event_refuses_an_id_that_is_not_one(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "get_event", {"id": "../v1/events/search"})
    assert only_error(envelope).startswith("input.id: '../v1/events/search' does not match")
    assert envelope.exit_code == 2 and sandbox.requests == []
