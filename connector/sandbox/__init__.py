"""The embedded sandbox: simulators of the four vendor APIs behind one loopback server.

Each vendor's simulator lives in ``connector/sandbox/<vendor>`` and exposes ``create_app(*, seed,
size, token, rate_limit)``; :func:`build_app` mounts them under ``/<vendor>`` (SentinelOne's threats are
at ``/sentinelone/web/api/v2.1/threats``) behind :class:`~connector.sandbox.faults.FaultInjector`, each
behind :class:`~connector.sandbox.messy.MessyRecords` when ``messy`` asks for damaged records.
:func:`running_sandbox` serves that app with uvicorn on an ephemeral port for the duration of a
``with`` block; :func:`serve` serves it until interrupted (the ``connector sandbox`` command).
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from connector.sandbox.common import json_response
from connector.sandbox.faults import ErrorBody, FaultInjector, FaultPlan, uvicorn_reset_handler
from connector.sandbox.messy import MessyRecords

__all__ = [
    "DEFAULT_SIZES", "VENDORS", "FaultPlan", "SandboxConfig", "build_app", "running_sandbox", "serve", "serving",
]

VENDORS = ("sentinelone", "mysecutec", "nameshield", "ciso_assistant")
"""The simulated vendors, each mounted under ``/<vendor>``."""

DEFAULT_SIZES: Mapping[str, int] = {
    "sentinelone": 2500, "mysecutec": 600, "nameshield": 400, "ciso_assistant": 60,
}
"""How many seeded records each simulator holds unless ``SandboxConfig.sizes`` says otherwise."""


class PlainServer(TypedDict):
    """The sandbox's uvicorn, whatever else is installed: asyncio's loop and the pure-Python h11
    parser, which its faults (a reset connection, a cut body) are written against."""

    loop: Literal["asyncio"]
    http: Literal["h11"]


PLAIN_SERVER = PlainServer(loop="asyncio", http="h11")

_STARTUP_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes a sandbox run; the same config always serves the same data.

    ``sizes`` may name only some vendors (the others keep their defaults); ``vendors`` restricts
    which simulators are mounted.
    """

    seed: int = 7
    sizes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SIZES))
    token: str = "sandbox-token"
    faults: FaultPlan | None = None
    latency_s: float = 0.0
    rate_limits: bool = True
    vendors: tuple[str, ...] = VENDORS
    messy: float = 0.0
    """The share of each vendor's records served with real-world damage (:mod:`.messy`)."""

    def __post_init__(self) -> None:
        unknown = sorted((set(self.sizes) | set(self.vendors)) - set(VENDORS))
        if unknown:
            raise ValueError(f"sandbox: unknown vendor(s) {', '.join(unknown)} (known: {', '.join(VENDORS)})")
        if any(size < 0 for size in self.sizes.values()):
            raise ValueError("sandbox: sizes must be zero or more")
        if self.latency_s < 0:
            raise ValueError("sandbox: latency_s must be zero or more")
        if not 0 <= self.messy <= 1:
            raise ValueError("sandbox: messy must be a share between 0 and 1")

    def size_for(self, vendor: str) -> int:
        """The number of seeded records for ``vendor``."""
        return self.sizes.get(vendor, DEFAULT_SIZES[vendor])


def _sentinelone_error(path: str, status: int, title: str) -> bytes:
    return orjson.dumps({"errors": [{"code": status * 10000 + 10, "detail": title, "title": title}]})


def _detail_error(path: str, status: int, title: str) -> bytes:
    return orjson.dumps({"detail": title})


def _message_error(path: str, status: int, title: str) -> bytes:
    return orjson.dumps({"message": title})


# Injected errors speak each vendor's error dialect, so a client's error parsing is exercised too.
_ERROR_STYLES: Mapping[str, ErrorBody] = {
    "sentinelone": _sentinelone_error,
    "mysecutec": _detail_error,
    "nameshield": _message_error,
    "ciso_assistant": _detail_error,
}


def _vendor_error_body(path: str, status: int, title: str) -> bytes:
    vendor = path.strip("/").split("/", 1)[0]
    return _ERROR_STYLES.get(vendor, _detail_error)(path, status, title)


def build_app(config: SandboxConfig) -> FaultInjector:
    """The sandbox ASGI app: every configured vendor mounted under ``/<vendor>``, behind fault injection.

    Vendor modules are imported here, by name, so a missing simulator fails only the build that needs it.
    """
    mounts = []
    for vendor in config.vendors:
        module = importlib.import_module(f"connector.sandbox.{vendor}")
        app = module.create_app(
            seed=config.seed, size=config.size_for(vendor), token=config.token, rate_limit=config.rate_limits
        )
        if config.messy:
            app = MessyRecords(app, vendor, config.messy, config.seed)
        mounts.append(Mount(f"/{vendor}", app=app))

    async def index(request: Request) -> Response:
        mounted = {vendor: f"/{vendor}" for vendor in config.vendors}
        return json_response({"vendors": mounted, "seed": config.seed})

    root = Starlette(routes=[Route("/", index), *mounts])
    return FaultInjector(
        root, plan=config.faults, seed=config.seed, latency_s=config.latency_s, error_body=_vendor_error_body
    )


def _server(
    config: SandboxConfig, host: str, port: int, *, log_level: str, access_log: bool
) -> uvicorn.Server:
    app = build_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=access_log,
            lifespan="off",
            **PLAIN_SERVER,
            timeout_graceful_shutdown=1,
        )
    )
    app.reset_handler = uvicorn_reset_handler(server.server_state)
    return server


@contextmanager
def running_sandbox(config: SandboxConfig | None = None) -> Iterator[str]:
    """Serve the sandbox on an ephemeral loopback port in a background thread; yields its base URL.

    The server has its own event loop in a daemon thread, so callers may use sync or async clients.
    It is stopped (in-flight requests get a second to finish) when the block exits.
    """
    with _in_thread(_server(config or SandboxConfig(), "127.0.0.1", 0, log_level="warning", access_log=False)) as url:
        yield url


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve any ASGI app like the sandbox (loopback, ephemeral port, background thread): for baselines."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off",
                            **PLAIN_SERVER)
    with _in_thread(uvicorn.Server(config)) as url:
        yield url


@contextmanager
def _in_thread(server: uvicorn.Server) -> Iterator[str]:
    thread = threading.Thread(target=server.run, name="connector-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("sandbox server did not start (see the log above)")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_SHUTDOWN_TIMEOUT_S)


def serve(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 8800,
    *,
    access_log: bool = True,
    sock: socket.socket | None = None,
) -> None:
    """Serve the sandbox in the foreground until interrupted (Ctrl+C); the ``connector sandbox`` command.

    ``sock``, a socket already bound, is served instead of binding ``host:port`` (the command binds
    it first, so a busy port is one line rather than uvicorn's log and exit code 3).
    """
    server = _server(config, host, port, log_level="info", access_log=access_log)
    server.run(sockets=[sock] if sock is not None else None)
