"""`connector serve`: the latency of a one-record action against a warm client's bare request (issue 24 target 1).

``connector serve`` runs as a child process, as a SOAR runs it, with a connections file naming the
sandbox (a child process too) and a rate limit far above the load; both servers share one core, the
client runs on the others. One warm httpx client sends, alternately
(:func:`benchmarks.method.alternate`), ``POST /v1/actions/get-threats/run`` for one record and the
bare ``GET`` of one threat from the same sandbox; each request is one sample. The rows give the
median and the 99th percentile of both.
Beside them, what no served action can go below: the server's own round trip (``GET /healthz``)
and the same bare GET sent with the client serve keeps (httpx on aiohttp, :mod:`connector.pool`), as a
served run sends it.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.method import Samples, alternate
from benchmarks.processes import CONNECTOR, ROOT, Measured, free_port
from benchmarks.report import Row
from benchmarks.servers import THREATS, ChildServer, in_child_process, pin_to_server_core, serve_sandbox
from connector.pool import KeptClient

REQUESTS = int(os.environ.get("BENCH_SERVED", "200"))
CPU_REQUESTS = 5 * REQUESTS
"""Requests of each kind the CPU rows count over: the kernel counts CPU time in 10 ms ticks."""
MEDIAN_TARGET = 3.0
P99_TARGET = 5.0
TOKEN = "bench-serve-token-0123456789"
SECRET_ENV = "BENCH_SERVE_S1_TOKEN"
BARE = "warm httpx, bare GET of 1 threat"
HEALTH = "serve: its own round trip, GET /healthz"
ASYNC = "serve's kept client (httpx on aiohttp), the same bare GET on serve's event loop"
SERVE_CPU = "serve: CPU per one-record get_threats (µs, the serve process)"
HEALTH_CPU = "the same per GET /healthz"
ASYNC_CPU = "serve's kept client: CPU per bare GET of 1 threat (µs, serve's event loop)"
SETTLED_S = 3600
"""How old the connections file is made to look: as a deployed one is, not one written a moment ago."""


@contextmanager
def served(sandbox_url: str, folder: Path) -> Iterator[ChildServer]:
    """``connector serve`` with a connection ``s1`` to the sandbox; yields it once it answers."""
    config, token_file = folder / "connections.yaml", folder / "token"
    config.write_text(f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {sandbox_url}/sentinelone\n"
                      f"    secret: env:{SECRET_ENV}\n    retries: 0\n"
                      # SentinelOne's documented 10 requests/s would pace back-to-back requests 100 ms
                      # apart: latency is measured here, not the vendor's limit.
                      "    rate_limit: {requests: 100000, per_seconds: 1}\n")
    settled = time.time() - SETTLED_S
    os.utime(config, (settled, settled))
    token_file.write_text(TOKEN)
    port = free_port()
    command = [CONNECTOR, "serve", "--bind", f"127.0.0.1:{port}", "--config", str(config),
               "--token-file", str(token_file)]
    env = {**os.environ, SECRET_ENV: "sandbox-token"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    pin_to_server_core(process.pid)  # a server beside the sandbox, off the client's cores
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("connector serve did not start") from None
                time.sleep(0.05)
        yield ChildServer(url, process.pid)
    finally:
        process.terminate()
        process.wait(10)


def timed(send: Callable[[], httpx.Response]) -> Callable[[], Measured]:
    """A measure of one request: its wall time; CPU and memory are not measured per request (NaN)."""

    def measure() -> Measured:
        started = time.perf_counter()
        answer = send()
        seconds = time.perf_counter() - started
        answer.raise_for_status()
        return Measured(seconds, math.nan, math.nan, 0)

    return measure


def p99_ms(samples: Samples) -> float:
    """The 99th percentile of the samples' wall times, in ms."""
    walls = [run.seconds for run in samples.runs]
    return statistics.quantiles(walls, n=100, method="inclusive")[98] * 1000


def rows() -> list[Row]:
    """The median and the 99th percentile of a served one-record get_threats against a bare request, and its floors."""
    loop = _serve_loop()
    with (
        tempfile.TemporaryDirectory() as temporary,
        in_child_process(serve_sandbox) as sandbox,
        served(sandbox.url, Path(temporary)) as server,
        httpx.Client(timeout=30) as client,
    ):
        api = server.url
        body = {"input": {"limit": 1}, "connection": "s1"}
        one, auth = {"limit": "1"}, {"Authorization": "ApiToken sandbox-token"}
        async_client = KeptClient(timeout=30)
        action = timed(lambda: client.post(f"{api}/v1/actions/get-threats/run", json=body,
                                           headers={"Authorization": f"Bearer {TOKEN}"}))
        bare = timed(lambda: client.get(f"{sandbox.url}{THREATS}", params=one, headers=auth))
        health = timed(lambda: client.get(f"{api}/healthz"))
        bare_async = timed(lambda: loop.run_until_complete(
            async_client.get(f"{sandbox.url}{THREATS}", params=one, headers=auth)))
        block = alternate({"served": action, "bare": bare, "health": health, "async": bare_async}, REQUESTS)
        # Where serve's CPU goes: each kind of request again on its own, the CPU counted around it.
        cpu = {"served": _cpu_us(server.cpu_seconds, _each(action)),
               "health": _cpu_us(server.cpu_seconds, _each(health)),
               "async": _cpu_us(_own_cpu_seconds, lambda: loop.run_until_complete(
                   _gets(async_client, f"{sandbox.url}{THREATS}", one, auth)))}
        loop.run_until_complete(async_client.aclose())
    loop.close()
    median = block["served"].seconds * 1000, block["bare"].seconds * 1000
    tail = p99_ms(block["served"]), p99_ms(block["bare"])
    reliable = block.mark("served", "bare")
    name = f"serve: one-record get_threats over {REQUESTS} requests"
    return [
        Row(f"{name}, median ms", median[0], BARE, median[1], f"<= {MEDIAN_TARGET:g}x",
            median[0] <= MEDIAN_TARGET * median[1], reliable=reliable),
        Row(f"{name}, p99 ms", tail[0], BARE, tail[1], f"<= {P99_TARGET:g}x",
            tail[0] <= P99_TARGET * tail[1], reliable=reliable),
        Row(f"{HEALTH}, median ms", block["health"].seconds * 1000, BARE, median[1],
            reliable=block.mark("health", "bare")),
        Row(f"{ASYNC}, median ms", block["async"].seconds * 1000, BARE, median[1],
            reliable=block.mark("async", "bare")),
        Row(SERVE_CPU, cpu["served"], f"{HEALTH_CPU}", cpu["health"]),
        Row(ASYNC_CPU, cpu["async"], SERVE_CPU, cpu["served"]),
    ]


def _cpu_us(cpu_seconds: Callable[[], float | None], requests: Callable[[], object]) -> float:
    """The CPU time (µs) that ``cpu_seconds`` counts per request while ``requests`` sends CPU_REQUESTS."""
    before = cpu_seconds()
    requests()
    after = cpu_seconds()
    return math.nan if before is None or after is None else (after - before) / CPU_REQUESTS * 1e6


def _each(send: Callable[[], Measured]) -> Callable[[], object]:
    return lambda: [send() for _ in range(CPU_REQUESTS)]


async def _gets(client: httpx.AsyncClient, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
    """CPU_REQUESTS GETs on one running loop, as serve's requests are sent."""
    for _ in range(CPU_REQUESTS):
        (await client.get(url, params=params, headers=headers)).raise_for_status()


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve_loop() -> asyncio.AbstractEventLoop:
    """An event loop of the kind `connector serve` runs on (uvicorn's pick: uvloop where it is installed)."""
    try:
        import uvloop
    except ImportError:  # Windows: asyncio's, as serve's there
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def what_bounds(rows: list[Row]) -> list[str]:
    """What bounds the median target when it is not met, from the measured ``rows``."""
    served, _, health, sent, serve_cpu, client_cpu = rows
    if served.met:
        return []
    extra = sent.value - served.baseline_value
    floor = served.baseline_value + extra + health.value
    run_cpu = serve_cpu.value - serve_cpu.baseline_value - client_cpu.value
    return [
        f"- A served action pays the server's round trip ({health.value:.2f} ms for `/healthz` alone) and a vendor "
        f"request sent with the client serve keeps ({extra:+.2f} ms against the sync client's bare request): "
        f"{floor:.2f} ms, {floor / served.baseline_value:.2f}x the bare request, before the run's own work "
        f"({served.value - floor:.2f} ms: the body, the run, the envelope written).",
        f"- In CPU: serve spends {serve_cpu.value:.0f} µs on a served action, of which {serve_cpu.baseline_value:.0f} "
        f"go to what `/healthz` costs too (uvicorn, Starlette, the middleware) and {client_cpu.value:.0f} to what "
        f"serve's kept client spends on the bare GET; {run_cpu:.0f} µs are left for the run: the body read and "
        f"checked, the input and output checked, the mapping, the events, the envelope written, and httpx's "
        f"request building and cookie handling.",
    ]
