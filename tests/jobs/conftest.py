"""Fixtures of the task-queue tests: a real redis-server, a sandbox, and `connector worker` processes."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connector.sandbox import SandboxConfig, running_sandbox
from tests.jobs.support import RedisServer, Worker, start_workers

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server per test process; each test gets a database of its own (see ``broker``)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (`make install` installs Debian's package when run as root)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server: RedisServer) -> str:
    """A fresh Redis database: no task, result or rate-limit key of another test is seen."""
    return redis_server.url(next(_databases))


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """A sandbox the workers reach over loopback, without the vendors' rate limits."""
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone", "ciso_assistant"))) as url:
        yield url


TOKEN = SandboxConfig().token
SECRETS = {"JOBS_S1_TOKEN": TOKEN, "JOBS_CISO_TOKEN": TOKEN}
"""The workers' secrets: in their environment only, never in a task."""


@pytest.fixture(scope="module")
def connections(tmp_path_factory: pytest.TempPathFactory, sandbox_url: str) -> Path:
    """The workers' connections file: ``s1`` (a generous rate limit, so load tests are not paced) and ``ciso``."""
    path = tmp_path_factory.mktemp("config") / "connections.yaml"
    path.write_text(f"""
connections:
  s1:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:JOBS_S1_TOKEN
    rate_limit: {{requests: 1000, per_seconds: 1}}
  ciso:
    vendor: ciso_assistant
    base_url: {sandbox_url}/ciso_assistant
    secret: env:JOBS_CISO_TOKEN
""")
    return path


StartWorkers = Callable[..., list[Worker]]


@pytest.fixture
def workers(broker: str, tmp_path: Path, connections: Path) -> Iterator[StartWorkers]:
    """Start workers on this test's broker (``workers(2, concurrency=4, ...)``), with the ``connections``
    file and their secrets unless told otherwise; all stopped at teardown."""
    started: list[Worker] = []

    def start(count: int, **options: object) -> list[Worker]:
        settings: dict[str, object] = {"config": connections, "env": SECRETS, **options}
        new = start_workers(count, broker, tmp_path, prefix=f"w{len(started)}-", **settings)
        started.extend(new)
        return new

    yield start
    for worker in started:
        worker.stop()
