"""The command line end to end: every kind of bad input is one line and exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import orjson
import pytest

from connector.sandbox import SandboxConfig, running_sandbox
from connector.sandbox.faults import FaultPlan

CONNECTOR = [sys.executable, "-m", "connector"]


def connector(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CONNECTOR, *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env={**os.environ, "CONNECTOR_CONFIG": "", **(env or {})},
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("connector: ")]
    assert lines, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone",))) as url:
        yield url


@pytest.fixture
def config(tmp_path: Path, sandbox_url: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(f"""
connections:
  s1:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:S1_TOKEN
    retries: 1
  s1_unset:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:S1_TOKEN_UNSET_FOR_TEST
  s1_plain:
    vendor: sentinelone
    base_url: http://s1.example.com
    secret: env:S1_TOKEN
""")
    return path


def test_version_help_and_list() -> None:
    assert connector("--version").stdout.startswith("connector, version ")
    assert "run" in connector("--help").stdout
    listed = connector("list")
    assert listed.returncode == 0
    assert "get-threats" in listed.stdout and "sentinelone" in listed.stdout
    rows = orjson.loads(connector("list", "--format", "json").stdout)
    assert {"name": "get_threats", "title": "Get Threats", "mutates": False}.items() <= rows[0].items() or any(
        row["name"] == "get_threats" for row in rows
    )


def test_describe_shows_schemas_and_bindings() -> None:
    described = orjson.loads(connector("describe", "get-threats").stdout)
    assert described["name"] == "get_threats"
    assert described["vendors"]["sentinelone"]["endpoints"] == ["GET /web/api/v2.1/threats"]
    assert "severity" in described["input_schema"]["properties"]
    assert described["output_schema"]["required"] == ["threats", "count"]


def test_run_prints_the_envelope(config: Path) -> None:
    result = connector(
        "--config",
        str(config),
        "run",
        "get-threats",
        "--connection",
        "s1",
        "--input",
        '{"limit": 3}',
        env={"S1_TOKEN": "sandbox-token"},
    )
    assert result.returncode == 0, result.stderr
    envelope = orjson.loads(result.stdout)
    assert (envelope["action"], envelope["vendor"], envelope["connection"], envelope["status"]) == (
        "get_threats",
        "sentinelone",
        "s1",
        "success",
    )
    assert envelope["output"]["count"] == 3 and len(envelope["output"]["threats"]) == 3
    assert envelope["meta"]["requests"] == 1 and envelope["meta"]["pages"] == 1
    assert "get_threats via sentinelone (s1): success, 3 threats" in result.stderr


def test_input_from_file_and_stdin_and_ndjson(tmp_path: Path, config: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text('{"limit": 2}')
    env = {"S1_TOKEN": "sandbox-token"}
    run_s1 = ("--config", str(config), "run", "get-threats", "-c", "s1", "--input")
    from_file = connector(*run_s1, f"@{source}", "--format", "ndjson", env=env)
    lines = from_file.stdout.splitlines()
    assert len(lines) == 3 and orjson.loads(lines[0])["vendor"] == "sentinelone"
    assert orjson.loads(lines[2])["output"]["count"] == 2  # NDJSON ends with the envelope
    from_stdin = connector(*run_s1, "-", "--format", "table", env=env, stdin='{"limit": 2}')
    assert from_stdin.returncode == 0 and "get_threats: 2 threats (success)" in from_stdin.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "get-threats", "-c", "s1", "--input", "{bad"], "connector: input (--input): not valid JSON"),
        (["run", "get-threats", "-c", "s1", "--input", "[1]"], "expected a JSON object, got list"),
        (["run", "get-threatz", "-c", "s1"], "connector: action 'get-threatz' is not known"),
        (["run", "get-threats", "--sandbox", "--vendor", "acme"], "connector: vendor 'acme' is not known"),
        (["run", "get-threats", "-c", "nope"], "connector: connection 'nope' is not defined"),
        (
            ["run", "get-threats", "-c", "s1_unset"],
            "secret: environment variable S1_TOKEN_UNSET_FOR_TEST is missing or empty",
        ),
        (
            ["run", "get-threats", "-c", "s1", "--input", '{"severity": ["urgent"]}'],
            "connector: input.severity[0]: 'urgent' is not one of",
        ),
        (
            ["run", "get-threats", "-c", "s1", "--input", '{"limit": 0}'],
            "connector: input.limit: 0 is less than the minimum of 1 (rule: minimum)",
        ),
        (
            ["run", "get-threats", "-c", "s1", "--input", '{"since": "last tuesday"}'],
            "connector: input.since: 'last tuesday' is not a 'date-time' (rule: format)",
        ),
        (
            ["run", "get-threats", "-c", "s1", "--input", '{"vendor_filters": {"fooBar": 1}}'],
            "connector: input.vendor_filters: Additional properties are not allowed ('fooBar' was unexpected)",
        ),
        (["run", "get-threats", "-c", "s1_plain"], "plain http to a non-loopback host is refused"),
        (["run", "get-threats"], "connector: no connection: give --connection NAME or --sandbox"),
        (["run", "get-threats", "-c", "s1", "--format", "xml"], "connector: Invalid value for '--format'"),
        (["frobnicate"], "connector: No such command 'frobnicate'."),
        (["sandbox", "--faults", "boom:2"], "connector: "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(config: Path, args: list[str], expected: str) -> None:
    result = connector("--config", str(config), *args, env={"S1_TOKEN": "sandbox-token"})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert one_line(result).startswith(expected) or expected in one_line(result)


def test_wrong_token_is_one_line_and_exit_1(config: Path) -> None:
    result = connector("--config", str(config), "run", "get-threats", "-c", "s1", env={"S1_TOKEN": "wrong-token-value"})
    assert result.returncode == 1
    assert "401" in one_line(result)
    assert "wrong-token-value" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("fault", "expected"),
    [("html@1-9", "answered with an HTML page"), ("truncated@1-9", "answered with invalid JSON (truncated body?)")],
)
def test_odd_vendor_answers_are_one_line_and_exit_1(tmp_path: Path, fault: str, expected: str) -> None:
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone",), faults=FaultPlan.parse(fault))
    with running_sandbox(config) as url:
        path = tmp_path / "c.yaml"
        path.write_text(
            f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {url}/sentinelone\n"
            "    secret: env:S1_TOKEN\n    retries: 1\n"
        )
        result = connector("--config", str(path), "run", "get-threats", "-c", "s1", env={"S1_TOKEN": "sandbox-token"})
    assert result.returncode == 1
    assert expected in one_line(result)
    assert orjson.loads(result.stdout)["status"] == "failed"


def test_the_help_lists_each_command_with_its_own_first_line() -> None:
    # connector --help reads the one-line help from COMMANDS without importing the commands.
    from connector.cli import COMMANDS, cli

    context = click.Context(cli)
    for name, (_, short_help) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None and command.help is not None
        assert command.help.split("\n\n")[0].replace("\n", " ").strip() == short_help, name


@pytest.mark.parametrize(
    ("args", "loaded"),
    [(["--help"], []), (["list"], ["connector.cli.actions"]), (["describe", "get-threats"], ["connector.cli.actions"])],
)
def test_help_list_and_describe_import_nothing_heavy(args: list[str], loaded: list[str]) -> None:
    heavy = "('connector.cli.', 'pydantic', 'httpx', 'jsonschema', 'pluggy', 'rich')"
    probe = f"import sys; from connector.cli import main; sys.argv = ['connector', *{args!r}]\n" \
            "try:\n    main()\nexcept SystemExit:\n    pass\n" \
            f"print(sorted(m for m, module in sys.modules.items() if module and m.startswith({heavy})))"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip().splitlines()[-1] == repr(sorted(["connector.cli.common", *loaded]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "{bad"], "input (--input): not valid JSON: unexpected character"),
        (["--input", "{}", "--map", "x=[[["], "--map x: `[[[`: not a valid JMESPath expression"),
    ],
)
def test_run_prints_one_failed_envelope_for_input_it_cannot_read(args: list[str], message: str) -> None:
    result = connector("run", "get-threats", "--sandbox", *args)
    assert result.returncode == 2
    envelope = orjson.loads(result.stdout)
    assert (envelope["action"], envelope["status"], envelope["errors"][0]["type"]) == ("get_threats", "failed",
                                                                                       "bad_input")
    assert envelope["errors"][0]["message"].startswith(message)
    assert result.stderr.startswith(f"connector: {message}") and "Traceback" not in result.stderr


def test_an_unforeseen_error_in_run_is_a_failed_envelope_and_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from connector.cli import cli
    from connector.executor import InProcess

    def broken(*args: object, **options: object) -> None:
        raise RuntimeError("the unforeseen\nacross two lines")

    monkeypatch.setattr(InProcess, "stream", broken)
    result = CliRunner().invoke(cli, ["run", "get-threats", "--sandbox-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    envelope = orjson.loads(result.stdout)
    assert envelope["errors"] == [{"type": "internal", "item": None, "message": (
        "internal error: RuntimeError: the unforeseen (please report; -vv shows the traceback)")}]
    assert "Traceback" not in result.output
