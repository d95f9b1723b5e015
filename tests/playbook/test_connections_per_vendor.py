"""A playbook whose steps name no connection runs with one connection per vendor (issue 20 item 4):
`playbook run` and `watch --playbook` take `--connection VENDOR=NAME`, repeated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.api import run_action
from connector.sandbox import SandboxConfig, running_sandbox

BOOK = Path(__file__).resolve().parents[2] / "examples" / "threat-to-incident.yaml"
TOKEN = SandboxConfig().token


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone", "ciso_assistant"),
                           sizes={"sentinelone": 30, "ciso_assistant": 10})
    with running_sandbox(config) as url:
        yield url


@pytest.fixture
def connections(sandbox_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(
        "connections:\n"
        f"  s1: {{vendor: sentinelone, base_url: '{sandbox_url}/sentinelone', secret: 'env:PER_VENDOR_TOKEN'}}\n"
        f"  ciso: {{vendor: ciso_assistant, base_url: '{sandbox_url}/ciso_assistant', "
        "secret: 'env:PER_VENDOR_TOKEN'}\n"
    )
    return path


def connector(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PER_VENDOR_TOKEN": TOKEN})


def test_playbook_run_takes_a_connection_per_vendor(sandbox_url: str, connections: Path) -> None:
    threat = run_action("get_threats", {"limit": 1}, sandbox=sandbox_url, vendor="sentinelone").output["threats"][0]
    item = json.dumps({"item": threat})
    missing = connector(connections, "playbook", "run", str(BOOK), "--input", item)
    assert missing.returncode == 2
    assert "step incident: connection: missing (name one from the connections file, give --connection " \
           "VENDOR=NAME, or run with --sandbox)" in missing.stderr
    done = connector(connections, "playbook", "run", str(BOOK), "--input", item, "--connection", "ciso_assistant=ciso")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["steps"][0]["connection"] == "ciso" and result["outputs"]["ref_id"] == threat["uid"]
    # A plain name is the connection of its own vendor.
    again = connector(connections, "playbook", "run", str(BOOK), "--input", item, "--connection", "ciso")
    assert again.returncode == 0 and json.loads(again.stdout)["outputs"]["existed"] is True


def test_watch_polls_one_connection_and_runs_the_playbook_on_another(connections: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    done = connector(connections, "watch", "get-threats", "--connection", "s1", "--connection", "ciso_assistant=ciso",
                     "--playbook", str(BOOK), "--since", "2020-01-01T00:00:00Z", "--state", str(state), "--once",
                     "--input", '{"severity": ["high"]}')
    assert done.returncode == 0, done.stderr
    handled = int(done.stderr.split(" items handled")[0].rsplit(" ", 1)[-1])
    assert handled > 0
    listed = connector(connections, "run", "list-incidents", "--connection", "ciso", "--input", '{"limit": 100}')
    refs = {incident["vendor_id"] for incident in json.loads(listed.stdout)["output"]["incidents"]}
    assert len(refs) >= handled


def test_vendor_pairs_are_checked() -> None:
    done = subprocess.run([sys.executable, "-m", "connector", "run", "get-threats", "--connection", "=s1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--connection: '=s1' is not VENDOR=NAME (e.g. sentinelone=s1)" in done.stderr
