"""Serving the API: the ``--bind`` address, the listening socket, uvicorn and its graceful stop.

The socket is bound here rather than by uvicorn so that a busy port or an unknown host is one line
and exit 2 instead of a log record; plain http is served only on loopback, like connections refuse
plain http to anything else (:meth:`connector.connections.Connection.check_transport_security`).
"""

from __future__ import annotations

import signal
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp

from connector.connections import is_loopback
from connector.errors import BadInput, ConfigError

GRACEFUL_STOP_S = 30
"""How long a stop waits for runs in flight before it cuts them."""


@dataclass(frozen=True)
class Bind:
    """Where to listen: a host name or address, and a port (0: any free one)."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """True when only this machine can connect."""
        return is_loopback(self.host)

    def url(self, port: int, tls: bool) -> str:
        """The base URL callers use once the server listens on ``port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if tls else 'http'}://{host}:{port}"


def parse_bind(text: str) -> Bind:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as a :class:`Bind`; BadInput naming ``--bind`` otherwise."""
    refusal = BadInput(f"--bind: {text!r} is not HOST:PORT like 127.0.0.1:8080 (port 0 to 65535)")
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port
    except ValueError:
        raise refusal from None
    if not parts.hostname or port is None or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise refusal
    return Bind(parts.hostname, port)


def check_transport(bind: Bind, tls: bool) -> None:
    """Refuse plain http on anything but loopback: the bearer token would cross the network in clear."""
    if not bind.loopback and not tls:
        raise ConfigError(
            f"--bind {bind.host}: plain http off loopback is refused (give --tls-cert and --tls-key, "
            "or bind 127.0.0.1 behind a TLS proxy)"
        )


def listening_socket(bind: Bind, option: str = "--bind") -> socket.socket:
    """A TCP socket bound to ``bind``; ConfigError (one line, naming ``option``) when the host is
    unknown or the port taken."""
    sock: socket.socket | None = None
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            bind.host, bind.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, protocol)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise ConfigError(f"{option} {bind.host}:{bind.port}: cannot listen: {exc.strerror or exc}") from None
    return sock


def serve(
    app: ASGIApp, sock: socket.socket, *, tls: tuple[Path, Path] | None, started: Callable[[int], None]
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM, then stop gracefully; ``started(port)`` once listening."""
    config = uvicorn.Config(
        app,
        # Through the root logger, so connector's handler (and its redaction filter) writes every line.
        log_config=None,
        lifespan="on",  # the app closes the clients it kept on shutdown
        # loop and http stay "auto": uvloop and httptools, dependencies both (asyncio and h11 where absent).
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    try:
        config.load()
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"--tls-cert/--tls-key: cannot load them: {getattr(exc, 'strerror', None) or exc}") from None
    server = _Server(config, lambda: started(sock.getsockname()[1]))

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn installs its own handlers while it runs and, after a graceful stop, raises the signal
    # again to the handler it found: this one, so a stop on SIGTERM ends with exit 0, not a kill.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


class _Server(uvicorn.Server):
    """uvicorn's server, telling once it listens (uvicorn logs nothing when given a socket)."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then announce it."""
        await super().startup(sockets=sockets)
        if self.started:
            self._started()
