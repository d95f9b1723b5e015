"""connector.testing: the recording sandbox transport, the run helper and the fixtures a plugin author uses."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connector.sandbox import FaultPlan, SandboxConfig, build_app
from connector.testing import RecordingTransport, SentRequest, run_in_sandbox

TOKEN = SandboxConfig().token


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Overrides connector.testing's: a small MySecutec sandbox only."""
    return SandboxConfig(rate_limits=False, vendors=("mysecutec",), sizes={"mysecutec": 12})


def test_the_fixture_records_method_path_query_and_body_never_the_token(sandbox_transport: RecordingTransport) -> None:
    envelope = run_in_sandbox("get_threats", {"limit": 2}, vendor="mysecutec", transport=sandbox_transport)
    assert envelope.status == "success" and len(envelope.output["threats"]) == 2
    (sent,) = sandbox_transport.requests
    assert (sent.method, sent.path, sent.json) == ("GET", "/mysecutec/tam/v1/threats/", None)
    assert sent.auth_scheme == "Bearer"
    assert dict(sent.params) == {"sort": "created_at,id", "limit": "2", "offset": "0"}
    assert TOKEN not in repr(sandbox_transport.requests)
    assert sandbox_transport.paths("/mysecutec") == ["GET /tam/v1/threats/"]


def test_a_json_body_is_decoded(sandbox_transport: RecordingTransport) -> None:
    threat = run_in_sandbox("get_threats", {"limit": 1}, vendor="mysecutec", transport=sandbox_transport)
    vendor_id = threat.output["threats"][0]["vendor_id"]
    sandbox_transport.clear()
    document = {"ids": [vendor_id], "status": "resolved"}
    envelope = run_in_sandbox("update_threat_status", document, vendor="mysecutec", transport=sandbox_transport)
    assert envelope.status == "success", envelope.errors
    sent = sandbox_transport.requests[0]
    assert (sent.method, sent.json) == ("PATCH", {"threat_ids": [vendor_id], "user_status": "solved"})
    assert sent.content.startswith(b"{")


def test_answer_may_answer_a_request_itself_sync_or_async() -> None:
    calls: list[str] = []

    def outage(request: httpx.Request) -> httpx.Response | None:
        calls.append(request.url.path)
        return httpx.Response(503, json={"error": "down"})

    async def through(request: httpx.Request) -> httpx.Response | None:
        await asyncio.sleep(0)
        return None

    app = build_app(SandboxConfig(rate_limits=False, vendors=("nameshield",), sizes={"nameshield": 5}))
    down = RecordingTransport(app, answer=outage)
    failed = run_in_sandbox("get_event", {"id": "2fc25065-5fa1-4766-93a3-471f36599f1d"}, vendor="nameshield",
                            transport=down)
    assert failed.status == "failed" and calls and len(down.requests) == len(calls)
    up = RecordingTransport(app, answer=through)
    listed = run_in_sandbox("list_events", {"limit": 3}, vendor="nameshield", transport=up)
    assert listed.status == "success" and len(listed.output["events"]) == 3
    assert up.paths("/nameshield") == ["GET /cti/v2/events"]


def test_without_an_app_every_request_needs_an_answer() -> None:
    transport = RecordingTransport()
    with pytest.raises(AssertionError, match="no app and no answer for GET /x"):
        asyncio.run(transport.handle_async_request(httpx.Request("GET", "http://test/x")))
    assert transport.requests == [SentRequest("GET", "/x", httpx.QueryParams(), None, b"", None)]


def test_a_reset_in_the_app_is_a_read_error_and_in_flight_is_counted() -> None:
    config = SandboxConfig(rate_limits=False, vendors=("mysecutec",), faults=FaultPlan.parse("reset@1"))
    transport = RecordingTransport(build_app(config))

    async def send() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with pytest.raises(httpx.ReadError):
                await client.get("/mysecutec/tam/v1/threats/", headers={"Authorization": f"Bearer {TOKEN}"})

    asyncio.run(send())
    assert (transport.in_flight, transport.most_in_flight, transport.requests[0].auth_scheme) == (0, 1, "Bearer")
