"""`connector watch --broker --playbook`: each item's playbook run on the workers, committed once it succeeded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from connector.api import run_action
from connector.sandbox import SandboxConfig, running_sandbox
from tests.jobs.conftest import StartWorkers

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "examples" / "threat-to-incident.yaml"
THREATS = 12


@pytest.fixture
def small_sandbox() -> Iterator[str]:
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone", "ciso_assistant"), sizes={"sentinelone": THREATS})
    with running_sandbox(config) as url:
        yield url


def _watch(url: str, state: Path, broker: str) -> subprocess.CompletedProcess[str]:
    since = [] if state.exists() else ["--since", "2020-01-01T00:00:00Z"]
    return subprocess.run(
        [sys.executable, "-m", "connector", "watch", "get-threats", "--sandbox-url", url, "--vendor", "sentinelone",
         *since, "--playbook", str(PLAYBOOK), "--once", "--state", str(state), "--broker", broker],
        capture_output=True, text=True, timeout=300,
    )


def test_items_go_to_the_workers_and_are_committed_once(
    broker: str, workers: StartWorkers, small_sandbox: str, tmp_path: Path,
) -> None:
    workers(2, concurrency=2)
    state = tmp_path / "state.json"
    before = run_action("list_incidents", {}, vendor="ciso_assistant", sandbox=small_sandbox).output["count"]
    first = _watch(small_sandbox, state, broker)
    assert first.returncode == 0, first.stderr
    assert f"{THREATS} items handled" in first.stderr
    # The poll completed: the bookmark moved on from --since.
    assert not orjson.loads(state.read_bytes())["bookmark"].startswith("2020-01-01T00:00:00")
    incidents = run_action("list_incidents", {"include_raw": True}, vendor="ciso_assistant", sandbox=small_sandbox)
    assert incidents.output["count"] == before + THREATS
    # The same watch again: nothing new, nothing handed over twice.
    second = _watch(small_sandbox, state, broker)
    assert second.returncode == 0, second.stderr
    assert "0 items handled" in second.stderr
    again = run_action("list_incidents", {}, vendor="ciso_assistant", sandbox=small_sandbox)
    assert again.output["count"] == before + THREATS


def test_a_broker_that_cannot_be_reached_commits_nothing(small_sandbox: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    gone = _watch(small_sandbox, state, "redis://127.0.0.1:1/0")
    assert gone.returncode == 1
    # The item's playbook failed on the broker: one line names it, and the item is not committed.
    assert "broker redis://127.0.0.1:1/0: unreachable" in gone.stderr
    assert "Traceback" not in gone.stderr
    checkpoint = orjson.loads(state.read_bytes())
    assert checkpoint["seen"] == {}
    assert checkpoint["bookmark"].startswith("2020-01-01T00:00:00")


def test_broker_without_playbook_is_bad_input(small_sandbox: str, tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "connector", "watch", "get-threats", "--sandbox-url", small_sandbox, "--vendor",
         "sentinelone", "--once", "--state", str(tmp_path / "s.json"), "--broker", "redis://127.0.0.1:1/0"],
        capture_output=True, text=True, timeout=120,
    )
    assert (refused.returncode, refused.stderr.strip()) == (
        2, "connector: --broker: the workers run the playbook of each item; give --playbook"
    )
