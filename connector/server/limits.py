"""The request size limit: refused by Content-Length up front, and while a chunked body is read."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.server.answers import error_answer

DEFAULT_MAX_BODY = 1024 * 1024
"""1 MiB: far above any action input, far below what would hurt the server."""


class BodyLimit:
    """ASGI middleware: request bodies larger than ``max_bytes`` are answered 413, one line."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"request body: larger than the limit of {self.max_bytes} bytes (server option --max-body)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse by Content-Length when it is given; otherwise count the bytes as the app reads them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        # The server has checked the header's syntax; whatever it let through, counting still applies.
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_answer(413, "too_large", self._message())(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the endpoint's read of the body: the app's HTTPException handler
                    # answers it, before the endpoint has written anything.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)
