"""Helpers of the event tests: get_threats over three pages of an in-process SentinelOne simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from connector.api import arun_action
from connector.connections import sandbox_connection
from connector.envelope import Envelope
from connector.plugins import Host
from connector.sandbox import FaultPlan, SandboxConfig, build_app

VENDOR = "sentinelone"
THREATS = "/web/api/v2.1/threats"
PAGED = {"vendor_filters": {"limit": 2}}
"""get_threats' input that reads the five seeded threats two at a time: pages of 2, 2 and 1."""
TOKEN = SandboxConfig().token


def simulator(faults: str | None = None, token: str = TOKEN) -> httpx.AsyncBaseTransport:
    """A fresh SentinelOne simulator holding five threats, reached without sockets."""
    config = SandboxConfig(
        sizes={VENDOR: 5}, vendors=(VENDOR,), rate_limits=False, token=token,
        faults=FaultPlan.parse(faults) if faults else None,
    )
    return Interleaving(httpx.ASGITransport(app=build_app(config)))


class Interleaving(httpx.AsyncBaseTransport):
    """Hands the event loop over before each request, as a network would, so runs gathered together interleave.

    (The in-process ASGI transport answers without ever suspending: gathered runs would run one after the other.)
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Yield once, then let the simulator answer."""
        await asyncio.sleep(0)
        return await self.inner.handle_async_request(request)


async def no_sleep(seconds: float) -> None:
    """Stands in for asyncio.sleep: a retry's Retry-After is not waited for."""


async def paged_run(
    host: Host, transport: httpx.AsyncBaseTransport, document: dict[str, Any] = PAGED, token: str = TOKEN,
    **options: Any,
) -> Envelope:
    """get_threats on the simulator behind ``transport``, with ``host``'s plugins watching."""
    connection = sandbox_connection(VENDOR, "http://127.0.0.1:9", token)
    return await arun_action(
        "get_threats", document, connection=connection, host=host, transport=transport, sleep=no_sleep, **options
    )
