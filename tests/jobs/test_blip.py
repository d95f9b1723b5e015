"""A broker stopped and started again while a worker runs a task: the worker reconnects, the task runs once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from connector.jobs import submit_action
from connector.sandbox import SandboxConfig, build_app, serving
from tests.jobs.conftest import SECRETS
from tests.jobs.support import Arrivals, RedisServer, start_workers, wait_until

READ = ("GET", "/sentinelone/web/api/v2.1/threats")
DOWN_S = 2.0


@pytest.fixture
def persistent(tmp_path: Path) -> Iterator[RedisServer]:
    """A broker that keeps its data across a restart (appendonly), as a production one should."""
    server = RedisServer(tmp_path, persistent=True)
    yield server
    server.stop()


@pytest.mark.parametrize("latency_s", [1.0, 4.0], ids=["ends-while-down", "ends-after"])
def test_a_busy_worker_survives_a_broker_blip(persistent: RedisServer, tmp_path: Path, latency_s: float) -> None:
    arrivals = Arrivals(build_app(SandboxConfig(rate_limits=False, vendors=("sentinelone",), latency_s=latency_s)))
    url = persistent.url(0)
    with serving(arrivals) as sandbox:
        config = tmp_path / "s1.yaml"
        config.write_text(f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {sandbox}/sentinelone\n"
                          "    secret: env:JOBS_S1_TOKEN\n")
        (worker,) = start_workers(1, url, tmp_path, config=config, concurrency=1, visibility_timeout="5s",
                                  env=SECRETS)
        try:
            job = submit_action("get_threats", {"limit": 1}, connection="s1", broker=url)
            wait_until(lambda: arrivals.count(*READ) == 1, "the read reaching the sandbox")
            persistent.restart(DOWN_S)
            envelope = job.get(timeout=60)
            assert (envelope.status, envelope.output["count"]) == ("success", 1), envelope.errors
            client = redis.Redis.from_url(url)
            # Acknowledged once the broker was back: nothing left to hand over again.
            wait_until(lambda: client.zcard("unacked_index") == 0, "the task acknowledged")
            after = submit_action("get_threats", {"limit": 1}, connection="s1", broker=url).get(timeout=60)
            assert after.status == "success"
            # Past the visibility timeout: the first task was never run a second time.
            assert arrivals.count(*READ) == 2
            assert worker.process.poll() is None, worker.text()
        finally:
            worker.stop()
    log = worker.text()
    assert "Traceback" not in log and "AttributeError" not in log and "Warning" not in log, log
    assert "consumer: Connection to broker lost" in log
