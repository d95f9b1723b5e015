"""MySecutec actions end to end against the sandbox simulator (in-process ASGI, no sockets), under
injected faults, and from a replayed cassette.

Expected answers are computed from the seeded threats with plain Python, not with the client's code.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connector.connections import RateLimit, sandbox_connection
from connector.envelope import Envelope
from connector.runner import arun_action, run_action
from connector.sandbox import SandboxConfig, build_app
from connector.sandbox.common import ANCHOR, iso_z
from connector.sandbox.faults import FaultPlan
from connector.sandbox.mysecutec.data import SYSTEM_OPERATIONS, build_threats
from connector.vendors.mysecutec import api
from tests.vcr_support import cassette

VENDOR = "mysecutec"
SIZE = 240
CONFIG = SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,))
TOKEN = CONFIG.token
STORED = build_threats(CONFIG.seed, SIZE)
LIVE = [threat.record for threat in STORED if not threat.deleted]
DELETED = [threat.record for threat in STORED if threat.deleted]
LOGS = {threat.record["id"]: threat.logs for threat in STORED}
UNKNOWN = "00000000-0000-4000-8000-000000000000"
BULK = "/mysecutec/tam/v1/threats/status"


def oldest_first(records: list[dict[str, Any]]) -> list[str]:
    """Ids in the order get_threats reads them by default: created_at, then id."""
    return [r["id"] for r in sorted(records, key=lambda r: (r["created_at"], r["id"]))]


def by_time(entries: list[dict[str, Any]]) -> list[str]:
    """Event uids of log entries, oldest first then by uid, as list_events orders them."""
    return [f"mysecutec:{e['id']}" for e in sorted(entries, key=lambda e: (e["created_at"], f"mysecutec:{e['id']}"))]


async def no_sleep(seconds: float) -> None:
    """Stands in for asyncio.sleep between retries."""


class Sandbox:
    """A fresh in-process MySecutec simulator; records the requests and how many were in flight at once."""

    def __init__(self, config: SandboxConfig = CONFIG, delay_s: float = 0.0) -> None:
        self.app = build_app(config)
        self.sent: list[httpx.Request] = []
        self.in_flight = self.most_in_flight = 0
        self.delay_s = delay_s
        self.refuse: dict[str, httpx.Response] = {}
        """threat id -> the answer a bulk request holding it gets instead of the simulator's."""

    def transport(self) -> httpx.AsyncBaseTransport:
        inner, outer = httpx.ASGITransport(app=self.app), self

        class Recording(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                outer.sent.append(request)
                outer.in_flight += 1
                outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                try:
                    # A pause lets concurrent requests overlap, as they do over a network.
                    await asyncio.sleep(outer.delay_s)
                    if request.url.path == BULK:
                        for threat_id in json.loads(request.content)["threat_ids"]:
                            if threat_id in outer.refuse:
                                return outer.refuse[threat_id]
                    return await inner.handle_async_request(request)
                except ConnectionResetError as exc:
                    # What a reset socket looks like to httpx over a real network.
                    raise httpx.ReadError(str(exc), request=request) from None
                finally:
                    outer.in_flight -= 1

        return Recording()

    def run(self, action: str, document: dict[str, Any], token: str = TOKEN, **options: Any) -> Envelope:
        """Run ``action`` against this simulator."""
        # The simulator runs without its rate limit here, so the client need not keep to 20/s either.
        connection = sandbox_connection(VENDOR, "http://127.0.0.1:9", token).model_copy(
            update={"rate_limit": RateLimit(requests=1000)})
        return run_action(action, document, connection=connection, transport=self.transport(), sleep=no_sleep,
                          **options)

    def ok(self, action: str, document: dict[str, Any], **options: Any) -> dict[str, Any]:
        """The output of a run that must succeed."""
        envelope = self.run(action, document, **options)
        assert envelope.status == "success", envelope.errors
        output: dict[str, Any] = envelope.output
        return output

    def queries(self, path: str = "/mysecutec/tam/v1/threats/") -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.sent if r.url.path == path]


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(api, "PAGE_SIZE", 50)
    return 50


def ids_of(output: dict[str, Any], key: str = "threats") -> list[str]:
    return [item["vendor_id"] for item in output[key]]


def with_logs(minimum: int) -> dict[str, Any]:
    """The first live threat with at least ``minimum`` log entries, one of them a system entry."""
    return next(r for r in LIVE if len(LOGS[r["id"]]) >= minimum
                and {e["operation"] for e in LOGS[r["id"]]} & SYSTEM_OPERATIONS)


# --- get_threats -----------------------------------------------------------------------------------


def test_get_threats_reads_the_pages_concurrently_in_order(small_pages: int) -> None:
    sandbox = Sandbox(delay_s=0.01)
    envelope = sandbox.run("get_threats", {})
    assert envelope.status == "success", envelope.errors
    assert ids_of(envelope.output) == oldest_first(LIVE)
    assert envelope.output["count"] == envelope.output["total"] == envelope.output["unfiltered_total"] == len(LIVE)
    pages = math.ceil(len(LIVE) / small_pages)
    assert envelope.meta.requests == envelope.meta.pages == pages
    assert sorted(int(q["offset"]) for q in sandbox.queries()) == list(range(0, pages * small_pages, small_pages))
    assert {q["sort"] for q in sandbox.queries()} == {"created_at,id"}
    assert sandbox.most_in_flight == api.CONCURRENCY


def test_limit_stops_the_read_early(sandbox: Sandbox, small_pages: int) -> None:
    envelope = sandbox.run("get_threats", {"limit": 120})
    assert ids_of(envelope.output) == oldest_first(LIVE)[:120]
    assert (envelope.output["count"], envelope.output["total"], envelope.meta.requests) == (120, len(LIVE), 3)


def test_vendor_filters_and_multi_field_sort_pass_through(sandbox: Sandbox) -> None:
    output = sandbox.ok("get_threats", {
        "severity": ["critical", "high"],
        "vendor_filters": {"license_module": ["asm"], "sort": ["-cvss_score", "name"]},
    })
    chosen = [r for r in LIVE if r["tech_solution"]["license_module_slug"] == "asm"
              and r["severity"] in ("critical", "high")]
    by_name = sorted(chosen, key=lambda r: r["name"])
    expected = sorted(by_name, key=lambda r: (r["cvss_score"] is None, -(r["cvss_score"] or 0)))
    assert ids_of(output) == [r["id"] for r in expected]
    assert sandbox.queries()[0]["severity"] == "critical,high"
    assert {t["severity"] for t in output["threats"]} == {"critical", "high"}


def test_unknown_severity_is_checked_on_each_threat(sandbox: Sandbox) -> None:
    unknown = [r for r in LIVE if r["severity"] is None and r["cvss_score"] is None]
    assert len(unknown) >= 3
    output = sandbox.ok("get_threats", {"severity": ["unknown"], "limit": 2})
    assert ids_of(output) == oldest_first(unknown)[:2]
    assert "severity" not in sandbox.queries()[0]
    assert output["total"] == len(LIVE), "the vendor's count of what it was asked for"


def test_status_and_window_map_to_the_vendor_filters(sandbox: Sandbox) -> None:
    since, until = iso_z(ANCHOR - timedelta(days=200)), iso_z(ANCHOR - timedelta(days=20))
    output = sandbox.ok("get_threats", {"status": ["suppressed"], "since": since, "until": until})
    expected = [r for r in LIVE if r["status"] in ("accepted", "false_positive") and since <= r["updated_at"] <= until]
    assert ids_of(output) == oldest_first(expected)
    query = sandbox.queries()[0]
    assert (query["status"], query["updated_at_from"], query["updated_at_to"]) == (
        "accepted,false_positive", since, until)
    assert {t["vendor_status"] for t in output["threats"]} == {"accepted", "false_positive"}


def test_a_status_the_vendor_lacks_sends_nothing(sandbox: Sandbox) -> None:
    envelope = sandbox.run("get_threats", {"status": ["in_progress", "closed"]})
    assert (envelope.status, envelope.output["count"], envelope.meta.requests) == ("success", 0, 0)


def test_ids_are_read_one_by_one(sandbox: Sandbox) -> None:
    first, second = LIVE[5]["id"], LIVE[9]["id"]
    envelope = sandbox.run("get_threats", {"ids": [second, first, UNKNOWN, DELETED[0]["id"], second]})
    assert ids_of(envelope.output) == [second, first]
    assert envelope.output["total"] is None
    assert envelope.meta.model_dump()["missing_ids"] == [UNKNOWN, DELETED[0]["id"]]
    assert envelope.meta.requests == 4, "a repeated id is read once"
    module = LIVE[5]["tech_solution"]["license_module_slug"]
    in_module = {r["id"] for r in LIVE if r["tech_solution"]["license_module_slug"] == module}
    listed = sandbox.ok("get_threats", {"ids": [first, second], "vendor_filters": {"license_module": [module]}})
    assert ids_of(listed) == [i for i in oldest_first(LIVE) if i in {first, second} & in_module]
    assert "license_module" in sandbox.queries()[-1], "with vendor filters the list is read and kept to the ids"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"vendor_filters": {"severity": ["urgent"]}},
         "input.vendor_filters.severity[0]: 'urgent' is not one of ['critical', 'high', 'medium', 'low', 'info']"),
        ({"vendor_filters": {"first_seen_from": "last week"}}, "input.vendor_filters.first_seen_from: 'last week'"),
        ({"since": "2025-01-01T00:00:00Z", "vendor_filters": {"updated_at_from": "2025-01-01"}},
         "input.vendor_filters.updated_at_from: also set by a common filter; give only one of them"),
        ({"ids": ["a1", "a1", "../filter"]}, "input.ids[2]: '../filter' is not a threat id"),
    ],
)
def test_bad_filters_are_bad_input(sandbox: Sandbox, document: dict[str, Any], message: str) -> None:
    envelope = sandbox.run("get_threats", document)
    assert envelope.exit_code == 2
    assert envelope.errors[0].message.startswith(message)
    assert sandbox.sent == []


def test_vendor_filter_dates_take_a_day_or_an_instant(sandbox: Sandbox) -> None:
    output = sandbox.ok("get_threats", {"vendor_filters": {"first_seen_from": "2026-06-01",
                                                           "first_seen_to": "2026-06-30T23:59:59Z"}})
    expected = [r for r in LIVE if r["first_seen_at"] and "2026-06-01" <= r["first_seen_at"] < "2026-07-01"]
    assert ids_of(output) == oldest_first(expected) and expected


# --- get_threat, update_threat ----------------------------------------------------------------------


def test_get_threat_and_its_failures(sandbox: Sandbox) -> None:
    record = LIVE[3]
    output = sandbox.ok("get_threat", {"id": record["id"], "include_raw": True})
    assert output["threat"]["uid"] == f"mysecutec:{record['id']}" and output["threat"]["raw"] == record
    missing = sandbox.run("get_threat", {"id": UNKNOWN})
    assert (missing.exit_code, missing.errors[0].message) == (
        1, f"mysecutec: threat {UNKNOWN} not found (GET /tam/v1/threats/{UNKNOWN}: 404)")
    assert sandbox.run("get_threat", {"id": DELETED[0]["id"]}).exit_code == 1
    malformed = sandbox.run("get_threat", {"id": "t1234-5678"})
    assert malformed.exit_code == 1
    assert malformed.errors[0].message == ("mysecutec: GET /tam/v1/threats/t1234-5678: 400 Bad Request: "
                                           "invalid_id: 't1234-5678' is not a valid threat id (UUID expected)")
    escaping = sandbox.run("get_threat", {"id": "../filter"})
    assert escaping.exit_code == 2 and escaping.errors[0].message.startswith("input.id: '../filter' does")


def test_update_threat_changes_and_logs(sandbox: Sandbox) -> None:
    record = next(r for r in LIVE if r["status"] == "unsolved" and r["note"] is None)
    output = sandbox.ok("update_threat", {"id": record["id"], "note": "Risk accepted per review",
                                          "user_status": "accepted", "annotation": None})
    threat = output["threat"]
    assert (threat["status"], threat["vendor_status"], threat["disposition"]) == ("suppressed", "accepted", "accepted")
    patch = next(r for r in sandbox.sent if r.method == "PATCH")
    assert json.loads(patch.content) == {"note": "Risk accepted per review", "user_status": "accepted",
                                         "unsolved_annotation_note": None}
    logs = sandbox.ok("get_threat_logs", {"id": record["id"], "limit": 2})["logs"]
    assert {(e["type"], e["actor"]) for e in logs} == {("status_change", "api-user@sandbox.local"),
                                                      ("note_change", "api-user@sandbox.local")}


def test_update_threat_dry_run_sends_no_patch(sandbox: Sandbox) -> None:
    record = next(r for r in LIVE if r["status"] == "unsolved")
    envelope = sandbox.run("update_threat", {"id": record["id"], "user_status": "patched"}, dry_run=True)
    assert envelope.status == "success" and envelope.meta.dry_run
    assert envelope.output["threat"]["vendor_status"] == "unsolved"
    assert envelope.output["planned_requests"] == [{
        "method": "PATCH", "path": f"/tam/v1/threats/{record['id']}", "params": {},
        "json": {"user_status": "patched"}, "headers": {"Authorization": "***"},
    }]
    assert [r.method for r in sandbox.sent] == ["GET"]
    assert sandbox.ok("get_threat", {"id": record["id"]})["threat"]["vendor_status"] == "unsolved"


def test_update_threat_needs_a_change(sandbox: Sandbox) -> None:
    envelope = sandbox.run("update_threat", {"id": LIVE[0]["id"]})
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith("input: ")
    bad = sandbox.run("update_threat", {"id": LIVE[0]["id"], "user_status": "solved"})
    assert bad.exit_code == 2 and bad.errors[0].message.startswith("input.user_status: 'solved' is not one of")


# --- update_threat_status ----------------------------------------------------------------------------


def test_bulk_status_is_partial_per_id(sandbox: Sandbox) -> None:
    first, second = LIVE[0]["id"], LIVE[1]["id"]
    envelope = sandbox.run("update_threat_status", {
        "ids": [first, UNKNOWN, second, "not-a-uuid", first], "status": "resolved", "note": "fixed in CHG-7"})
    assert (envelope.status, envelope.exit_code) == ("partial", 3)
    assert envelope.output == {
        "succeeded": [first, second],
        "failed": [
            {"id": UNKNOWN, "error_type": "not_found", "message": "Threat not found"},
            {"id": "not-a-uuid", "error_type": "invalid_id", "message": "Threat id must be a UUID"},
        ],
        "summary": {"total_attempted": 4, "total_successful": 2, "total_failed": 2, "success_rate": 0.5},
    }
    assert [(e.item, e.type) for e in envelope.errors] == [(UNKNOWN, "not_found"), ("not-a-uuid", "invalid_id")]
    assert json.loads(sandbox.sent[0].content) == {
        "threat_ids": [first, UNKNOWN, second, "not-a-uuid"], "user_status": "solved",
        "user_status_note": "fixed in CHG-7"}
    after = sandbox.ok("get_threats", {"ids": [first, second]})["threats"]
    assert [(t["status"], t["vendor_status"]) for t in after] == [("resolved", "solved")] * 2
    events = sandbox.ok("list_events", {"threat_ids": [first], "since": iso_z(ANCHOR)})["events"]
    assert events[-1]["summary"].endswith("-> solved (note: fixed in CHG-7)")


def test_bulk_status_is_chunked_by_1000_and_merged_in_order() -> None:
    sandbox = Sandbox(delay_s=0.01)
    live = [r["id"] for r in LIVE]
    fakes = [f"00000000-0000-4000-8000-{n:012d}" for n in range(2100 - len(live))]
    ids = fakes[:900] + live + fakes[900:]
    envelope = sandbox.run("update_threat_status", {"ids": ids, "vendor_status": "false_positive"})
    assert envelope.status == "partial"
    sizes = sorted(len(json.loads(r.content)["threat_ids"]) for r in sandbox.sent)
    assert sizes == [100, 1000, 1000]
    assert sandbox.most_in_flight == 3, "the three chunks are sent together"
    assert envelope.output["succeeded"] == live
    assert [f["id"] for f in envelope.output["failed"]] == fakes
    assert envelope.output["summary"] == {"total_attempted": 2100, "total_successful": len(live),
                                          "total_failed": len(fakes), "success_rate": round(len(live) / 2100, 4)}


def test_a_refused_chunk_fails_its_ids_and_all_refused_fails_the_action(sandbox: Sandbox) -> None:
    live = [r["id"] for r in LIVE]
    ids = live + [f"00000000-0000-4000-8000-{n:012d}" for n in range(1000)]
    first_chunk, second_chunk = ids[:1000], ids[1000:]
    sandbox.refuse[ids[-1]] = httpx.Response(500, json={"detail": "Internal Server Error"})
    envelope = sandbox.run("update_threat_status", {"ids": ids, "status": "accepted"})
    assert envelope.status == "partial"
    assert envelope.output["succeeded"] == live
    failed = envelope.output["failed"]
    assert [f["id"] for f in failed] == first_chunk[len(live):] + second_chunk
    message = "mysecutec: PATCH /tam/v1/threats/status: 500 Internal Server Error: Internal Server Error"
    assert {(f["error_type"], f["message"]) for f in failed[-len(second_chunk):]} == {("retriable", message)}
    assert len(sandbox.sent) == 2, "a PATCH is not retried after a 5xx"
    denied = sandbox.run("update_threat_status", {"ids": live[:2], "status": "accepted"}, token="wrong")
    assert (denied.status, denied.exit_code, len(denied.errors)) == ("failed", 1, 1)
    assert denied.errors[0].message == ("mysecutec: PATCH /tam/v1/threats/status: 401 Unauthorized: "
                                        "unauthorized: Missing or invalid bearer token")


def test_bulk_status_where_every_id_fails_is_a_failure(sandbox: Sandbox) -> None:
    envelope = sandbox.run("update_threat_status", {"ids": [UNKNOWN], "status": "new"})
    assert (envelope.status, envelope.exit_code) == ("failed", 1)
    assert envelope.output["summary"]["success_rate"] == 0.0


def test_bulk_status_dry_run_plans_the_chunks(sandbox: Sandbox) -> None:
    ids = [r["id"] for r in LIVE] + [f"00000000-0000-4000-8000-{n:012d}" for n in range(1500 - len(LIVE))]
    envelope = sandbox.run("update_threat_status", {"ids": ids, "status": "false_positive"}, dry_run=True)
    assert envelope.status == "success" and sandbox.sent == []
    assert envelope.output["succeeded"] == envelope.output["failed"] == []
    assert envelope.output["summary"] == {"total_attempted": 0, "total_successful": 0, "total_failed": 0,
                                          "success_rate": 0.0}
    planned = envelope.output["planned_requests"]
    assert [(p["method"], p["path"], len(p["json"]["threat_ids"])) for p in planned] == [
        ("PATCH", "/tam/v1/threats/status", 1000), ("PATCH", "/tam/v1/threats/status", 500)]
    assert planned[0]["json"]["user_status"] == "false_positive"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"status": "suppressed"}, "input.status: 'suppressed' cannot be expressed for mysecutec"),
        ({"status": "resolved", "verdict": "false_positive"}, "input.verdict: mysecutec has no analyst verdict"),
        ({"vendor_status": "patched"}, "input.vendor_status: 'patched' is not a mysecutec user status"),
    ],
)
def test_bulk_status_bad_input(sandbox: Sandbox, document: dict[str, Any], message: str) -> None:
    envelope = sandbox.run("update_threat_status", {"ids": [LIVE[0]["id"]], **document})
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith(message)
    assert sandbox.sent == []


# --- logs and events ------------------------------------------------------------------------------------


def test_get_threat_logs_pages_and_options(sandbox: Sandbox) -> None:
    record = with_logs(3)
    entries = LOGS[record["id"]]
    newest_first = [f"mysecutec:{e['id']}" for e in sorted(entries, key=lambda e: e["created_at"], reverse=True)]
    output = sandbox.ok("get_threat_logs", {"id": record["id"]})
    assert [e["uid"] for e in output["logs"]] == newest_first
    assert (output["count"], output["total"]) == (len(entries), len(entries))
    assert {e["threat_uid"] for e in output["logs"]} == {f"mysecutec:{record['id']}"}
    window = sandbox.ok("get_threat_logs", {"id": record["id"], "limit": 1, "offset": 1})
    assert [e["uid"] for e in window["logs"]] == newest_first[1:2] and window["total"] == len(entries)
    oldest = sandbox.ok("get_threat_logs", {"id": record["id"], "sort": ["created_at"]})
    assert [e["uid"] for e in oldest["logs"]] == newest_first[::-1]
    human = sandbox.ok("get_threat_logs", {"id": record["id"], "include_system": False})
    assert [e["uid"] for e in human["logs"]] == [
        uid for uid, e in zip(newest_first, sorted(entries, key=lambda e: e["created_at"], reverse=True), strict=True)
        if e["operation"] not in SYSTEM_OPERATIONS]
    missing = sandbox.run("get_threat_logs", {"id": UNKNOWN})
    assert missing.exit_code == 1 and missing.errors[0].message.startswith(f"mysecutec: threat {UNKNOWN} not found")


def test_list_events_of_given_threats_in_a_window(sandbox: Sandbox) -> None:
    chosen = [r["id"] for r in LIVE[:6]]
    since, until = iso_z(ANCHOR - timedelta(days=400)), iso_z(ANCHOR - timedelta(days=60))
    envelope = sandbox.run("list_events", {"threat_ids": [*chosen, UNKNOWN], "since": since, "until": until})
    entries = [e for tid in chosen for e in LOGS[tid] if since <= e["created_at"] <= until]
    assert envelope.status == "partial"
    assert [e["uid"] for e in envelope.output["events"]] == by_time(entries) and entries
    assert envelope.output["total"] == len(entries)
    assert [(e.item, e.type) for e in envelope.errors] == [(UNKNOWN, "not_found")]
    human = sandbox.ok("list_events", {"threat_ids": chosen, "include_system": False, "limit": 3})
    people = [e for tid in chosen for e in LOGS[tid] if e["operation"] not in SYSTEM_OPERATIONS]
    assert [e["uid"] for e in human["events"]] == by_time(people)[:3]
    assert human["total"] == len(people)


def test_list_events_of_threats_updated_in_the_window(sandbox: Sandbox) -> None:
    since = iso_z(ANCHOR - timedelta(days=30))
    output = sandbox.ok("list_events", {"since": since})
    entries = [e for r in LIVE for e in LOGS[r["id"]] if e["created_at"] >= since]
    assert [e["uid"] for e in output["events"]] == by_time(entries) and entries
    assert "updated_at_to" not in sandbox.queries()[0]
    updated = [r for r in LIVE if r["updated_at"] >= since]
    assert len(sandbox.sent) == 1 + len(updated), "one list, then one log read per threat updated since"
    asm = sandbox.ok("list_events", {"since": since, "vendor_filters": {"license_module": ["asm"]}})
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
def test_list_events_bad_input(sandbox: Sandbox, document: dict[str, Any], message: str) -> None:
    envelope = sandbox.run("list_events", document)
    assert envelope.exit_code == 2 and envelope.errors[0].message.startswith(message)


# --- facets, aggregate, test_connection ---------------------------------------------------------------


def test_get_threat_filters_counts(sandbox: Sandbox) -> None:
    output = sandbox.ok("get_threat_filters", {"filters": {"license_module": ["dnm"]}})
    statuses = Counter(r["status"] for r in LIVE)
    dnm = Counter(r["severity"] for r in LIVE if r["tech_solution"]["license_module_slug"] == "dnm")
    assert [(f["value"], f["unfiltered_total"]) for f in output["facets"]["statuses"]] == [
        (value, statuses[value]) for value in ("unsolved", "solved", "accepted", "false_positive")]
    assert {f["value"]: f["filtered_total"] for f in output["facets"]["severities"]} == {
        value: dnm[value] for value in ("critical", "high", "medium", "low", "info")}
    assert set(output["facets"]) == {"statuses", "severities", "system_statuses", "user_statuses", "license_modules"}
    refused = sandbox.run("get_threat_filters", {"filters": {"sort": ["name"]}})
    assert refused.exit_code == 2 and refused.errors[0].message.startswith("input.filters.sort:")


def test_aggregate_threats_groups(sandbox: Sandbox) -> None:
    document = {"group_by": [{"path": "severity"}], "select": [{"path": "id", "alias": "count"}],
                "filters": {"license_module": ["asm", "lcm"]}}
    output = sandbox.ok("aggregate_threats", document)
    counts = Counter(r["severity"] for r in LIVE if r["tech_solution"]["license_module_slug"] in ("asm", "lcm"))
    order = [s for s in ("critical", "high", "medium", "low", "info", None) if s in counts]
    assert output == {"results": [{"severity": s, "count": counts[s]} for s in order], "total": len(order)}
    assert json.loads(sandbox.sent[0].content) == document
    dry = sandbox.run("aggregate_threats", document, dry_run=True)
    assert (dry.output, dry.meta.requests) == (output, 1), "an aggregate changes nothing: a dry run sends it"


def test_test_connection_checks(sandbox: Sandbox) -> None:
    good = sandbox.ok("test_connection", {})
    assert good == {"ok": True, "checks": [
        {"name": "reachability", "ok": True, "message": "the API answered"},
        {"name": "authentication", "ok": True, "message": "the token was accepted"},
        {"name": "permissions", "ok": True, "message": f"may read threats ({len(LIVE)} in all)"},
    ]}
    assert sandbox.queries()[0] == {"limit": "1", "offset": "0"}
    bad = sandbox.run("test_connection", {}, token="wrong")
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

    connection = sandbox_connection(VENDOR, "http://127.0.0.1:9", TOKEN)
    envelope = run_action("test_connection", {}, connection=connection, transport=httpx.MockTransport(handler),
                          sleep=no_sleep)
    assert (envelope.status, envelope.exit_code) == ("failed", 1)
    assert [c["ok"] for c in envelope.output["checks"]] == expected
    if expected[0]:
        assert envelope.output["checks"][2]["message"].endswith("403 Forbidden: forbidden: TAM module not licensed")


# --- faults and replay -----------------------------------------------------------------------------------


def test_every_threat_exactly_once_under_injected_faults(small_pages: int) -> None:
    faulty = Sandbox(SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,),
                                   faults=FaultPlan.parse("503@2,429@3,truncated@4,reset@6,html@7")))
    envelope = faulty.run("get_threats", {})
    assert envelope.status == "success", envelope.errors
    assert ids_of(envelope.output) == oldest_first(LIVE)
    assert envelope.meta.retries == 5


def test_a_page_that_keeps_failing_ends_the_read_keeping_what_came_before_and_a_resume_reads_the_rest(
    small_pages: int,
) -> None:
    broken = Sandbox(SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,),
                                   faults=FaultPlan.parse("500@2-60")))
    envelope = broken.run("get_threats", {})
    assert (envelope.status, envelope.exit_code) == ("failed", 1)
    assert [e.message for e in envelope.errors] == [
        "mysecutec: GET /tam/v1/threats/: 500 Internal Server Error: Internal Server Error"]
    first = ids_of(envelope.output)
    assert (len(first), envelope.output["count"], envelope.meta.resume) == (small_pages, small_pages,
                                                                          {"offset": small_pages})
    healthy = Sandbox(SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,)))
    rest = healthy.run("get_threats", {"resume": envelope.meta.resume})
    assert rest.status == "success", rest.errors
    everything = healthy.run("get_threats", {})
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
