"""A connection's rate limit holds across every worker together: measured where the requests land."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from connector.jobs import submit_action
from connector.jobs.limits import KEY, redis_limiter
from connector.sandbox import SandboxConfig, build_app, serving
from tests.jobs.conftest import StartWorkers
from tests.jobs.support import Arrivals

RATE = 5
LOAD_S = 10
TASKS = RATE * LOAD_S + 40
"""More than the window needs, so the workers are still pressing when it closes."""


@pytest.fixture
def counted() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals(build_app(SandboxConfig(rate_limits=False, vendors=("sentinelone",))))
    with serving(arrivals) as url:
        yield url, arrivals


def test_four_workers_hold_one_connections_rate_together(
    broker: str, workers: StartWorkers, counted: tuple[str, Arrivals], tmp_path: Path,
) -> None:
    url, arrivals = counted
    config = tmp_path / "limited.yaml"
    config.write_text(f"""
connections:
  s1:
    vendor: sentinelone
    base_url: {url}/sentinelone
    secret: env:JOBS_S1_TOKEN
    rate_limit: {{requests: {RATE}, per_seconds: 1}}
""")
    workers(4, concurrency=2, config=config)
    jobs = [submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker) for _ in range(TASKS)]
    envelopes = [job.get(timeout=120) for job in jobs]
    assert {envelope.status for envelope in envelopes} == {"success"}
    assert sum(envelope.meta.requests for envelope in envelopes) == len(arrivals.times) == TASKS
    first = arrivals.times[0]
    assert arrivals.times[-1] - first >= LOAD_S, "the load must last the whole window"
    in_window = sum(1 for at in arrivals.times if at - first < LOAD_S)
    assert RATE * LOAD_S * 0.9 <= in_window <= RATE * LOAD_S + 1, in_window
    # Every one-second window, wherever it starts: the limit, plus the request at its very edge.
    times = sorted(arrivals.times)
    busiest = max(bisect.bisect_left(times, at + 1.0) - index for index, at in enumerate(times))
    assert busiest <= RATE + 1, busiest


def test_each_call_books_the_next_slot_atomically(broker: str) -> None:
    # One request an hour: the first goes now, each next books an hour later.
    limiter = redis_limiter(broker, "slow", "http://127.0.0.1:9", (1, 3600))
    script = limiter.script
    waits = [float(script(keys=[limiter.key], args=[3600.0])) for _ in range(3)]
    assert waits[0] == 0
    assert 3599 < waits[1] <= 3600
    assert 7199 < waits[2] <= 7200
    client = redis.Redis.from_url(broker)
    assert [key.decode() for key in client.keys(KEY.format("*"))] == [limiter.key]
    assert 7200 * 1000 < client.pttl(limiter.key) <= 10800 * 1000 + 1000


def test_no_burst_every_request_after_the_one_before(broker: str) -> None:
    # Five an hour are one every 720 s, from the first on: never five at once.
    limiter = redis_limiter(broker, "even", "http://127.0.0.1:9", (5, 3600))
    waits = [float(limiter.script(keys=[limiter.key], args=[720.0])) for _ in range(3)]
    assert waits[0] == 0
    assert 719 < waits[1] <= 720
    assert 1439 < waits[2] <= 1440


def test_acquire_books_a_slot(broker: str) -> None:
    limiter = redis_limiter(broker, "quick", "http://127.0.0.1:9", (3, 3600))
    asyncio.run(limiter.acquire())
    client = redis.Redis.from_url(broker)
    assert client.exists(limiter.key)
    assert 1199 < float(limiter.script(keys=[limiter.key], args=[1200.0])) <= 1200
