"""SentinelOne reads end to end: get_threats (limit, status, cassette, secrets), notes, test_connection."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from connector.api import run_action
from connector.sandbox import SandboxConfig, running_sandbox
from connector.testing import RecordingTransport
from tests.actions.sentinelone.support import (
    CONFIG,
    TOKEN,
    UNKNOWN,
    VENDOR,
    connection,
    fresh,
    ids_in,
    run,
    threats,
)
from tests.vcr_support import CASSETTES, cassette

CONNECTOR = str(Path(sys.executable).parent / "connector")
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def sandbox() -> RecordingTransport:
    """A recording transport into a fresh SentinelOne simulator."""
    return fresh()


async def _no_wait(seconds: float) -> None:
    return None


# get_threats


def test_limit_counts_threats_returned_after_the_status_check(sandbox: RecordingTransport) -> None:
    fp = ids_in(sandbox, "in_progress", 2)
    assert run(sandbox, "update_threat_status", {"ids": fp, "status": "false_positive"}).status == "success"
    envelope = run(sandbox, "get_threats", {"status": ["new", "suppressed"], "limit": 7})
    first = envelope.output["threats"]
    assert envelope.output["count"] == 7 and len(first) == 7
    assert {t["status"] for t in first} <= {"new", "suppressed"}
    assert envelope.output["total"] is None, "the vendor's total counts threats that were then dropped"
    everything = threats(sandbox, status=["new", "suppressed"])
    assert {t["vendor_id"] for t in everything if t["status"] == "suppressed"} == set(fp) | {
        t["vendor_id"] for t in threats(sandbox, status=["suppressed"])
    }
    assert len(everything) > 7


def test_a_status_filter_sent_whole_keeps_the_vendor_total(sandbox: RecordingTransport) -> None:
    fp = ids_in(sandbox, "new", 2)
    run(sandbox, "update_threat_status", {"ids": fp, "status": "false_positive"})
    suppressed = run(sandbox, "get_threats", {"status": ["suppressed"]}).output
    assert suppressed["total"] == suppressed["count"] >= 2
    assert {t["status"] for t in suppressed["threats"]} == {"suppressed"}
    assert {t["vendor_id"] for t in suppressed["threats"]} >= set(fp)
    new = run(sandbox, "get_threats", {"status": ["new"], "limit": 3})
    assert new.output["count"] == 3 and {t["status"] for t in new.output["threats"]} == {"new"}
    assert isinstance(new.output["total"], int) and new.output["total"] >= 3
    assert new.meta.requests == 1, "a limit under 1000 is one page of that size"
    assert not set(fp) & {t["vendor_id"] for t in threats(sandbox, status=["new"])}


def test_vendor_filters_win_over_the_common_filter(sandbox: RecordingTransport) -> None:
    # The common status still checks each threat: asking new while the vendor filter says resolved finds none.
    assert threats(sandbox, status=["new"], vendor_filters={"incidentStatuses": ["resolved"]}) == []
    only_resolved = {"incidentStatuses": ["resolved"]}
    resolved = threats(sandbox, status=["resolved"], vendor_filters=only_resolved, limit=3)
    assert len(resolved) == 3 and {t["vendor_status"] for t in resolved} == {"resolved"}


def test_three_cursor_pages_replayed_from_a_cassette() -> None:
    # 25 threats, 10 a page: three pages whatever the size (a 2500-threat cassette would weigh 11 MB).
    config = SandboxConfig(rate_limits=False, vendors=(VENDOR,), sizes={VENDOR: 25})
    name = "sentinelone_get_threats_three_pages"
    with cassette(name, config) as base_url:
        pages_of_ten = {"vendor_filters": {"limit": 10}}
        envelope = run_action("get_threats", pages_of_ten, sandbox=base_url, vendor=VENDOR)
    assert envelope.status == "success", envelope.errors
    uids = [threat["uid"] for threat in envelope.output["threats"]]
    assert len(uids) == len(set(uids)) == envelope.output["count"] == envelope.output["total"] == 25
    assert (envelope.meta.pages, envelope.meta.requests) == (3, 3)
    text = (CASSETTES / f"{name}.yaml").read_text()
    assert "authorization" not in text.lower()
    assert TOKEN not in text
    assert text.count("cursor=") == 2, "the second and third requests carry the cursor"


# secrets on the command line


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    with running_sandbox(CONFIG) as url:
        yield url


def _run_cli(live_url: str, tmp_path: Path, token: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "connections.yaml"
    config.write_text(
        f"connections:\n  x:\n    vendor: sentinelone\n    base_url: {live_url}/sentinelone\n"
        "    secret: env:S1_TOKEN\n    retries: 0\n"
    )
    return subprocess.run(
        [CONNECTOR, "-vv", "--config", str(config),
         "run", "get-threats", "--connection", "x", "--input", '{"limit": 5}'],
        capture_output=True, text=True, timeout=120, env={**os.environ, "S1_TOKEN": token},
    )


def test_the_token_never_appears_in_output_or_logs(live_url: str, tmp_path: Path) -> None:
    result = _run_cli(live_url, tmp_path, TOKEN)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["output"]["count"] == 5
    assert "DEBUG" in result.stderr, "-vv logs the requests"
    assert TOKEN not in result.stdout and TOKEN not in result.stderr


def test_a_wrong_token_is_one_line_and_exit_1(live_url: str, tmp_path: Path) -> None:
    wrong = "wrong-token-0123456789"
    result = _run_cli(live_url, tmp_path, wrong)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("connector: ") and "401" in line]
    assert errors == [
        "connector: sentinelone: GET /web/api/v2.1/threats: 401 Unauthorized: "
        "Authentication Failed: Missing or invalid API token"
    ]
    assert wrong not in result.stdout and wrong not in result.stderr
    assert orjson.loads(result.stdout)["status"] == "failed"


def test_notes_of_an_unknown_threat_are_none(sandbox: RecordingTransport) -> None:
    assert run(sandbox, "get_threat_notes", {"id": UNKNOWN}).output == {"notes": [], "count": 0}


def test_a_threat_id_cannot_escape_the_notes_path() -> None:
    envelope = run_action(
        "get_threat_notes", {"id": "../../system/info"}, connection=connection(),
        transport=RecordingTransport(),
    )
    assert envelope.exit_code == 2
    assert envelope.errors[0].message.startswith("input.id: '../../system/info' does not match")


def test_notes_follow_the_cursor() -> None:
    pages = {None: ("c1", [{"id": "1", "text": "a", "createdAt": "2025-01-01T00:00:00Z", "creator": "x"}]),
             "c1": (None, [{"id": "2", "text": "b", "createdAt": None, "creator": None}])}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["limit"] == "1000"
        cursor, records = pages[request.url.params.get("cursor")]
        return httpx.Response(200, json={"data": records, "pagination": {"nextCursor": cursor}})

    envelope = run_action(
        "get_threat_notes", {"id": "42"}, connection=connection(),
        transport=httpx.MockTransport(handler),
    )
    assert envelope.output == {
        "notes": [
            {"id": "1", "text": "a", "created_at": "2025-01-01T00:00:00Z", "creator": "x"},
            {"id": "2", "text": "b", "created_at": None, "creator": None},
        ],
        "count": 2,
    }
    assert envelope.meta.pages == 2




# test_connection


def test_connection_passes_every_check(sandbox: RecordingTransport) -> None:
    envelope = run(sandbox, "test_connection", {})
    assert envelope.status == "success"
    assert envelope.output == {
        "ok": True,
        "checks": [
            {"name": "reachability", "ok": True, "message": "the console answered (version 24.1.2)"},
            {"name": "authentication", "ok": True, "message": "the token was accepted"},
            {"name": "permissions", "ok": True, "message": "the token may read threats"},
        ],
    }


def test_connection_with_a_wrong_token_fails_authentication(sandbox: RecordingTransport) -> None:
    envelope = run(sandbox, "test_connection", {}, token="not-the-token-42")
    assert (envelope.status, envelope.exit_code) == ("failed", 1), "a failed check fails the action"
    checks = {check["name"]: check for check in envelope.output["checks"]}
    assert envelope.output["ok"] is False
    assert checks["reachability"]["ok"] is True
    assert checks["authentication"] == {
        "name": "authentication", "ok": False,
        "message": "sentinelone: GET /web/api/v2.1/system/info: 401 Unauthorized: "
                   "Authentication Failed: Missing or invalid API token",
    }
    assert checks["permissions"] == {
        "name": "permissions", "ok": False, "message": "not checked: authentication failed",
    }
    assert "not-the-token-42" not in orjson.dumps(envelope.model_dump()).decode()


def test_connection_without_permission_fails_permissions() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/system/info"):
            return httpx.Response(200, json={"data": {"version": "23.4.1"}})
        assert request.url.params["limit"] == "1" and request.url.params["skipCount"] == "true"
        error = {"code": 4030010, "title": "Forbidden", "detail": "Insufficient permissions"}
        return httpx.Response(403, json={"errors": [error]})

    envelope = run_action(
        "test_connection", {}, connection=connection(), transport=httpx.MockTransport(handler)
    )
    assert envelope.output["ok"] is False and envelope.status == "failed"
    assert [(e.item, e.type) for e in envelope.errors] == [("permissions", "check_failed")]
    assert [(c["name"], c["ok"]) for c in envelope.output["checks"]] == [
        ("reachability", True), ("authentication", True), ("permissions", False),
    ]
    assert envelope.output["checks"][0]["message"] == "the console answered (version 23.4.1)"
    assert envelope.output["checks"][2]["message"] == (
        "sentinelone: GET /web/api/v2.1/threats: 403 Forbidden: Forbidden: Insufficient permissions"
    )


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Connection refused")


def _sign_in_page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, html="<html>Sign in</html>")


def _no_such_route(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"errors": [{"title": "Resource not found"}]})


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (_refused, "cannot connect (Connection refused)"),
        (_sign_in_page, "answered with an HTML page instead of JSON"),
        (_no_such_route, "404 Not Found: Resource not found (is the base URL right?)"),
    ],
)
def test_connection_unreachable_fails_reachability(handler: Handler, message: str) -> None:
    envelope = run_action(
        "test_connection", {}, connection=connection(), transport=httpx.MockTransport(handler), sleep=_no_wait
    )
    assert (envelope.status, envelope.exit_code) == ("failed", 1), "a failed check fails the action"
    reachability, authentication, permissions = envelope.output["checks"]
    assert reachability["name"] == "reachability" and reachability["ok"] is False
    assert reachability["message"].startswith("sentinelone: GET /web/api/v2.1/system/info: ")
    assert reachability["message"].endswith(message)
    assert authentication == {
        "name": "authentication", "ok": False, "message": "not checked: reachability failed",
    }
    assert permissions == {"name": "permissions", "ok": False, "message": "not checked: reachability failed"}
    assert envelope.output["ok"] is False
