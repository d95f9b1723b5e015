"""A transport into an in-process simulator that records every request the client sent."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from starlette.types import ASGIApp

Instead = Callable[[httpx.Request], httpx.Response | None]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends to ``app`` and appends each request to ``sent``; ``instead`` may answer a request itself."""

    def __init__(self, app: ASGIApp, sent: list[httpx.Request], instead: Instead | None = None) -> None:
        self.inner, self.sent, self.instead = httpx.ASGITransport(app=app), sent, instead

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record, then answer with ``instead``'s response if it gives one, else the app's."""
        self.sent.append(request)
        answer = self.instead(request) if self.instead is not None else None
        return answer if answer is not None else await self.inner.handle_async_request(request)
