"""A job's marker: it expires with the job's result, and shows the job to its owner only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from connector.errors import BadInput
from connector.jobs import job, submit_action
from connector.jobs.markers import KEY
from connector.sandbox import SandboxConfig, build_app, serving
from tests.jobs.conftest import StartWorkers

LATENCY_S = 2.0


@pytest.fixture
def slow_sandbox() -> Iterator[str]:
    with serving(build_app(SandboxConfig(rate_limits=False, vendors=("sentinelone",), latency_s=LATENCY_S))) as url:
        yield url


def test_the_marker_expires_with_the_result(broker: str, workers: StartWorkers, slow_sandbox: str) -> None:
    workers(1, concurrency=1)
    handle = submit_action("get_threats", {"limit": 1}, vendor="sentinelone", sandbox=slow_sandbox, broker=broker)
    assert handle.get(timeout=60).status == "success"
    client = redis.Redis.from_url(broker)
    marker, result = client.pttl(KEY.format(handle.id)), client.pttl(f"celery-task-meta-{handle.id}")
    # Counted from submit, the marker would end LATENCY_S before the result: it ends with it.
    assert 0 <= marker - result < 1000, (marker, result)


def test_a_job_shows_only_to_its_owner(broker: str) -> None:
    mine = submit_action("get_threats", {}, connection="s1", broker=broker, owner="token-a")
    assert job(mine.id, broker=broker, owner="token-a").id == mine.id
    with pytest.raises(BadInput, match=f"job {mine.id}: unknown here"):
        job(mine.id, broker=broker, owner="token-b")
    # The broker's holder (no owner named) reads every job; an owned reader never sees an unowned job.
    assert job(mine.id, broker=broker).kind == "action"
    nobodys = submit_action("get_threats", {}, connection="s1", broker=broker)
    with pytest.raises(BadInput, match="unknown here"):
        job(nobodys.id, broker=broker, owner="token-a")
    stored = redis.Redis.from_url(broker).get(KEY.format(mine.id))
    assert stored is not None and b"token-a" not in stored
