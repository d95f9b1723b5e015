"""A task running longer than the visibility timeout is not handed to another worker: it runs once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.jobs import submit_action
from connector.sandbox import SandboxConfig, build_app, serving
from tests.jobs.conftest import StartWorkers
from tests.jobs.support import Arrivals

READ = ("GET", "/sentinelone/web/api/v2.1/threats")
VISIBILITY = "2s"
LATENCY_S = 8.0
"""Four visibility timeouts: long enough for the idle worker to take the task, were it visible."""


@pytest.fixture
def slow_read() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals(build_app(SandboxConfig(rate_limits=False, vendors=("sentinelone",), latency_s=LATENCY_S)))
    with serving(arrivals) as url:
        yield url, arrivals


def test_a_long_task_runs_once(broker: str, workers: StartWorkers, slow_read: tuple[str, Arrivals],
                               tmp_path: Path) -> None:
    url, arrivals = slow_read
    config = tmp_path / "slow.yaml"
    config.write_text(f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {url}/sentinelone\n"
                      "    secret: env:JOBS_S1_TOKEN\n")
    pair = workers(2, concurrency=1, config=config, visibility_timeout=VISIBILITY)
    envelope = submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker).get(timeout=60)
    assert (envelope.status, envelope.output["count"]) == ("success", 1), envelope.errors
    assert arrivals.count(*READ) == 1
    assert all(worker.process.poll() is None for worker in pair)
