"""MySecutec actions: logs and events, facets, aggregate, test_connection; injected faults and a replay."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connector.api import arun_action
from connector.sandbox import SandboxConfig
from connector.sandbox.common import ANCHOR, iso_z
from connector.sandbox.faults import FaultPlan
from connector.sandbox.mysecutec.data import SYSTEM_OPERATIONS
from connector.testing import RecordingTransport, run_in_sandbox
from connector.vendors.mysecutec import api
from tests.actions.mysecutec.conftest import (
    CONFIG,
    LIVE,
    SIZE,
    STORED,
    UNKNOWN,
    VENDOR,
    act,
    fresh,
    ids_of,
    ok,
    oldest_first,
    queries,
)
from tests.vcr_support import cassette

LOGS = {threat.record["id"]: threat.logs for threat in STORED}


def by_time(entries: list[dict[str, Any]]) -> list[str]:
    """Event uids of log entries, oldest first then by uid, as list_events orders them."""
    return [f"mysecutec:{e['id']}" for e in sorted(entries, key=lambda e: (e["created_at"], f"mysecutec:{e['id']}"))]


def with_logs(minimum: int) -> dict[str, Any]:
    """The first live threat with at least ``minimum`` log entries, one of them a system entry."""
    return next(r for r in LIVE if len(LOGS[r["id"]]) >= minimum
                and {e["operation"] for e in LOGS[r["id"]]} & SYSTEM_OPERATIONS)


def test_get_threat_logs_pages_and_options(sandbox: RecordingTransport) -> None:
    record = with_logs(3)
    entries = LOGS[record["id"]]
    newest_first = [f"mysecutec:{e['id']}" for e in sorted(entries, key=lambda e: e["created_at"], reverse=True)]
    output = ok(sandbox, "get_threat_logs", {"id": record["id"]})
    assert [e["uid"] for e in output["logs"]] == newest_first
    assert (output["count"], output["total"]) == (len(entries), len(entries))
    assert {e["threat_uid"] for e in output["logs"]} == {f"mysecutec:{record['id']}"}
    window = ok(sandbox, "get_threat_logs", {"id": record["id"], "limit": 1, "offset": 1})
    assert [e["uid"] for e in window["logs"]] == newest_first[1:2] and window["total"] == len(entries)
    oldest = ok(sandbox, "get_threat_logs", {"id": record["id"], "sort": ["created_at"]})
    assert [e["uid"] for e in oldest["logs"]] == newest_first[::-1]
    human = ok(sandbox, "get_threat_logs", {"id": record["id"], "include_system": False})
    assert [e["uid"] for e in human["logs"]] == [
        uid for uid, e in zip(newest_first, sorted(entries, key=lambda e: e["created_at"], reverse=True), strict=True)
        if e["operation"] not in SYSTEM_OPERATIONS]
    missing = act(sandbox, "get_threat_logs", {"id": UNKNOWN})
    assert missing.exit_code == 1 and missing.errors[0].message.startswith(f"mysecutec: threat {UNKNOWN} not found")


def test_list_events_of_given_threats_in_a_window(sandbox: RecordingTransport) -> None:
    chosen = [r["id"] for r in LIVE[:6]]
    since, until = iso_z(ANCHOR - timedelta(days=400)), iso_z(ANCHOR - timedelta(days=60))
    envelope = act(sandbox, "list_events", {"threat_ids": [*chosen, UNKNOWN], "since": since, "until": until})
    entries = [e for tid in chosen for e in LOGS[tid] if since <= e["created_at"] <= until]
    assert envelope.status == "partial"
    assert [e["uid"] for e in envelope.output["events"]] == by_time(entries) and entries
    assert envelope.output["total"] == len(entries)
    assert [(e.item, e.type) for e in envelope.errors] == [(UNKNOWN, "not_found")]
    human = ok(sandbox, "list_events", {"threat_ids": chosen, "include_system": False, "limit": 3})
    people = [e for tid in chosen for e in LOGS[tid] if e["operation"] not in SYSTEM_OPERATIONS]
    assert [e["uid"] for e in human["events"]] == by_time(people)[:3]
    assert human["total"] == len(people)


def test_list_events_of_threats_updated_in_the_window(sandbox: RecordingTransport) -> None:
    since = iso_z(ANCHOR - timedelta(days=30))
    output = ok(sandbox, "list_events", {"since": since})
    entries = [e for r in LIVE for e in LOGS[r["id"]] if e["created_at"] >= since]
    assert [e["uid"] for e in output["events"]] == by_time(entries) and entries
    assert "updated_at_to" not in queries(sandbox)[0]
    updated = [r for r in LIVE if r["updated_at"] >= since]
    assert len(sandbox.requests) == 1 + len(updated), "one list, then one log read per threat updated since"
    asm = ok(sandbox, "list_events", {"since": since, "vendor_filters": {"license_module": ["asm"]}})
    asm_ids = {r["id"] for r in LIVE if r["tech_solution"]["license_module_slug"] == "asm"}
    assert [e["uid"] for e in asm["events"]] == by_time([e for e in entries if e["threat_id"] in asm_ids])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"api": "v1"}, "input.api: not used by mysecutec (Nameshield only)"),
        ({"threat_ids": ["x"], "severity": ["high"]},
         "input.severity: selects threats only when input.threat_ids is absent"),
        ({"threat_ids": ["a1", "a1", "a/b"]}, "input.threat_ids[2]: 'a/b' is not a threat id"),
    ],
)
def test_list_events_bad_input(sandbox: RecordingTransport, document: dict[str, Any], message: str) -> None:
    envelope = act(sandbox, "list_events", document)
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith(message)


def test_get_threat_filters_counts(sandbox: RecordingTransport) -> None:
    output = ok(sandbox, "get_threat_filters", {"filters": {"license_module": ["dnm"]}})
    statuses = Counter(r["status"] for r in LIVE)
    dnm = Counter(r["severity"] for r in LIVE if r["tech_solution"]["license_module_slug"] == "dnm")
    assert [(f["value"], f["unfiltered_total"]) for f in output["facets"]["statuses"]] == [
        (value, statuses[value]) for value in ("unsolved", "solved", "accepted", "false_positive")]
    assert {f["value"]: f["filtered_total"] for f in output["facets"]["severities"]} == {
        value: dnm[value] for value in ("critical", "high", "medium", "low", "info")}
    assert set(output["facets"]) == {"statuses", "severities", "system_statuses", "user_statuses", "license_modules"}
    refused = act(sandbox, "get_threat_filters", {"filters": {"sort": ["name"]}})
    assert refused.exit_code == 2 and refused.errors[0].message.startswith("input.filters.sort:")


def test_aggregate_threats_groups(sandbox: RecordingTransport) -> None:
    document = {"group_by": [{"path": "severity"}], "select": [{"path": "id", "alias": "count"}],
                "filters": {"license_module": ["asm", "lcm"]}}
    output = ok(sandbox, "aggregate_threats", document)
    counts = Counter(r["severity"] for r in LIVE if r["tech_solution"]["license_module_slug"] in ("asm", "lcm"))
    order = [s for s in ("critical", "high", "medium", "low", "info", None) if s in counts]
    assert output == {"results": [{"severity": s, "count": counts[s]} for s in order], "total": len(order)}
    assert sandbox.requests[0].json == document
    dry = act(sandbox, "aggregate_threats", document, dry_run=True)
    assert (dry.output, dry.meta.requests) == (output, 1), "an aggregate changes nothing: a dry run sends it"


def test_test_connection_checks(sandbox: RecordingTransport) -> None:
    good = ok(sandbox, "test_connection", {})
    assert good == {"ok": True, "checks": [
        {"name": "reachability", "ok": True, "message": "the API answered"},
        {"name": "authentication", "ok": True, "message": "the token was accepted"},
        {"name": "permissions", "ok": True, "message": f"may read threats ({len(LIVE)} in all)"},
    ]}
    assert queries(sandbox)[0] == {"limit": "1", "offset": "0"}
    bad = act(sandbox, "test_connection", {}, token="wrong")
    assert (bad.status, bad.exit_code, bad.output["ok"]) == ("failed", 1, False)
    assert [error.item for error in bad.errors] == ["authentication"]
    assert [(c["name"], c["ok"]) for c in bad.output["checks"]] == [
        ("reachability", True), ("authentication", False), ("permissions", False)]
    refusal = "401 Unauthorized: unauthorized: Missing or invalid bearer token"
    assert bad.output["checks"][1]["message"].endswith(refusal)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(403, json={"error": {"code": "forbidden", "message": "TAM module not licensed"}}),
         [True, True, False]),
        (httpx.Response(200, text="<html>sign in</html>", headers={"content-type": "text/html"}),
         [False, False, False]),
        (httpx.ConnectError("connection refused"), [False, False, False]),
    ],
)
def test_test_connection_reports_each_failure(answer: httpx.Response | Exception, expected: list[bool]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    envelope = run_in_sandbox("test_connection", {}, vendor=VENDOR, transport=httpx.MockTransport(handler))
    assert (envelope.status, envelope.exit_code) == ("failed", 1)
    assert [c["ok"] for c in envelope.output["checks"]] == expected
    if expected[0]:
        assert envelope.output["checks"][2]["message"].endswith("403 Forbidden: forbidden: TAM module not licensed")


def test_every_threat_exactly_once_under_injected_faults(small_pages: int) -> None:
    faulty = fresh(SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,),
                                   faults=FaultPlan.parse("503@2,429@3,truncated@4,reset@6,html@7")))
    envelope = act(faulty, "get_threats", {})
    assert envelope.status == "success", envelope.errors
    assert ids_of(envelope.output) == oldest_first(LIVE)
    assert envelope.meta.retries == 5


def test_a_page_that_keeps_failing_ends_the_read_keeping_what_came_before_and_a_resume_reads_the_rest(
    small_pages: int,
) -> None:
    broken = fresh(SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,),
                                   faults=FaultPlan.parse("500@2-60")))
    envelope = act(broken, "get_threats", {})
    assert (envelope.status, envelope.exit_code) == ("failed", 1)
    assert [e.message for e in envelope.errors] == [
        "mysecutec: GET /tam/v1/threats/: 500 Internal Server Error: Internal Server Error"]
    first = ids_of(envelope.output)
    assert (len(first), envelope.output["count"], envelope.meta.resume) == (small_pages, small_pages,
                                                                          {"offset": small_pages})
    healthy = fresh(SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,)))
    rest = act(healthy, "get_threats", {"resume": envelope.meta.resume})
    assert rest.status == "success", rest.errors
    everything = act(healthy, "get_threats", {})
    assert first + ids_of(rest.output) == ids_of(everything.output)
    assert len(set(ids_of(everything.output))) == everything.output["total"] > small_pages


def test_cassette_replay_of_a_concurrent_paged_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "PAGE_SIZE", 2)
    with cassette("mysecutec_get_threats", CONFIG) as base_url:
        envelope = asyncio.run(arun_action("get_threats", {"severity": ["critical"], "limit": 5},
                                           sandbox=base_url, vendor=VENDOR))
        tested = asyncio.run(arun_action("test_connection", {}, sandbox=base_url, vendor=VENDOR))
    critical = [r for r in LIVE if r["severity"] == "critical"]
    assert envelope.status == "success", envelope.errors
    assert ids_of(envelope.output) == oldest_first(critical)[:5]
    assert (envelope.output["total"], envelope.meta.requests, envelope.meta.pages) == (len(critical), 3, 3)
    assert tested.output["ok"] is True
