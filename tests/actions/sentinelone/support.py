"""Helpers of the SentinelOne action tests, on connector.testing's recording transport."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from connector.connections import Connection, sandbox_connection
from connector.envelope import Envelope
from connector.sandbox import SandboxConfig, build_app
from connector.testing import SANDBOX_URL, RecordingTransport, run_in_sandbox

VENDOR = "sentinelone"
TOKEN = SandboxConfig().token
CONFIG = SandboxConfig(rate_limits=False, vendors=(VENDOR,), sizes={VENDOR: 60})
UNKNOWN = "999999999999999999"


def connection(token: str = TOKEN) -> Connection:
    """The sandbox connection, as an in-process transport sees it."""
    return sandbox_connection(VENDOR, SANDBOX_URL, token)


def fresh() -> RecordingTransport:
    """A recording transport into a fresh SentinelOne simulator."""
    return RecordingTransport(build_app(CONFIG))


def run(transport: httpx.AsyncBaseTransport, action: str, input: dict[str, Any], **options: Any) -> Envelope:
    """Run ``action`` on the SentinelOne sandbox connection through ``transport``."""
    return run_in_sandbox(action, input, vendor=VENDOR, transport=transport, **options)


def threats(transport: RecordingTransport, **filters: Any) -> list[dict[str, Any]]:
    """get_threats with ``filters``; the threats it returned."""
    envelope = run(transport, "get_threats", filters)
    assert envelope.status == "success", envelope.errors
    found: list[dict[str, Any]] = envelope.output["threats"]
    return found


def ids_in(transport: RecordingTransport, status: str, count: int) -> list[str]:
    """Ids of ``count`` threats now in the common ``status``."""
    found = [threat["vendor_id"] for threat in threats(transport, status=[status], limit=count)]
    assert len(found) == count
    return found


def tamper(transport: RecordingTransport, path: str, how: str) -> list[str]:
    """Make ``transport`` bend the POSTs to ``path``; the ids it dropped (filled as they are).

    ``drop``: the last id is left out of the filter (SentinelOne affects one fewer than sent);
    ``fail_after``: the change is applied, then a 500 answered; ``fail_before``: a 500, nothing applied.
    """
    dropped: list[str] = []

    async def bend(request: httpx.Request) -> httpx.Response | None:
        if request.method != "POST" or not request.url.path.endswith(path):
            return None
        failure = {"code": 5000010, "detail": "boom", "title": "Server Error"}
        error = httpx.Response(500, json={"errors": [failure]})
        if how == "fail_before":
            return error
        body = orjson.loads(request.content)
        if how == "drop":
            dropped.append(body["filter"]["ids"].pop())
        headers = {key: value for key, value in request.headers.items() if key != "content-length"}
        answer = await transport.forward(httpx.Request("POST", request.url, headers=headers, json=body))
        await answer.aread()
        return error if how == "fail_after" else answer

    transport.answer = bend
    return dropped


def by_id(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Common threats keyed by vendor id."""
    return {threat["vendor_id"]: threat for threat in found}
