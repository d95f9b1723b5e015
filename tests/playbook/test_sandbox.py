"""Playbooks: the examples against the sandbox, and the command line."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.errors import BadInput
from connector.playbook import PlaybookInvalid, PlaybookResult, arun_playbook, load_checked, run_playbook
from connector.plugins import Host
from connector.sandbox import SandboxConfig, build_app, running_sandbox
from tests.playbook.conftest import ROOT

PLAYBOOKS = Path(__file__).parents[1] / "playbooks"
LOOPBACK = "http://127.0.0.1"  # the sandbox's base URL when its app is reached through an ASGI transport
SMALL = {"sentinelone": 120, "mysecutec": 120, "ciso_assistant": 10}


@pytest.fixture
def sandbox_transport() -> httpx.ASGITransport:
    """A fresh sandbox with every vendor, small and unthrottled, reached without sockets."""
    return httpx.ASGITransport(app=build_app(SandboxConfig(rate_limits=False, sizes=SMALL)))


def sandboxed(
    playbook: str | Path | dict[str, Any], transport: httpx.ASGITransport, inputs: dict[str, Any] | None = None,
    **options: Any,
) -> PlaybookResult:
    return asyncio.run(arun_playbook(playbook, inputs, sandbox=LOOPBACK, transport=transport, **options))


def test_triage_creates_incidents_once_and_sets_threats_in_progress(sandbox_transport: httpx.ASGITransport) -> None:
    first = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 3})
    assert first.status == "success", [e.errors for s in first.steps for e in s.envelopes if e.errors]
    s1 = first.step("s1_threats").output["threats"]
    tam = first.step("tam_threats").output["threats"]
    assert len(s1) == 3 and len(tam) == 3
    assert {threat["severity"] for threat in s1} == {"high"}, "SentinelOne: malicious maps to high, never critical"
    assert {threat["severity"] for threat in tam} <= {"critical", "high"}
    uids = [threat["uid"] for threat in s1 + tam]
    assert first.outputs == {"threats": 6, "created": uids, "existed": [], "s1_in_progress": 3, "tam_acknowledged": 3}
    incidents = [item["incident"] for item in first.step("incidents").output["items"]]
    assert [incident["status"] for incident in incidents] == ["in_progress"] * 6
    assert sorted(first.step("s1_in_progress").output["succeeded"]) == sorted(t["vendor_id"] for t in s1)

    second = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 3})
    assert second.outputs == {"threats": 6, "created": [], "existed": uids, "s1_in_progress": 3, "tam_acknowledged": 3}
    assert [threat["status"] for threat in second.step("s1_threats").output["threats"]] == ["in_progress"] * 3


def test_triage_dry_run_creates_and_changes_nothing(sandbox_transport: httpx.ASGITransport) -> None:
    result = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 2}, dry_run=True)
    assert result.status == "success"
    assert [item["existed"] for item in result.step("incidents").output["items"]] == [None] * 4
    after = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 2})
    assert len(after.outputs["created"]) == 4 and after.outputs["existed"] == []


def test_dry_run_reaches_mutating_steps_only(sandbox_transport: httpx.ASGITransport) -> None:
    s1 = {"vendor": "sentinelone", "connection": "sandbox"}
    ids = "${{ steps.read.output.threats[].vendor_id }}"
    steps = [
        {"id": "read", "action": "get_threats", **s1, "input": {"status": ["new"], "limit": 2}},
        {"id": "move", "action": "update_threat_status", **s1,
         "input": {"ids": ids, "status": "in_progress"}},
        {"id": "again", "action": "get_threats", **s1, "input": {"ids": ids}},
    ]
    result = sandboxed({"name": "dry", "steps": steps}, sandbox_transport, dry_run=True)
    assert [step.envelopes[0].meta.dry_run for step in result.steps] == [False, True, False]
    planned = result.step("move").envelopes[0].output["planned_requests"]
    assert [(request["method"], request["path"]) for request in planned] == [
        ("POST", "/web/api/v2.1/threats/incident"),
    ]
    assert [threat["status"] for threat in result.step("again").output["threats"]] == ["new", "new"]


def test_a_sandbox_connection_starts_one_sandbox_for_the_run() -> None:
    s1 = {"vendor": "sentinelone", "connection": "sandbox"}
    ids = "${{ steps.read.output.threats[].vendor_id }}"
    steps = [
        {"id": "read", "action": "get_threats", **s1, "input": {"status": ["new"], "limit": 1}},
        {"id": "move", "action": "update_threat_status", **s1,
         "input": {"ids": ids, "status": "resolved"}},
        {"id": "again", "action": "get_threats", **s1, "input": {"ids": ids}},
    ]
    result = run_playbook({"name": "shared", "steps": steps})
    assert result.status == "success"
    assert [threat["status"] for threat in result.step("again").output["threats"]] == ["resolved"]


def test_domain_watch_turns_high_events_into_incidents(sandbox_transport: httpx.ASGITransport) -> None:
    result = sandboxed(ROOT / "examples/domain-watch.yaml", sandbox_transport, {"since": "2026-09-01T00:00:00Z"})
    events = result.step("events").output["events"]
    assert events and {event["threat"]["severity"] for event in events} == {"high"}
    assert all(event["time"] >= "2026-09-01" for event in events)
    assert result.outputs["created"] == [event["threat"]["uid"] for event in events]
    incidents = [item["incident"] for item in result.step("incidents").output["items"]]
    assert [incident["title"] for incident in incidents] == [event["threat"]["title"] for event in events]


def test_for_each_over_sandbox_threats_sets_each_in_progress(sandbox_transport: httpx.ASGITransport) -> None:
    result = sandboxed(PLAYBOOKS / "s1_progress.yaml", sandbox_transport)
    threats = result.step("threats").output["threats"]
    assert result.outputs == {"read": 3, "moved": [threat["vendor_id"] for threat in threats]}
    assert result.step("progress").status == "success" and len(result.step("progress").envelopes) == 3


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, sizes=SMALL)) as url:
        yield url


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_check_prints_ok_or_every_problem() -> None:
    ok = invoke("playbook", "check", "--sandbox", str(ROOT / "examples/triage.yaml"))
    assert (ok.exit_code, ok.stdout) == (0, "ok: 5 steps\n")
    bad = invoke("playbook", "check", "--sandbox", str(PLAYBOOKS / "broken.yaml"))
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "connector: step threats: input.severity[0]: 'severe' is not one of ['unknown', 'informational', 'low', "
        "'medium', 'high', 'critical'] (rule: enum)",
        "connector: step typo: action: 'get_threatz' is not known (see `connector list`); did you mean 'get_threats'?",
        "connector: step early: input.ids: steps.later: step 'later' runs later (steps run in file order)",
        "connector: step fields: input.ids: steps.threats.output.threats[].vendor_idd: no field 'vendor_idd' "
        "in Threat (did you mean 'vendor_id'?)",
    ]
    unsandboxed = invoke(
        "--config", str(PLAYBOOKS / "absent.yaml"), "playbook", "check", str(PLAYBOOKS / "s1_progress.yaml")
    )
    assert unsandboxed.exit_code == 2
    assert unsandboxed.stderr.splitlines()[0] == (
        "connector: step threats: connection: missing (name one from the connections file, "
        "give --connection VENDOR=NAME, or run with --sandbox)"
    )


def test_cli_run_refuses_an_invalid_playbook_before_any_request(sandbox_url: str) -> None:
    result = invoke("playbook", "run", "--sandbox-url", sandbox_url, str(PLAYBOOKS / "broken.yaml"))
    assert result.exit_code == 2 and result.stdout == "" and len(result.stderr.splitlines()) == 4


def test_cli_run_json_ndjson_and_table(sandbox_url: str) -> None:
    path = str(PLAYBOOKS / "s1_progress.yaml")
    as_json = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--input", '{"limit": 2}', path)
    assert as_json.exit_code == 0, as_json.stderr
    document = orjson.loads(as_json.stdout)
    assert list(document) == ["playbook", "status", "steps", "outputs", "errors", "summary"]
    assert (document["playbook"], document["status"]) == ("s1-progress", "success")
    assert [(step["id"], step["status"], len(step["envelopes"])) for step in document["steps"]] == [
        ("threats", "success", 1), ("progress", "success", 2),
    ]
    assert document["summary"]["steps"] == {"success": 2} and document["summary"]["runs"] == 3
    assert re.fullmatch(
        r"connector: playbook s1-progress: success; 2 steps \(2 success\), 3 actions, \d+ requests, \d+ ms",
        as_json.stderr.strip(),
    )

    as_ndjson = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "ndjson", path)
    lines = [orjson.loads(line) for line in as_ndjson.stdout.splitlines()]
    assert [line.get("step") for line in lines] == ["threats", "progress", "progress", "progress", None]
    assert lines[1]["action"] == "update_threat_status" and lines[-1]["outputs"]["read"] == 3

    as_table = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "table", "--concurrency", "1", path)
    assert as_table.exit_code == 0
    assert "playbook s1-progress: success" in as_table.stdout
    assert re.search(r"threats\s+│ get_threats\s+│ sentinelone\s+│ success\s+│ 1\s+│ 3 threats", as_table.stdout)
    assert re.search(r"progress\s+│ update_threat_status\s+│ sentinelone\s+│ success\s+│ 3 items\s+│ 3 succeeded, "
                     r"0 failed", as_table.stdout)


def test_cli_table_shows_created_then_existed_incidents(sandbox_url: str) -> None:
    path = str(ROOT / "examples/domain-watch.yaml")
    since = '{"since": "2026-10-01T00:00:00Z"}'
    first = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "table", "--input", since, path)
    second = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "table", "--input", since, path)
    assert re.search(r"incidents .* success\s+│ 2 items\s+│ 2 created", first.stdout), first.stdout
    assert re.search(r"incidents .* success\s+│ 2 items\s+│ 2 existed", second.stdout), second.stdout
    assert re.search(r"created\s+│ none", second.stdout) and re.search(r"existed\s+│ 2: nameshield:", second.stdout)


def test_the_readme_command_runs_triage_in_its_own_process() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "connector", "playbook", "run", str(ROOT / "examples/triage.yaml"), "--sandbox",
         "--format", "table", "--input", '{"limit": 2}'],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CONNECTOR_CONFIG": ""},
    )
    assert process.returncode == 0, process.stderr
    assert re.search(r"incidents\s+│ create_incident\s+│ ciso_assistant\s+│ success\s+│ 4 items\s+│ 4 created",
                     process.stdout), process.stdout
    summary = r"connector: playbook triage: success; 5 steps \(5 success\), 8 actions, \d+ requests, \d+ ms\n"
    simulated = "connector: sandbox: the data is simulated (the embedded vendor simulators), not read from any vendor\n"
    assert re.fullmatch(re.escape(simulated) + summary, process.stderr)


def test_cli_run_exit_codes_follow_the_steps(sandbox_url: str, tmp_path: Path) -> None:
    steps = [
        {"id": "read", "action": "get_threats", "vendor": "sentinelone", "input": {"limit": 1}},
        {"id": "bad", "action": "update_threat_status", "vendor": "sentinelone", "on_error": "continue",
         "input": {"ids": ["no-such-threat"], "status": "in_progress"}},
    ]
    path = tmp_path / "continue.yaml"
    path.write_bytes(orjson.dumps({"name": "codes", "steps": steps}))
    partial = invoke("playbook", "run", "--sandbox-url", sandbox_url, str(path))
    assert partial.exit_code == 3, partial.stderr
    steps[1]["on_error"] = "stop"
    steps.append({"id": "after", "action": "get_threats", "vendor": "sentinelone", "input": {"limit": 1}})
    path.write_bytes(orjson.dumps({"name": "codes", "steps": steps}))
    stopped = invoke("playbook", "run", "--sandbox-url", sandbox_url, str(path))
    document = orjson.loads(stopped.stdout)
    assert [step["status"] for step in document["steps"]][1:] == ["failed", "not_run"]
    assert stopped.exit_code == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--sandbox-url", "foo"], "--sandbox-url: must be an http(s) URL with a host, like http://127.0.0.1:8800"),
    (["--sandbox", "--input", '{"limit": 0}'], "inputs.limit: 0 is less than the minimum of 1 (rule: minimum)"),
    (["--sandbox", "--input", "[1"],
     "input (--input): not valid JSON: unexpected end of data: line 1 column 3 (char 2)"),
])
def test_cli_run_refuses_bad_arguments_before_starting_anything(args: list[str], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        invoke("playbook", "run", *args, str(PLAYBOOKS / "s1_progress.yaml"))
    assert caught.value.message == message


def test_cli_run_names_a_missing_file() -> None:
    with pytest.raises(BadInput, match=r"^playbook: cannot read .*absent.yaml: No such file or directory$"):
        invoke("playbook", "run", "--sandbox", str(PLAYBOOKS / "absent.yaml"))


def test_unquoted_timestamps_in_yaml_stay_text(acme_host: Host, tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text("name: dates\nsteps:\n  - id: events\n    action: list_events\n    vendor: nameshield\n"
                    "    input: {since: 2026-10-01T00:00:00Z, until: 2026-11-01}\n")
    with pytest.raises(PlaybookInvalid) as caught:
        load_checked(path, acme_host, sandbox=True)
    # The date-time stays the text written (valid); the bare date is text too, and not a date-time.
    assert caught.value.problems == ["step events: input.until: '2026-11-01' is not a 'date-time' (rule: format)"]
