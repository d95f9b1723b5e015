"""The servers a benchmark measures, each run in a child process pinned to one core.

They live in their own module because child processes are spawned and must import their target
by name (a package's ``__main__`` cannot be re-imported that way).

:func:`serve_threat_stream` is BENCH-ONLY: not a simulator, but a SentinelOne ``GET /threats`` that
repeats a few real-size template threats (about 4.5 KB each, from the sandbox's generator) with fresh
ids, so it serves a million threats at the cost of a string join per page. The number of threats is
the first step of the path (``http://host:port/200000`` is what ``--sandbox-url`` gets), so one
server answers every size.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connector.sandbox import PLAIN_SERVER, SandboxConfig, serve
from connector.sandbox.sentinelone.data import SeededThreats

THREATS = "/sentinelone/web/api/v2.1/threats"
SIZE = 5000
SANDBOX = SandboxConfig(rate_limits=False, sizes={"sentinelone": SIZE}, vendors=("sentinelone",))


SERVER_CORE = "BENCH_SERVER_CORE"
"""The core servers run on, as :func:`keep_off_first_core` leaves it for the children it starts: they
inherit the client's affinity, so the lowest core they may run on would be one of the client's."""


def server_core() -> int | None:
    """The core servers run on: the machine's first, or None where affinity is not supported."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return int(os.environ.get(SERVER_CORE, min(os.sched_getaffinity(0))))


def keep_off_first_core() -> None:
    """Move the calling process (the benchmark's client) off the servers' core, when there are others."""
    core, cores = server_core(), os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if core is not None and cores - {core}:
        os.environ[SERVER_CORE] = str(core)
        os.sched_setaffinity(0, cores - {core})


def pin_to_server_core(pid: int = 0) -> None:
    """Pin process ``pid`` (0: this one) to the servers' core."""
    core = server_core()
    if core is not None:
        os.sched_setaffinity(pid, {core})


def serve_sandbox(port: int) -> None:
    """The sandbox as ``connector sandbox`` serves it: SentinelOne only, rate limits off."""
    pin_to_server_core()
    serve(SANDBOX, port=port, access_log=False)


def serve_static(port: int, body: bytes) -> None:
    """The floor: a bare Starlette app answering the threats path with ``body`` from memory."""

    async def page(request: Request) -> Response:
        return Response(body, media_type="application/json")

    pin_to_server_core()
    uvicorn.run(Starlette(routes=[Route(THREATS, page)]), host="127.0.0.1", port=port, log_level="warning",
                **PLAIN_SERVER)


def serve_config(port: int, config: SandboxConfig) -> None:
    """The sandbox as ``connector sandbox`` serves it, with any config (sizes, latency, vendors)."""
    pin_to_server_core()
    serve(config, port=port, access_log=False)


STREAM_TEMPLATES = 64
_TEMPLATE_ID = b"__BENCH_ID__"


def stream_templates() -> list[list[bytes]]:
    """Real-size threats serialised once, split around their id so a fresh one is a join."""
    seeded = SeededThreats(7, STREAM_TEMPLATES)
    templates = []
    for index in range(STREAM_TEMPLATES):
        threat = seeded.threat(index)
        threat["id"] = threat["threatInfo"]["threatId"] = _TEMPLATE_ID.decode()
        templates.append(orjson.dumps(threat, option=orjson.OPT_SORT_KEYS).split(_TEMPLATE_ID))
    return templates


def serve_threat_stream(port: int) -> None:
    """BENCH-ONLY: ``/<count>/sentinelone/web/api/v2.1/threats`` pages of ``count`` threats by cursor."""
    templates = stream_templates()

    async def threats(request: Request) -> Response:
        count = request.path_params["count"]
        start = int(request.query_params.get("cursor") or 0)
        end = min(count, start + int(request.query_params.get("limit") or 10))
        records = []
        for index in range(start, end):
            threat_id = str(10**17 + index).encode()
            records.append(threat_id.join(templates[index % STREAM_TEMPLATES]))
        pagination = {"totalItems": count, "nextCursor": str(end) if end < count else None}
        body = b'{"data":[' + b",".join(records) + b'],"pagination":' + orjson.dumps(pagination) + b"}"
        return Response(body, media_type="application/json")

    async def index(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    pin_to_server_core()
    app = Starlette(routes=[Route("/", index), Route("/{count:int}" + THREATS, threats)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **PLAIN_SERVER)


@dataclass(frozen=True)
class ChildServer:
    """A server running in a child process: where it answers, and how much CPU it has used so far."""

    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process (Linux /proc), or None where unavailable."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def in_child_process(target: Callable[..., None], *args: object) -> Iterator[ChildServer]:
    """Run ``target(port, *args)`` in a child process; yields it once it answers, stops it after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = multiprocessing.get_context("spawn").Process(target=target, args=(port, *args), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.TransportError:
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("benchmark server did not start") from None
            time.sleep(0.1)
    try:
        yield ChildServer(url, process.pid or 0)
    finally:
        process.terminate()
        process.join(10)
