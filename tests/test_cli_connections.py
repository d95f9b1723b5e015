"""connector init, connections list and connections check; one bad connection leaves the others usable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from connector.connections import find_connection, read_connections
from connector.errors import ConfigError
from connector.sandbox import SandboxConfig, running_sandbox

CONNECTOR = [sys.executable, "-m", "connector"]


def connector(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONNECTOR, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CONNECTOR_CONFIG": "", **(env or {})})


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone", "nameshield"))) as url:
        yield url


def mixed_file(tmp_path: Path, sandbox_url: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(f"""connections:
  good:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:GOOD_TOKEN
    retries: 0
  wrong_token:
    vendor: nameshield
    base_url: {sandbox_url}/nameshield
    secret: env:WRONG_TOKEN
    retries: 0
  broken:
    vendor: sentinelone
    base_url: ftp://nowhere
    secret: env:GOOD_TOKEN
  no_secret:
    vendor: sentinelone
    base_url: https://x.example
    secret: hunter2
""")
    return path


def test_one_bad_connection_leaves_the_others_usable(tmp_path: Path, sandbox_url: str) -> None:
    path = mixed_file(tmp_path, sandbox_url)
    read = read_connections(path)
    assert sorted(read.connections) == ["good", "wrong_token"]
    assert read.problems == {
        "broken": "config: connections.broken.base_url: must be an http(s) URL with a host",
        "no_secret": "config: connections.no_secret.secret: must be a reference, env:NAME, file:PATH or "
                     "keyring:SERVICE/NAME (never the secret itself)",
    }
    assert find_connection("good", path).vendor == "sentinelone"
    with pytest.raises(ConfigError, match=r"^config: connections\.broken\.base_url: must be an http"):
        find_connection("broken", path)


def test_init_writes_a_file_every_vendor_can_use_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "connections.yaml"
    written = connector("init", env={"CONNECTOR_CONFIG": str(path)})
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == str(path)
    read = read_connections(path)
    assert read.problems == {}
    assert {name: c.secret for name, c in read.connections.items()} == {
        "ciso_assistant": "env:CISO_ASSISTANT_TOKEN", "mysecutec": "env:MYSECUTEC_TOKEN",
        "nameshield": "env:NAMESHIELD_TOKEN", "sentinelone": "env:SENTINELONE_TOKEN",
    }
    assert "# SentinelOne Management API v2.1 (Authorization: ApiToken <token>)" in path.read_text()
    before = path.read_text()
    again = connector("--config", str(path), "init")
    assert again.returncode == 2
    assert again.stderr == f"connector: init: {path} exists and is left as it is (edit it, or give --config NEW_FILE)\n"
    assert path.read_text() == before


def test_connections_list_shows_references_and_problems(tmp_path: Path, sandbox_url: str) -> None:
    path = mixed_file(tmp_path, sandbox_url)
    listed = connector("connections", "list", "--config", str(path), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {row.pop("connection"): row for row in orjson.loads(listed.stdout)}
    assert rows["good"] == {"vendor": "sentinelone", "base_url": f"{sandbox_url}/sentinelone",
                            "secret": "env:GOOD_TOKEN", "valid": "ok"}
    assert rows["broken"]["valid"] == "config: connections.broken.base_url: must be an http(s) URL with a host"
    assert sorted(rows) == ["broken", "good", "no_secret", "wrong_token"]
    assert "hunter2" not in listed.stdout + listed.stderr
    table = connector("connections", "list", "--config", str(path))
    assert table.returncode == 0 and "│ good " in table.stdout and "env:GOOD_TOKEN" in table.stdout


def test_connections_check_lists_every_problem_then_tests_each_connection(tmp_path: Path, sandbox_url: str) -> None:
    path = mixed_file(tmp_path, sandbox_url)
    checked = connector("connections", "check", "--config", str(path), "--format", "json",
                        env={"GOOD_TOKEN": "sandbox-token", "WRONG_TOKEN": "not-the-token-0042"})
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [
        f"connector: connections in {path}",
        "connector: config: connections.broken.base_url: must be an http(s) URL with a host",
        "connector: config: connections.no_secret.secret: must be a reference, env:NAME, file:PATH or "
        "keyring:SERVICE/NAME (never the secret itself)",
    ]
    rows = {row.pop("connection"): list(row.values()) for row in orjson.loads(checked.stdout)}
    assert rows["good"] == ["sentinelone", "pass", "pass", "pass", "success"]
    assert rows["wrong_token"][:2] == ["nameshield", "pass"] and rows["wrong_token"][2].startswith("fail: ")
    assert rows["wrong_token"][-1] == "failed"
    assert rows["broken"] == ["", "invalid", "", "", "invalid"] and rows["no_secret"][-1] == "invalid"
    assert "not-the-token-0042" not in checked.stdout + checked.stderr


def test_connections_check_exits_0_when_every_connection_passes(tmp_path: Path, sandbox_url: str) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {sandbox_url}/sentinelone\n"
                    "    secret: env:GOOD_TOKEN\n")
    checked = connector("connections", "check", "--config", str(path), env={"GOOD_TOKEN": "sandbox-token"})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "│ s1 " in checked.stdout and "success" in checked.stdout
    unset = connector("connections", "check", "--config", str(path), "--format", "json", env={"GOOD_TOKEN": ""})
    assert unset.returncode == 1
    assert orjson.loads(unset.stdout)[0]["status"] == (
        "failed: connection 's1': secret: environment variable GOOD_TOKEN is missing or empty"
    )
    nowhere = tmp_path / "nowhere" / "connections.yaml"
    absent = connector("connections", "check", env={"CONNECTOR_CONFIG": "", "XDG_CONFIG_HOME": str(nowhere.parent),
                                                    "HOME": str(tmp_path)})
    assert absent.returncode == 2
    assert absent.stderr.endswith(" does not exist (write one with `connector init`)\n"), absent.stderr
