"""Test helpers for plugin authors: run actions against the in-process sandbox and see what was sent.

Like httpx's ``MockTransport``, :class:`RecordingTransport` is an ``httpx.AsyncBaseTransport`` you pass
as ``transport=``: it sends each request into an ASGI app in the same process (the sandbox of
:func:`connector.sandbox.build_app`, or any other), no socket opened, and keeps a :class:`SentRequest`
for each one. An optional ``answer`` callable may answer a request itself (a fault, an outage, a
recorded reply). The ``Authorization`` header's value is never kept, only its scheme.

    from connector.sandbox import SandboxConfig, build_app
    from connector.testing import RecordingTransport, run_in_sandbox

    transport = RecordingTransport(build_app(SandboxConfig(rate_limits=False)))
    envelope = run_in_sandbox("get_threats", {"limit": 5}, vendor="sentinelone", transport=transport)
    assert envelope.status == "success"
    assert transport.paths() == ["GET /sentinelone/web/api/v2.1/threats"]

With pytest, load the fixtures with ``pytest_plugins = ["connector.testing"]`` in a conftest; the
``sandbox_transport`` fixture is then a fresh recording sandbox per test (override
``sandbox_config`` to shape it).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from connector.api import arun_action
from connector.connections import Connection, sandbox_connection
from connector.envelope import Envelope
from connector.sandbox import SandboxConfig, build_app
from connector.sync import run_sync

__all__ = [
    "SANDBOX_URL",
    "Answer",
    "RecordingTransport",
    "SentRequest",
    "arun_in_sandbox",
    "run_in_sandbox",
    "sandbox_config",
    "sandbox_transport",
]

SANDBOX_URL = "http://127.0.0.1:9"
"""The base URL the helpers give the sandbox connection: never dialled, the transport answers in-process."""

Answer = Callable[[httpx.Request], "httpx.Response | Awaitable[httpx.Response | None] | None"]
"""Answers a request itself (a response), or lets it through to the app (``None``); may be async."""


@dataclass(frozen=True)
class SentRequest:
    """One request as the client sent it, without its secret."""

    method: str
    path: str
    params: httpx.QueryParams
    """The query, repeated keys kept: ``dict(params)`` for single values, ``params.multi_items()`` for all."""
    json: Any
    """The decoded JSON body, or ``None`` when the body is empty or not JSON."""
    content: bytes
    auth_scheme: str | None
    """The first word of the ``Authorization`` header (``Bearer``, ``Token``...); the credential is dropped."""

    @classmethod
    def of(cls, request: httpx.Request) -> SentRequest:
        """The record of ``request`` (its body read)."""
        content = request.read()
        try:
            body = json.loads(content) if content else None
        except ValueError:
            body = None
        authorization = request.headers.get("authorization")
        scheme = authorization.split(" ", 1)[0] if authorization else None
        return cls(request.method, request.url.path, request.url.params, body, content, scheme)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends into ``app`` in-process and records every request in :attr:`requests`.

    ``answer`` (optional, sync or async) sees each request first: a response it returns is the answer,
    ``None`` lets the request through to ``app``. Without an ``app`` it must answer every request.
    A connection reset inside the app (``ConnectionResetError``, as the sandbox's ``reset`` fault
    raises) reaches the client as ``httpx.ReadError``, as it would over a network.

        transport = RecordingTransport(app, answer=lambda r: httpx.Response(503) if r.method == "POST" else None)
    """

    def __init__(self, app: ASGIApp | None = None, *, answer: Answer | None = None) -> None:
        self.inner = httpx.ASGITransport(app=app) if app is not None else None
        self.answer = answer
        self.requests: list[SentRequest] = []
        self.in_flight = 0
        self.most_in_flight = 0
        """The most requests that were being answered at once."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record ``request``, then answer it with ``answer``'s response if it gives one, else the app's."""
        self.requests.append(SentRequest.of(request))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            given = self.answer(request) if self.answer is not None else None
            answer = await given if inspect.isawaitable(given) else given
            return answer if answer is not None else await self.forward(request)
        finally:
            self.in_flight -= 1

    async def forward(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app without recording it (for an ``answer`` that bends a request)."""
        if self.inner is None:
            raise AssertionError(f"no app and no answer for {request.method} {request.url.path}")
        try:
            return await self.inner.handle_async_request(request)
        except ConnectionResetError as exc:
            raise httpx.ReadError(str(exc), request=request) from None

    def paths(self, prefix: str = "") -> list[str]:
        """``"METHOD /path"`` of every request, in order, ``prefix`` (a vendor's mount) cut off the paths."""
        return [f"{sent.method} {sent.path.removeprefix(prefix)}" for sent in self.requests]

    def clear(self) -> None:
        """Forget the requests recorded so far."""
        self.requests.clear()
        self.most_in_flight = 0


async def _no_wait(seconds: float) -> None:
    """Stands in for ``asyncio.sleep`` between retries: a test never waits."""


def _connection(vendor: str, token: str | None, update: dict[str, Any] | None) -> Connection:
    connection = sandbox_connection(vendor, SANDBOX_URL, SandboxConfig().token if token is None else token)
    return connection.model_copy(update=update) if update else connection


async def arun_in_sandbox(
    action: str,
    input: dict[str, Any] | None = None,
    *,
    vendor: str,
    transport: httpx.AsyncBaseTransport,
    token: str | None = None,
    connection_update: dict[str, Any] | None = None,
    **options: Any,
) -> Envelope:
    """Run ``action`` on ``vendor``'s sandbox connection through ``transport``; its envelope.

    ``token`` defaults to the sandbox's; ``connection_update`` changes fields of the connection
    (``{"options": {...}}``, ``{"rate_limit": RateLimit(...)}``). ``options`` go to
    :func:`connector.api.arun_action` (``dry_run``, ``host``...); ``sleep`` defaults to no wait.
    """
    options.setdefault("sleep", _no_wait)
    target = _connection(vendor, token, connection_update)
    return await arun_action(action, input, connection=target, transport=transport, **options)


def run_in_sandbox(
    action: str,
    input: dict[str, Any] | None = None,
    *,
    vendor: str,
    transport: httpx.AsyncBaseTransport,
    token: str | None = None,
    connection_update: dict[str, Any] | None = None,
    **options: Any,
) -> Envelope:
    """Synchronous :func:`arun_in_sandbox`.

        envelope = run_in_sandbox("get_event", {"id": "..."}, vendor="nameshield", transport=transport)
    """
    return run_sync(arun_in_sandbox(
        action, input, vendor=vendor, transport=transport, token=token, connection_update=connection_update,
        **options,
    ))


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The sandbox :func:`sandbox_transport` serves: every vendor, seeded, rate limits off (override to shape it)."""
    return SandboxConfig(rate_limits=False)


@pytest.fixture
def sandbox_transport(sandbox_config: SandboxConfig) -> RecordingTransport:
    """A recording transport into a fresh in-process sandbox built from ``sandbox_config``."""
    return RecordingTransport(build_app(sandbox_config))
