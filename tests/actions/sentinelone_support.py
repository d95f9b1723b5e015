"""Helpers of the SentinelOne action tests: a fresh simulator per test, and transports that misbehave."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from connector.api import run_action
from connector.connections import Connection, sandbox_connection
from connector.envelope import Envelope
from connector.sandbox import SandboxConfig, build_app

VENDOR = "sentinelone"
TOKEN = SandboxConfig().token
CONFIG = SandboxConfig(rate_limits=False, vendors=(VENDOR,), sizes={VENDOR: 60})
UNKNOWN = "999999999999999999"


def connection(token: str = TOKEN) -> Connection:
    """The sandbox connection, as an in-process transport sees it."""
    return sandbox_connection(VENDOR, "http://127.0.0.1:9", token)


class Sandbox:
    """A fresh in-process SentinelOne simulator, and actions run against it without sockets."""

    def __init__(self) -> None:
        self.transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=build_app(CONFIG))

    def run(self, action: str, input: dict[str, Any], token: str = TOKEN, **options: Any) -> Envelope:
        """Run ``action`` against this simulator."""
        return run_action(action, input, connection=connection(token), transport=self.transport, **options)

    def threats(self, **filters: Any) -> list[dict[str, Any]]:
        """get_threats with ``filters``; the threats it returned."""
        envelope = self.run("get_threats", filters)
        assert envelope.status == "success", envelope.errors
        threats: list[dict[str, Any]] = envelope.output["threats"]
        return threats

    def ids(self, status: str, count: int) -> list[str]:
        """Ids of ``count`` threats now in the common ``status``."""
        found = [threat["vendor_id"] for threat in self.threats(status=[status], limit=count)]
        assert len(found) == count
        return found


class Tampering(httpx.AsyncBaseTransport):
    """Passes requests to the simulator, except POSTs to ``path``, which ``how`` bends.

    ``drop``: the last id is left out of the filter (SentinelOne affects one fewer than sent);
    ``fail_after``: the change is applied, then a 500 answered; ``fail_before``: a 500, nothing applied.
    """

    def __init__(self, sandbox: Sandbox, path: str, how: str) -> None:
        self.inner, self.path, self.how = sandbox.transport, path, how
        self.dropped: list[str] = []
        sandbox.transport = self

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Bend the chosen POSTs; pass everything else through."""
        if request.method != "POST" or not request.url.path.endswith(self.path):
            return await self.inner.handle_async_request(request)
        failure = {"code": 5000010, "detail": "boom", "title": "Server Error"}
        error = httpx.Response(500, json={"errors": [failure]})
        if self.how == "fail_before":
            return error
        body = orjson.loads(request.content)
        if self.how == "drop":
            self.dropped.append(body["filter"]["ids"].pop())
        headers = {key: value for key, value in request.headers.items() if key != "content-length"}
        bent = httpx.Request("POST", request.url, headers=headers, json=body)
        answer = await self.inner.handle_async_request(bent)
        await answer.aread()
        return error if self.how == "fail_after" else answer


def refusing_transport(sent: list[httpx.Request]) -> httpx.MockTransport:
    """A transport that records and refuses every request: for runs that must send nothing."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise AssertionError(f"sent {request.method} {request.url.path}")

    return httpx.MockTransport(handler)


def by_id(threats: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Common threats keyed by vendor id."""
    return {threat["vendor_id"]: threat for threat in threats}
