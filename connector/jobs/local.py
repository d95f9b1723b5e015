"""A task queue on this machine: a redis-server and `connector worker`s as child processes.

For trying the queue out, for the tests (which must use real components) and for ``make bench``.
Each part runs on a free loopback port, is waited for until it answers, and is stopped with
SIGTERM (SIGKILL if it lingers) by whoever started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import redis

from connector.errors import ConfigError

START_TIMEOUT_S = 30.0
"""Bounds a start that never comes (a broken install), so it is an error, not a hang."""
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``condition()`` until it is true; RuntimeError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not after {timeout:g}s")
        time.sleep(0.02)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` (one we started): SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


class RedisServer:
    """A redis-server of its own on a free loopback port, 64 databases.

    Nothing is persisted unless ``persistent``: then every write goes to its append-only file
    before it is answered, so the server can be stopped and started again (:meth:`restart`)
    with its queue, reservations and results, as a broker in production should be.
    """

    def __init__(self, folder: Path, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.port = free_port()
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
                         "--databases", "64", "--dir", str(folder)]
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.process = process
        wait_until(self._answers, f"redis-server on port {self.port}")
        return process

    def url(self, db: int = 0) -> str:
        """The URL of database ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("redis-server exited at start")
        try:
            with redis.Redis(port=self.port, socket_connect_timeout=1) as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False

    def restart(self, down_for: float) -> None:
        """Stop the server, wait ``down_for`` seconds, start it again on the same port (a broker blip)."""
        self.stop()
        time.sleep(down_for)
        self._start()

    def stop(self) -> None:
        """Stop the server."""
        stop(self.process)


class Worker:
    """One `connector worker` process; its output goes to ``folder/NAME.log``."""

    def __init__(
        self, name: str, broker: str, folder: Path, *, config: Path | None = None, concurrency: int = 4,
        visibility_timeout: str = "60s", env: Mapping[str, str] | None = None, output_dir: Path | None = None,
    ) -> None:
        self.name = f"{name}@local"
        self.log = folder / f"{name}.log"
        command = [sys.executable, "-m", "connector"]
        if config is not None:
            command += ["--config", str(config)]
        command += ["worker", "--concurrency", str(concurrency), "--name", self.name,
                    "--visibility-timeout", visibility_timeout]
        if output_dir is not None:
            command += ["--output-dir", str(output_dir)]
        environment = {**os.environ, "CONNECTOR_BROKER": broker, **(env or {})}
        # The worker shares its limits through its own broker, not through one this process was given.
        environment.pop("CONNECTOR_LIMITS_URL", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        """Wait for the worker's ready line; RuntimeError with its log if it exits first."""
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited at start:\n{self.text()}")
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
    output_dir: Path | None = None,
) -> list[Worker]:
    """``count`` workers started together (their imports overlap), each waited for."""
    workers = [
        Worker(f"{prefix}{index}", broker, folder, config=config, concurrency=concurrency,
               visibility_timeout=visibility_timeout, env=env, output_dir=output_dir)
        for index in range(count)
    ]
    for worker in workers:
        worker.wait_ready()
    return workers
