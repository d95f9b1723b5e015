"""Nameshield actions: test_connection; replayed traffic and the CLI table."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from connector.api import arun_action
from connector.cli import cli
from connector.envelope import Envelope
from connector.sandbox import SandboxConfig
from connector.sandbox.nameshield import generate_events
from connector.testing import RecordingTransport
from tests.actions.nameshield.conftest import OWN, act
from tests.vcr_support import cassette


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
