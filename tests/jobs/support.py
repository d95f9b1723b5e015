"""Real components for the task-queue tests: a redis-server and `connector worker` processes.

Both are subprocesses on free loopback ports, started and torn down by the fixtures in conftest.py;
a worker is ready when its own "ready" line is on its stderr (kept in a file for the failure message).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import redis
from starlette.types import ASGIApp, Receive, Scope, Send

START_TIMEOUT_S = 30.0
"""Bounds a start that never comes (a broken install), so a failure is a message, not a hang."""
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: object, what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:g}s")
        time.sleep(0.02)


class RedisServer:
    """A redis-server of its own on a free loopback port, nothing persisted."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--databases", "64", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        wait_until(self._answers, f"redis-server on port {self.port}")

    def url(self, db: int = 0) -> str:
        """The URL of database ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _answers(self) -> bool:
        assert self.process.poll() is None, "redis-server exited at start"
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        stop(self.process)


class Worker:
    """One `connector worker` process."""

    def __init__(
        self, name: str, broker: str, folder: Path, *, config: Path | None = None, concurrency: int = 4,
        visibility_timeout: str = "60s", env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = f"{name}@tests"
        self.log = folder / f"{name}.log"
        command = [sys.executable, "-m", "connector"]
        if config is not None:
            command += ["--config", str(config)]
        command += ["worker", "--concurrency", str(concurrency), "--name", self.name,
                    "--visibility-timeout", visibility_timeout]
        environment = {**os.environ, "CONNECTOR_BROKER": broker, **(env or {})}
        environment.pop("CONNECTOR_LIMITS_URL", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        """Wait for the worker's ready line; fail with its log if it exits first."""
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited at start:\n{self.text()}")
            return "ready:" in self.text()

        wait_until(ready, f"worker {self.name} ready")

    def text(self) -> str:
        """What the worker wrote so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, acknowledging nothing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM (warm shutdown: running tasks finish), then SIGKILL if it lingers."""
        stop(self.process)


def start_workers(
    count: int, broker: str, folder: Path, *, config: Path | None = None, concurrency: int = 4,
    visibility_timeout: str = "60s", env: Mapping[str, str] | None = None, prefix: str = "w",
) -> list[Worker]:
    """``count`` workers started together (their imports overlap), each waited for."""
    workers = [
        Worker(f"{prefix}{index}", broker, folder, config=config, concurrency=concurrency,
               visibility_timeout=visibility_timeout, env=env)
        for index in range(count)
    ]
    for worker in workers:
        worker.wait_ready()
    return workers


def stop(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` (one we started): SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


class Arrivals:
    """ASGI middleware noting each request as it reaches the app: (monotonic seconds, method, path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.seen, self._lock = app, list[tuple[float, str, str]](), threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.seen.append((time.monotonic(), scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    @property
    def times(self) -> list[float]:
        """When each request arrived."""
        return [at for at, _method, _path in self.seen]

    def count(self, method: str, path: str) -> int:
        """Requests seen with this method and path."""
        return sum(1 for _at, seen_method, seen_path in self.seen if (seen_method, seen_path) == (method, path))
