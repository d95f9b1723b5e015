"""The command line where issue 13 found tracebacks or wrong exit codes: each is one line and its code."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.sandbox import SandboxConfig, running_sandbox
from connector.sandbox.faults import FAULT_KINDS

CONNECTOR = [sys.executable, "-m", "connector"]


def connector(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CONNECTOR, *args], capture_output=True, text=True, input=stdin, timeout=120,
        env={**os.environ, "CONNECTOR_CONFIG": ""},
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line on stderr (the summary of `run` aside), after checking there is no traceback."""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not re.match(r"connector: \w+: failed;", line)]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("how", "origin"), [("inline", "--input"), ("stdin", "stdin"), ("file", "FILE"), ("blank", "--input")]
)
def test_empty_input_is_exit_2_not_an_unfiltered_read(tmp_path: Path, how: str, origin: str) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    value = {"inline": "", "stdin": "-", "file": f"@{empty}", "blank": "  \n"}[how]
    result = connector("run", "get-threats", "--sandbox-url", "http://127.0.0.1:9", "--input", value, stdin="")
    assert result.returncode == 2
    where = str(empty) if origin == "FILE" else origin
    assert one_line(result) == f"connector: input ({where}): input is empty (give a JSON object, {{}} for no filters)"


def test_an_input_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(b'{"search": "\xff"}')
    result = connector("run", "get-threats", "--sandbox-url", "http://127.0.0.1:9", "--input", f"@{path}")
    assert result.returncode == 2
    assert one_line(result) == f"connector: --input: {path} is not UTF-8 text (byte 12)"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_sandbox_on_a_busy_port_is_exit_2(busy_port: int) -> None:
    result = connector("sandbox", "--port", str(busy_port))
    assert (result.returncode, result.stderr) == (
        2, f"connector: --host/--port 127.0.0.1:{busy_port}: cannot listen: Address already in use\n"
    )


def test_serve_on_a_busy_port_is_exit_2(busy_port: int, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("serve-token-0123456789")
    result = connector("serve", "--bind", f"127.0.0.1:{busy_port}", "--token-file", str(token))
    assert (result.returncode, result.stderr) == (
        2, f"connector: --bind 127.0.0.1:{busy_port}: cannot listen: Address already in use\n"
    )


def test_sandbox_help_lists_every_fault_kind_and_the_token() -> None:
    text = connector("sandbox", "--help").stdout
    listed = re.findall(r"^ +(\S+(?:, \S+)?) {2,}", text.split("Fault kinds")[1], re.MULTILINE)
    assert [kind for entry in listed for kind in entry.split(", ")] == list(FAULT_KINDS)
    assert "--token" in text and "sandbox-token" in text


def test_sandbox_token_is_the_one_its_simulators_accept() -> None:
    process = subprocess.Popen(
        [*CONNECTOR, "sandbox", "--port", "0", "--token", "tok-for-this-test", "--size", "sentinelone=3"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "CONNECTOR_CONFIG": ""},
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        threats = f"{url[0]}/sentinelone/web/api/v2.1/threats"
        accepted = httpx.get(threats, headers={"Authorization": "ApiToken tok-for-this-test"}, timeout=30)
        refused = httpx.get(threats, headers={"Authorization": "ApiToken sandbox-token"}, timeout=30)
        assert (accepted.status_code, len(accepted.json()["data"]), refused.status_code) == (200, 3, 401)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": 5})) as url:
        yield url


def test_config_audit_and_verbose_work_after_the_subcommand(tmp_path: Path, sandbox_url: str) -> None:
    config = tmp_path / "connections.yaml"
    config.write_text(
        f"connections:\n  s1: {{vendor: sentinelone, base_url: '{sandbox_url}/sentinelone', secret: 'env:S1_AFTER'}}\n"
    )
    audit = tmp_path / "audit.jsonl"
    result = subprocess.run(
        [*CONNECTOR, "run", "get-threats", "-c", "s1", "--input", '{"limit": 1}',
         "--config", str(config), "--audit", str(audit), "-vv"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "CONNECTOR_CONFIG": "", "S1_AFTER": "sandbox-token"},
    )
    assert result.returncode == 0, result.stderr
    assert " DEBUG " in result.stderr and "sandbox-token" not in result.stderr
    events = [line.split('"event":"')[1].split('"')[0] for line in audit.read_text().splitlines()]
    assert (events[0], events[-1]) == ("action_started", "action_finished")
    # After the subcommand wins over before it; -v counts add up.
    result = connector("--config", str(tmp_path / "absent.yaml"), "playbook", "check", "--config", str(config),
                       str(Path(__file__).parents[2] / "examples" / "triage.yaml"), "--sandbox")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "command", [["list"], ["describe"], ["run"], ["watch"], ["sandbox"], ["serve"], ["playbook", "check"],
                ["playbook", "run"]],
)
def test_every_command_takes_the_shared_options(command: list[str]) -> None:
    text = connector(*command, "--help").stdout
    assert all(option in text for option in ("--config FILE", "--audit FILE", "-v, --verbose"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "get-threats", "--sandbox", "-c", "s1"], "--connection and --sandbox"),
        (["run", "get-threats", "--sandbox", "--sandbox-url", "http://127.0.0.1:9"], "--sandbox and --sandbox-url"),
        (["run", "get-threats", "-c", "s1", "--sandbox-url", "http://127.0.0.1:9"], "--connection and --sandbox-url"),
        (["playbook", "run", "examples/triage.yaml", "--sandbox", "--sandbox-url", "http://127.0.0.1:9"],
         "--sandbox and --sandbox-url"),
    ],
)
def test_conflicting_flags_are_exit_2(args: list[str], message: str) -> None:
    result = connector(*args)
    line = f"{message}: give only one of them (each says where to run)"
    assert result.returncode == 2
    if args[0] == "run":  # run's stdout holds one envelope whatever went wrong; playbook's holds nothing
        assert json.loads(result.stdout)["errors"] == [{"type": "bad_input", "message": line, "item": None}]
    else:
        assert result.stdout == ""
    assert one_line(result) == f"connector: {line}"
