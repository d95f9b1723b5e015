"""`playbook run --broker`: a for_each spread over the workers gives the in-process report, errors included."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from connector.jobs.app import celery_app
from connector.jobs.executor import Workers
from connector.playbook import run_playbook
from connector.playbook.report import PlaybookResult
from connector.sandbox import SandboxConfig, running_sandbox
from tests.jobs.conftest import StartWorkers

BOOK = {
    "name": "spread",
    "steps": [
        {"id": "threats", "action": "get_threats", "vendor": "sentinelone", "input": {"limit": 8}},
        {"id": "incidents", "action": "create_incident", "vendor": "ciso_assistant",
         "for_each": "steps.threats.output.threats", "input": {"from_threat": "${{ item }}"}},
        # limit 0 is refused: one item of three fails, so the step is partial and the run goes on.
        {"id": "reads", "action": "get_threats", "vendor": "sentinelone", "for_each": "`[1, 0, 2]`",
         "on_error": "continue", "input": {"limit": "${{ item }}"}},
    ],
    "outputs": {"refs": "steps.incidents.output.items[].ref_id", "read": "steps.reads.output.items[].count"},
}


@pytest.fixture
def twin_sandboxes() -> Iterator[tuple[str, str]]:
    """Two sandboxes seeded alike: one for the in-process run, one for the workers' run."""
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone", "ciso_assistant"))
    with ExitStack() as stack:
        yield stack.enter_context(running_sandbox(config)), stack.enter_context(running_sandbox(config))


def comparable(result: PlaybookResult) -> dict[str, Any]:
    """The report without what differs between any two runs: durations, run ids, server-made ids and times."""
    data = result.model_dump(mode="json")
    data["summary"].pop("duration_ms")
    for step in data["steps"]:
        for envelope in step["envelopes"]:
            envelope.pop("meta")
            incident = envelope["output"].get("incident")
            if incident:
                for key in ("vendor_id", "uid", "created_at", "updated_at", "url", "first_seen", "last_seen"):
                    incident.pop(key, None)
    return data


def test_for_each_over_workers_gives_the_in_process_report(
    broker: str, workers: StartWorkers, twin_sandboxes: tuple[str, str],
) -> None:
    here, there = twin_sandboxes
    pair = workers(2, concurrency=2)
    local = run_playbook(BOOK, sandbox=here)
    queued = run_playbook(BOOK, sandbox=there, executor=Workers(broker))
    assert (local.status, local.exit_code) == (queued.status, queued.exit_code) == ("partial", 3)
    assert [step.status for step in queued.steps] == ["success", "success", "partial"]
    assert len(queued.step("incidents").envelopes) == 8
    # The failed item's output is {}, which has no count: the expression skips it.
    assert queued.outputs["read"] == [1, 2]
    assert queued.outputs == local.outputs
    assert comparable(queued) == comparable(local)
    stats = celery_app(broker).control.inspect(destination=[w.name for w in pair], timeout=5).stats()
    ran = {name: info["total"].get("connector.run_action", 0) for name, info in stats.items()}
    assert sum(ran.values()) == 1 + 8 + 3
    assert all(count > 0 for count in ran.values()), f"the for_each went to one worker only: {ran}"


def test_the_command_runs_steps_on_the_workers(
    broker: str, workers: StartWorkers, twin_sandboxes: tuple[str, str], tmp_path: Path,
) -> None:
    workers(1, concurrency=2)
    book = tmp_path / "spread.yaml"
    book.write_text(yaml.safe_dump(BOOK))
    ran = subprocess.run(
        [sys.executable, "-m", "connector", "playbook", "run", str(book), "--sandbox-url", twin_sandboxes[0],
         "--broker", broker, "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert ran.returncode == 3, ran.stderr
    result = orjson.loads(ran.stdout)
    assert [step["status"] for step in result["steps"]] == ["success", "success", "partial"]
    assert ran.stderr.strip().splitlines()[-1].startswith("connector: playbook spread: partial; 3 steps")
