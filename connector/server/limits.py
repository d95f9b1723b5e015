"""What a request may cost the server: its body's type, size and arrival time, and the time its checks take.

A body is refused before it is read when its Content-Type is not JSON (415) or its Content-Length
is over the limit (413); while it is read, when it grows over the limit (413) or does not arrive
within the body timeout (408, and the connection is closed). Checking a body or a playbook runs in
a worker thread (:class:`Checks`), so a large one never holds the event loop and every other
request (``/healthz`` too) is answered meanwhile; an action's body of at most :data:`CHECKED_HERE`
bytes is checked on the loop, where it takes microseconds, less than the hop to a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.errors import BadInput
from connector.server.answers import error_answer

DEFAULT_MAX_BODY = 1024 * 1024
"""1 MiB: far above any action input, far below what would hurt the server."""

BODY_TIMEOUT_S = 30.0
"""How long a request body may take to arrive, from its first read: a stalled client is let go."""

CHECK_TIMEOUT_S = 10.0
"""How long checking one body or playbook may take, waiting for a free check thread included."""

CHECKED_HERE = 16 * 1024
"""An action run's body up to this size is checked on the event loop (JSON, a compiled schema: microseconds)."""

CHECKS_AT_ONCE = 2
"""Check threads at a time: large playbooks queue for these and leave the rest of the server free."""

JSON = "application/json"

log = logging.getLogger(__name__)
T = TypeVar("T")


class BodyLimit:
    """ASGI middleware: a POST body must be JSON (or untyped), at most ``max_bytes``, and arrive in ``timeout`` s."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY, timeout: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    def _message(self) -> str:
        return f"request body: larger than the limit of {self.max_bytes} bytes (server option --max-body)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse by Content-Type and Content-Length up front; otherwise count and time the body as the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = _refused_type(scope["method"], headers.get("content-type"))
        declared = headers.get("content-length", "")
        # The server has checked the header's syntax; whatever it let through, counting still applies.
        if refusal is None and declared.isdigit() and int(declared) > self.max_bytes:
            refusal = error_answer(413, "too_large", self._message())
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._reader(receive), send)

    def _reader(self, receive: Receive) -> Receive:
        """``receive``, refusing a body over the limit or late; after the body, as it is (the disconnect watch)."""
        received, deadline, complete = 0, None, False

        async def counted() -> Message:
            nonlocal received, deadline, complete
            if complete:
                return await receive()
            deadline = deadline if deadline is not None else anyio.current_time() + self.timeout
            with anyio.move_on_after(max(deadline - anyio.current_time(), 0)):
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    # Raised inside the endpoint's read of the body: the app's HTTPException handler
                    # answers it, before the endpoint has written anything.
                    raise HTTPException(413, self._message())
                return message
            log.warning("request body: not received within %g s; answered 408 and closed the connection", self.timeout)
            raise HTTPException(
                408, f"request body: not received within {self.timeout:g} s (server limit)", {"Connection": "close"}
            )

        return counted


def _refused_type(method: str, content_type: str | None) -> Response | None:
    """415 for a POST whose body says it is not JSON; none when it is JSON or says nothing (a raw client)."""
    if method != "POST" or content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON:
        return None
    return error_answer(415, "unsupported_media_type", f"Content-Type: {media[:100]!r} is not {JSON!r}")


class Checks:
    """Body and playbook checks in worker threads: at most :data:`CHECKS_AT_ONCE`, each within ``timeout`` s."""

    def __init__(self, timeout: float = CHECK_TIMEOUT_S) -> None:
        self.timeout = timeout
        self.limiter = anyio.CapacityLimiter(CHECKS_AT_ONCE)

    async def run(self, check: Callable[..., T], *args: object, here: bool = False) -> T:
        """``check(*args)`` off the event loop; BadInput naming the limit when it takes longer than ``timeout``.

        ``here``: on the loop instead, for a check bounded by a small body (see :data:`CHECKED_HERE`).
        """
        if here:
            return check(*args)
        with anyio.move_on_after(self.timeout):
            # A check past its time is left to finish in its thread (a thread cannot be stopped);
            # its caller is answered now. The expression and body size limits bound what it costs.
            return await anyio.to_thread.run_sync(partial(check, *args), abandon_on_cancel=True, limiter=self.limiter)
        raise BadInput(f"request body: checking it took longer than {self.timeout:g} s (server limit); send less")
