"""What the task-queue tests add to :mod:`connector.jobs.local`: requests counted where they land."""

from __future__ import annotations

import threading
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from connector.jobs.local import RedisServer, Worker, free_port, start_workers, wait_until

__all__ = ["Arrivals", "RedisServer", "Worker", "free_port", "start_workers", "wait_until"]


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
