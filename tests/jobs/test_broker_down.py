"""A broker that cannot be reached, or goes away while a caller waits: one clear line and exit 1, never a hang.

Every subprocess has a time-out, which only bounds a hang: a pass never comes near it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from connector.jobs import BrokerUnavailable, submit_action
from connector.jobs.executor import Workers
from connector.sandbox import serving
from connector.server import ServerSettings, create_app
from tests.jobs.support import RedisServer, free_port, start_workers, wait_until

HANG_GUARD_S = 60


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", *args], capture_output=True, text=True,
                          timeout=HANG_GUARD_S)


def _one_line(stderr: str, start: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(start), stderr


@pytest.fixture
def nowhere() -> str:
    """A broker URL nothing listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


def test_submit_result_worker_and_playbook_refuse_in_one_line(nowhere: str, tmp_path: Path) -> None:
    expected = f"connector: broker {nowhere}: unreachable"
    for args in (
        ["submit", "get-threats", "--connection", "s1", "--broker", nowhere],
        ["result", "some-job", "--broker", nowhere],
        ["worker", "--broker", nowhere],
    ):
        done = _cli(*args)
        assert done.returncode == 1, (args, done.stderr)
        _one_line(done.stderr, expected)
    book = tmp_path / "one.yaml"
    book.write_text("name: one\nsteps:\n  - {id: t, action: get_threats, vendor: sentinelone, input: {limit: 1}}\n")
    ran = _cli("playbook", "run", str(book), "--sandbox", "--broker", nowhere, "--no-progress")
    assert ran.returncode == 1, ran.stderr
    # The step that needed the broker fails in that one line, and so does the run.
    assert f"connector: step t: broker {nowhere}: unreachable" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_broker_gone_while_waiting_ends_the_wait(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    url = server.url(0)
    try:
        job = submit_action("get_threats", {}, connection="s1", broker=url)
        waiting = subprocess.Popen(
            [sys.executable, "-m", "connector", "result", job.id, "--wait", "--broker", url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        # The waiter has found the job (it polls its state) before the broker goes.
        wait_until(lambda: _polled(url), "the waiter polling")
    finally:
        server.stop()
    _out, err = waiting.communicate(timeout=HANG_GUARD_S)
    assert waiting.returncode == 1, err
    _one_line(err, f"connector: broker {url}: unreachable")
    with pytest.raises(BrokerUnavailable, match="unreachable"):
        job.get(timeout=30)


def _polled(url: str) -> bool:
    """Whether a client's last command was a GET: the waiter reading the job's state (this test only SETs)."""
    with redis.Redis.from_url(url) as client:
        return any(entry["cmd"] == "get" for entry in client.client_list())


def test_serve_answers_502_in_one_line(nowhere: str) -> None:
    settings = ServerSettings(token="jobs-down-token-0123456789", executor=Workers(nowhere))
    with serving(create_app(settings)) as api:
        answer = httpx.post(
            f"{api}/v1/actions/get_threats/run", json={"connection": "s1"},
            headers={"Authorization": "Bearer jobs-down-token-0123456789"}, timeout=HANG_GUARD_S,
        )
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert (error["type"], error["message"].startswith(f"broker {nowhere}: unreachable")) == ("broker", True)


def test_the_python_api_raises_broker_unavailable(nowhere: str) -> None:
    with pytest.raises(BrokerUnavailable, match=r"unreachable \(Error 111"):
        submit_action("get_threats", {}, connection="s1", broker=nowhere)


def test_a_worker_whose_broker_goes_away_ends_with_one_line(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    url = server.url(0)
    try:
        (worker,) = start_workers(1, url, tmp_path, concurrency=1)
    finally:
        server.stop()
    # Celery retries the broker three times (2 + 4 + 6 s), then gives up.
    assert worker.process.wait(HANG_GUARD_S) == 1
    log = worker.text()
    assert "Traceback" not in log
    assert log.strip().splitlines()[-1] == f"connector: worker {worker.name} stopped: the broker {url} went away"
