"""Nameshield actions end to end against the sandbox simulator (in-process ASGI, no sockets),
one cassette replay, and the table the CLI prints.

Expected answers are computed from the seeded events with plain Python, not with the client's code.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.envelope import Envelope
from connector.runner import arun_action
from connector.sandbox import SandboxConfig, build_app
from connector.sandbox.faults import FaultPlan
from connector.sandbox.nameshield import generate_events
from connector.testing import RecordingTransport, run_in_sandbox
from connector.vendors.nameshield.mapping import normalize_event
from tests.vcr_support import cassette

SIZE = 150
CONFIG = SandboxConfig(sizes={"nameshield": SIZE}, rate_limits=False, vendors=("nameshield",))
EVENTS = generate_events(CONFIG.seed, SIZE)
LEVEL_OF = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW", "informational": "NONE"}


def oldest_first(*customers: int, keep: Callable[[dict[str, Any]], bool] = lambda event: True) -> list[str]:
    """uids of these customers' events that ``keep`` accepts, by date then id."""
    chosen = [e for e in EVENTS if e["customer_id"] in customers and keep(e)]
    return [f"nameshield:{e['id']}" for e in sorted(chosen, key=lambda e: (e["date"], e["id"]))]


def level(*levels: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["criticality"]["level"] in levels


OWN = oldest_first(42)


def whole_second(iso: str, *, up: bool) -> str:
    """``iso`` in Nameshield's ``yyyy-MM-dd HH:mm:ss``, a fraction dropped or (``up``) rounded up."""
    moment = datetime.fromisoformat(iso)
    if up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


V2_LIST = "/nameshield/cti/v2/events"


def act(
    sandbox: RecordingTransport,
    action: str,
    document: dict[str, Any],
    *,
    gone: int | None = None,
    slept: list[float] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> Envelope:
    """Run ``action`` on the simulator behind ``sandbox``, its earlier requests forgotten.

    ``gone``: the v2 list answers that status instead; ``slept`` collects the waits between retries.
    """

    def v2_gone(request: httpx.Request) -> httpx.Response | None:
        if gone and request.method == "GET" and request.url.path == V2_LIST:
            return httpx.Response(gone, json={"message": "This route has been removed", "data": None})
        return None

    async def no_wait(seconds: float) -> None:
        if slept is not None:
            slept.append(seconds)

    sandbox.clear()
    sandbox.answer = v2_gone
    return run_in_sandbox(action, document, vendor="nameshield", transport=transport or sandbox, sleep=no_wait,
                          **options)


@pytest.fixture(scope="module")
def sandbox() -> RecordingTransport:
    """One simulator for the module (the actions here do not change it)."""
    return RecordingTransport(build_app(CONFIG))


def uids(envelope: Envelope) -> list[str]:
    assert envelope.status == "success", envelope.errors
    return [event["uid"] for event in envelope.output["events"]]


def only_error(envelope: Envelope) -> str:
    assert envelope.status == "failed" and len(envelope.errors) == 1
    message = envelope.errors[0].message
    assert "\n" not in message and "sandbox-token" not in message
    return message


def extras(envelope: Envelope) -> dict[str, Any]:
    """The meta keys the binding added; the seeded DNS records' link-local addresses are dropped from
    the observables (counted in dropped_values, which only ever names that field here)."""
    extra = dict(envelope.meta.model_extra or {})
    assert set(extra.pop("dropped_values", {})) <= {"observables.ip"}
    return extra


# --- list_events, v2 ------------------------------------------------------------------------------


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


# --- list_events, v1 and the fallback ----------------------------------------------------------------


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


# --- get_event ----------------------------------------------------------------------------------


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


# --- test_connection --------------------------------------------------------------------------------


def checks(envelope: Envelope) -> list[tuple[str, bool, str]]:
    # A failed check fails the action (exit 1), and is its one error, naming the check.
    failed = [c for c in envelope.output["checks"] if not c["ok"] and not c["message"].startswith("not checked")]
    assert (envelope.status, envelope.exit_code) == (("success", 0) if envelope.output["ok"] else ("failed", 1))
    assert [(e.item, e.message) for e in envelope.errors] == [(c["name"], c["message"]) for c in failed]
    return [(c["name"], c["ok"], c["message"]) for c in envelope.output["checks"]]


def test_connection_passes_every_check(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "test_connection", {})
    assert envelope.output["ok"] is True
    assert checks(envelope) == [
        ("reachability", True, "the API answered GET /cti/v2/events"),
        ("authentication", True, "the token was accepted"),
        ("permissions", True, f"may list events ({len(OWN)} visible to this token)"),
    ]
    assert sandbox.requests[0].params["size"] == "1"


def test_connection_with_a_wrong_token_fails_authentication(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "test_connection", {}, token="not-the-token")
    assert envelope.output["ok"] is False
    assert checks(envelope) == [
        ("reachability", True, "the API answered GET /cti/v2/events"),
        ("authentication", False, "nameshield: GET /cti/v2/events: 401 Unauthorized: Unauthorized"),
        ("permissions", False, "not checked: authentication failed"),
    ]


@pytest.mark.parametrize(
    ("answer", "failed", "message"),
    [
        (
            httpx.Response(403, json={"message": "Forbidden: missing CTI scope", "data": None}),
            "permissions",
            "nameshield: GET /cti/v2/events: 403 Forbidden: Forbidden: missing CTI scope",
        ),
        (
            httpx.Response(404, text="no such route"),
            "reachability",
            "nameshield: GET /cti/v2/events: 404 Not Found: no such route (is the base URL right?)",
        ),
        (
            httpx.Response(200, json={"hello": "world"}),
            "reachability",
            "nameshield: GET /cti/v2/events: answered, but not with a page of events",
        ),
        (
            httpx.Response(503, json={"message": "maintenance"}),
            "reachability",
            "nameshield: GET /cti/v2/events: 503 Service Unavailable: maintenance",
        ),
        (
            httpx.ConnectError("connection refused"),
            "reachability",
            "nameshield: GET /cti/v2/events: cannot connect (connection refused)",
        ),
    ],
)
def test_connection_names_the_failed_check(
    sandbox: RecordingTransport, answer: httpx.Response | Exception, failed: str, message: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    envelope = act(sandbox, "test_connection", {}, transport=httpx.MockTransport(handler))
    results = checks(envelope)
    names = [name for name, _, _ in results]
    assert envelope.output["ok"] is False
    assert results[names.index(failed)] == (failed, False, message)
    assert all(ok for name, ok, _ in results[: names.index(failed)])
    assert all(text == f"not checked: {failed} failed" for _, _, text in results[names.index(failed) + 1 :])


# --- replayed traffic and the CLI table ----------------------------------------------------------------


def test_cassette_replay_of_every_action() -> None:
    small = SandboxConfig(sizes={"nameshield": 30}, rate_limits=False, vendors=("nameshield",))
    events = generate_events(small.seed, 30)
    own = sorted((e for e in events if e["customer_id"] == 42), key=lambda e: (e["date"], e["id"]))
    with cassette("nameshield_actions", small) as base_url:

        def run(action: str, document: dict[str, Any]) -> Envelope:
            return asyncio.run(arun_action(action, document, sandbox=base_url, vendor="nameshield"))

        listed = run("list_events", {"limit": 10, "vendor_filters": {"size": 4}})
        searched = run("list_events", {"api": "v1", "severity": ["high", "low"], "vendor_filters": {"limit": 5}})
        got = run("get_event", {"id": listed.output["events"][0]["uid"]})
        tested = run("test_connection", {})
    assert [e["vendor_id"] for e in listed.output["events"]] == [e["id"] for e in own[:10]]
    assert (listed.meta.pages, listed.output["total"]) == (3, len(own))
    children = sorted(
        (e for e in events if e["customer_id"] in (42, 43, 44) and e["criticality"]["level"] in ("HIGH", "LOW")),
        key=lambda e: (e["date"], e["id"]),
    )
    assert [e["vendor_id"] for e in searched.output["events"]] == [e["id"] for e in children]
    assert searched.meta.pages == math.ceil(sum(e["customer_id"] in (42, 43, 44) for e in events) / 5)
    assert got.output["event"] == listed.output["events"][0]
    assert tested.output["ok"] is True


def test_cli_prints_a_readable_table_of_high_events() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "list-events",
            "--sandbox",
            "--vendor",
            "nameshield",
            "--input",
            '{"severity":["high"]}',
            "--format",
            "table",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "list_events:" in lines[0] and "events (success)" in lines[0]
    assert all(column in lines[2] for column in ("uid", "type", "time", "summary"))
    rows = [line for line in lines if "nameshield:" in line]
    assert rows and all("HIGH: " in row for row in rows)
