"""The MySecutec action tests: the seeded threats, runs on a recording simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from connector.connections import RateLimit
from connector.envelope import Envelope
from connector.sandbox import SandboxConfig, build_app
from connector.sandbox.mysecutec.data import build_threats
from connector.testing import RecordingTransport, run_in_sandbox
from connector.vendors.mysecutec import api

VENDOR = "mysecutec"
SIZE = 240
CONFIG = SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,))
TOKEN = CONFIG.token
STORED = build_threats(CONFIG.seed, SIZE)
LIVE = [threat.record for threat in STORED if not threat.deleted]
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def oldest_first(records: list[dict[str, Any]]) -> list[str]:
    """Ids in the order get_threats reads them by default: created_at, then id."""
    return [r["id"] for r in sorted(records, key=lambda r: (r["created_at"], r["id"]))]


def fresh(config: SandboxConfig = CONFIG, delay_s: float = 0.0) -> RecordingTransport:
    """A recording transport into a fresh simulator; ``delay_s`` pauses each request first."""

    async def pause(request: httpx.Request) -> None:
        # A pause lets concurrent requests overlap, as they do over a network.
        await asyncio.sleep(delay_s)

    return RecordingTransport(build_app(config), answer=pause if delay_s else None)


def act(sandbox: RecordingTransport, action: str, document: dict[str, Any], **options: Any) -> Envelope:
    """Run ``action`` against the simulator behind ``sandbox`` (earlier requests kept)."""
    # The simulator runs without its rate limit here, so the client need not keep to 20/s either.
    fast = {"rate_limit": RateLimit(requests=1000)}
    return run_in_sandbox(action, document, vendor=VENDOR, transport=sandbox, connection_update=fast, **options)


def ok(sandbox: RecordingTransport, action: str, document: dict[str, Any], **options: Any) -> dict[str, Any]:
    """The output of a run that must succeed."""
    envelope = act(sandbox, action, document, **options)
    assert envelope.status == "success", envelope.errors
    output: dict[str, Any] = envelope.output
    return output


def queries(sandbox: RecordingTransport, path: str = "/mysecutec/tam/v1/threats/") -> list[dict[str, str]]:
    """The query of each request sent to ``path``."""
    return [dict(r.params) for r in sandbox.requests if r.path == path]


@pytest.fixture
def sandbox() -> RecordingTransport:
    """A fresh simulator."""
    return fresh()


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(api, "PAGE_SIZE", 50)
    return 50


def ids_of(output: dict[str, Any], key: str = "threats") -> list[str]:
    return [item["vendor_id"] for item in output[key]]
