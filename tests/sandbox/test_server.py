"""The sandbox server: mounting, the real loopback server, fault and latency injection, fault specs."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from typing import Any

import httpx
import orjson
import pytest

from connector.sandbox import VENDORS, SandboxConfig, build_app, running_sandbox
from connector.sandbox.faults import FaultInjector, FaultPlan

AUTH = {"Authorization": "ApiToken sandbox-token"}
THREATS = "/sentinelone/web/api/v2.1/threats"
SMALL = {"sentinelone": 30, "mysecutec": 20, "nameshield": 20, "ciso_assistant": 10}


def _config(spec: str | None = None, **options: Any) -> SandboxConfig:
    """A SentinelOne-only sandbox (fast to build) with the given fault spec."""
    faults = FaultPlan.parse(spec) if spec else None
    return SandboxConfig(vendors=("sentinelone",), sizes={"sentinelone": 30}, faults=faults, **options)


def _in_process(app: FaultInjector, paths: list[str]) -> list[httpx.Response]:
    """GET each path in order against the app, without sockets."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(run())


def test_running_sandbox_serves_on_loopback_then_stops() -> None:
    with running_sandbox(_config()) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, headers=AUTH) as client:
            assert client.get("/").json() == {"vendors": {"sentinelone": "/sentinelone"}, "seed": 7}
            answer = client.get(THREATS, params={"limit": 3})
            assert answer.status_code == 200 and answer.json()["pagination"]["totalItems"] == 30
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url, timeout=2)


def test_build_app_mounts_every_vendor_under_its_name() -> None:
    app = build_app(SandboxConfig(sizes=SMALL))
    mounted = [route.path for route in app.app.routes]  # type: ignore[attr-defined]
    assert mounted == ["/", *(f"/{vendor}" for vendor in VENDORS)]
    (index, info) = _in_process(app, ["/", "/sentinelone/web/api/v2.1/system/info"])
    assert index.json()["vendors"] == {vendor: f"/{vendor}" for vendor in VENDORS}
    assert info.status_code == 200 and info.json()["data"]["version"]


def test_a_missing_simulator_fails_only_the_build_that_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "connector.sandbox.nameshield", None)  # makes its import fail
    assert build_app(_config()).app is not None
    with pytest.raises(ModuleNotFoundError):
        build_app(SandboxConfig(sizes=SMALL))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown vendor"):
        SandboxConfig(sizes={"crowdstrike": 5})
    with pytest.raises(ValueError, match="latency_s"):
        SandboxConfig(latency_s=-1)
    assert SandboxConfig(sizes={"nameshield": 5}).size_for("sentinelone") == 2500


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "retry_after"),
    [
        ("429", 429, "application/json", "1"),
        ("500", 500, "application/json", None),
        ("502", 502, "application/json", None),
        ("503", 503, "application/json", "1"),
        ("html", 502, "text/html", None),
        ("html200", 200, "text/html; charset=utf-8", None),
    ],
)
def test_error_faults_over_loopback(
    kind: str, status: int, content_type: str, retry_after: str | None
) -> None:
    with (
        running_sandbox(_config(f"{kind}@1")) as base_url,
        httpx.Client(base_url=base_url, headers=AUTH) as client,
    ):
        faulty, normal = client.get(THREATS), client.get(THREATS)
    assert (faulty.status_code, faulty.headers["content-type"]) == (status, content_type)
    assert faulty.headers.get("retry-after") == retry_after
    if content_type == "application/json":
        (error,) = faulty.json()["errors"]  # SentinelOne's own error shape
        assert error["code"] == status * 10000 + 10 and error["title"]
    else:
        assert faulty.text.lstrip().lower().startswith(("<html", "<!doctype html"))
    assert normal.status_code == 200 and len(normal.json()["data"]) == 10


def test_reset_fault_is_a_transport_error_over_loopback() -> None:
    with (
        running_sandbox(_config("reset@2")) as base_url,
        httpx.Client(base_url=base_url, headers=AUTH) as client,
    ):
        assert client.get(THREATS).status_code == 200
        with pytest.raises(httpx.TransportError):
            client.get(THREATS)
        assert client.get(THREATS).status_code == 200


def test_reset_fault_in_process_raises_connection_reset() -> None:
    with pytest.raises(ConnectionResetError):
        _in_process(build_app(_config("reset@1")), [THREATS])


def test_truncated_fault_cuts_the_json_in_half() -> None:
    with (
        running_sandbox(_config("truncated@1")) as base_url,
        httpx.Client(base_url=base_url, headers=AUTH) as client,
    ):
        cut, whole = client.get(THREATS), client.get(THREATS)
    assert cut.status_code == 200 and cut.headers["content-type"] == "application/json"
    assert int(cut.headers["content-length"]) == len(cut.content) == len(whole.content) // 2
    assert whole.content.startswith(cut.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


def test_slow_fault_delays_the_real_answer() -> None:
    config = dataclasses.replace(_config(), faults=FaultPlan.parse("slow@1-2", slow_s=0.3))
    with running_sandbox(config) as base_url, httpx.Client(base_url=base_url, headers=AUTH) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(THREATS, timeout=0.05)
        started = time.monotonic()
        answer = client.get(THREATS, timeout=5)
        assert time.monotonic() - started >= 0.3
        assert answer.status_code == 200 and len(answer.json()["data"]) == 10


def test_latency_is_added_to_every_request() -> None:
    app = build_app(_config(latency_s=0.05))
    started = time.monotonic()
    answers = _in_process(app, ["/", "/", "/"])
    assert time.monotonic() - started >= 0.15
    assert [answer.status_code for answer in answers] == [200, 200, 200]


def test_injected_errors_speak_each_vendors_dialect() -> None:
    app = build_app(_config("503@1-3"))
    paths = ["/ciso_assistant/api/incidents/", "/nameshield/cti/v2/events", "/mysecutec/api/threats"]
    bodies = [answer.json() for answer in _in_process(app, paths)]
    assert bodies == [
        {"detail": "Service Unavailable"},
        {"message": "Service Unavailable"},
        {"detail": "Service Unavailable"},
    ]


def test_fault_plan_parses_rates_and_schedules() -> None:
    plan = FaultPlan.parse(" 429:0.1, 503:0.05 ,reset@4,500@7-9")
    assert plan.rates == (("429", 0.1), ("503", 0.05))
    assert plan.schedule == ((4, 4, "reset"), (7, 9, "500"))
    assert [plan.fault_for(n, seed=1) for n in (4, 7, 8, 9)] == ["reset", "500", "500", "500"]
    full = FaultPlan.parse("429:0.1,503:0.05,reset:0.02,slow:0.01,truncated:0.01,html:0.01,500:0.02,502:0.02")
    assert sum(rate for _, rate in full.rates) == pytest.approx(0.24)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("429", "'429': expected KIND:RATE"),
        ("418:0.1", "unknown kind '418'"),
        ("429:lots", "rate 'lots' is not a number"),
        ("429:1.5", "between 0 and 1"),
        ("429:0.1,,503:0.1", "item ''"),
        ("429:0.6,503:0.6", "add up to 1.2"),
        ("429:0.1,429:0.2", "already has a rate"),
        ("503@0", "start at 1"),
        ("503@5-2", "N <= M"),
        ("503@x", "expected request numbers"),
        ("503@1-3,429@3", "request 3 is scheduled as 503 and 429"),
    ],
)
def test_fault_plan_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="fault spec") as raised:
        FaultPlan.parse(spec)
    assert message in str(raised.value)


def test_fault_sequence_is_reproducible_by_seed() -> None:
    plan = FaultPlan.parse("429:0.1,503:0.05,reset:0.05")
    first = [plan.fault_for(n, seed=7) for n in range(1, 2001)]
    assert first == [plan.fault_for(n, seed=7) for n in range(1, 2001)]
    assert first != [plan.fault_for(n, seed=8) for n in range(1, 2001)]
    assert 150 < first.count("429") < 250 and 50 < first.count("503") < 150 and first.count(None) > 1500


def test_same_seed_same_statuses_end_to_end() -> None:
    def statuses(seed: int) -> list[int]:
        # Without the vendor's rate limit: it counts requests per second of the clock, so on a loaded
        # machine it would answer 429 to fewer of them, and the statuses would follow the machine's speed.
        app = build_app(dataclasses.replace(_config("429:0.2,500:0.2,html:0.1", rate_limits=False), seed=seed))
        return [answer.status_code for answer in _in_process(app, [THREATS] * 30)]

    first = statuses(7)
    assert first == statuses(7) != statuses(8)
    assert {429, 500, 502, 200} <= set(first)
