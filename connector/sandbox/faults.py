"""Fault and latency injection in front of the sandbox's vendor simulators.

A :class:`FaultPlan` says which requests fail and how; :class:`FaultInjector` is the ASGI middleware
that applies it. Requests are numbered from 1 in the order the injector receives them (over the whole
sandbox, every vendor together), and the fault of request *n* depends only on *n*, the plan and the
seed, so a run that sends the same requests in the same order meets the same faults.

Spec syntax (``FaultPlan.parse``), comma-separated items, whitespace ignored::

    KIND:RATE     each request fails this way with probability RATE (0 <= RATE <= 1)
    KIND@N        request number N fails this way
    KIND@N-M      requests N to M (inclusive) fail this way

    e.g. "429:0.1,503:0.05,reset:0.02"  or  "503@1,429@2-3"  or both mixed.

A scheduled request ignores the rates; the rates of all kinds add up to at most 1.

Kinds and what a client observes:

==========  ===================================================================================
429         status 429, ``Retry-After: 1``, the vendor's JSON error body
500, 502    that status with the vendor's JSON error body
503         status 503, ``Retry-After: 1``, the vendor's JSON error body
reset       the TCP connection is reset before any byte of the answer (SO_LINGER 0 then abort,
            so the peer gets an RST): httpx raises ``ReadError``/``RemoteProtocolError``.
            Without a real server (in-process ASGI) the app raises ``ConnectionResetError``.
slow        the answer is the real one, after ``FaultPlan.slow_s`` seconds (2 by default)
truncated   status 200, the real JSON body cut in half (Content-Length matches the cut body,
            so the HTTP message is complete and only the JSON is broken)
html        status 502 with a ``text/html`` gateway error page, as a reverse proxy sends
html200     status 200 with a ``text/html`` sign-in page, as a captive portal or SSO proxy sends
==========  ===================================================================================
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FAULT_KINDS = ("429", "500", "502", "503", "reset", "slow", "truncated", "html", "html200")
"""Every kind a plan may name."""

RETRY_AFTER_S = 1
"""The Retry-After (seconds) of injected 429 and 503 answers: short, so reliability tests stay fast."""

ErrorBody = Callable[[str, int, str], bytes]
"""Builds an injected error's JSON body from (request path, status, reason phrase)."""

ResetHandler = Callable[[Scope], bool]
"""Resets the connection that carries ``scope``; False when it cannot find it."""

_TITLES = {
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}

_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    b"</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>"
    b"<form method=\"post\" action=\"/login\"><input name=\"username\">"
    b"<input name=\"password\" type=\"password\"><button>Sign in</button></form></body></html>\n"
)


def default_error_body(path: str, status: int, title: str) -> bytes:
    """A neutral JSON error body, for paths no vendor style claims."""
    return orjson.dumps({"detail": title, "status": status})


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail and how: per-kind rates plus an explicit schedule of request numbers."""

    rates: tuple[tuple[str, float], ...] = ()
    schedule: tuple[tuple[int, int, str], ...] = ()
    slow_s: float = 2.0

    @classmethod
    def parse(cls, spec: str, *, slow_s: float = 2.0) -> FaultPlan:
        """Read a spec such as ``"429:0.1,503@1-3"`` (syntax in the module docstring); ValueError if bad.

        ``slow_s`` is how long a ``slow`` fault holds its answer.
        """
        if not spec.strip():
            raise ValueError("fault spec is empty: expected items like '429:0.1' or '503@1-3'")
        rates: dict[str, float] = {}
        schedule: list[tuple[int, int, str]] = []
        for raw in spec.split(","):
            item = raw.strip()
            if "@" in item:
                schedule.append(_parse_scheduled(item))
            elif ":" in item:
                kind, rate = _parse_rate(item)
                if kind in rates:
                    raise ValueError(f"fault spec item {item!r}: kind {kind!r} already has a rate")
                rates[kind] = rate
            else:
                raise ValueError(f"fault spec item {item!r}: expected KIND:RATE, KIND@N or KIND@N-M")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"fault spec {spec!r}: the rates add up to {sum(rates.values()):g}, more than 1")
        schedule.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(schedule):
            if start <= end:
                raise ValueError(f"fault spec {spec!r}: request {start} is scheduled as {first} and {second}")
        if slow_s < 0:
            raise ValueError(f"fault spec {spec!r}: slow_s must be zero or more")
        return cls(rates=tuple(rates.items()), schedule=tuple(schedule), slow_s=slow_s)

    def fault_for(self, request_number: int, seed: int) -> str | None:
        """The fault kind of the 1-based ``request_number`` under ``seed``, or None to answer normally."""
        for start, end, kind in self.schedule:
            if start <= request_number <= end:
                return kind
        if not self.rates:
            return None
        # One generator per request number: the decision for request n does not depend on how many
        # earlier requests were decided, only on n, so it is reproducible and random-access.
        draw = random.Random(f"{seed}:fault:{request_number}").random()
        for kind, rate in self.rates:
            if draw < rate:
                return kind
            draw -= rate
        return None


def _parse_kind(kind: str, item: str) -> str:
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault spec item {item!r}: unknown kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
    return kind


def _parse_rate(item: str) -> tuple[str, float]:
    kind, _, text = item.partition(":")
    kind = _parse_kind(kind.strip(), item)
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"fault spec item {item!r}: rate {text.strip()!r} is not a number") from None
    if not (0.0 <= rate <= 1.0) or math.isnan(rate):
        raise ValueError(f"fault spec item {item!r}: rate must be between 0 and 1")
    return kind, rate


def _parse_scheduled(item: str) -> tuple[int, int, str]:
    kind, _, numbers = item.partition("@")
    kind = _parse_kind(kind.strip(), item)
    first, dash, last = numbers.strip().partition("-")
    try:
        start = int(first)
        end = int(last) if dash else start
    except ValueError:
        raise ValueError(f"fault spec item {item!r}: expected request numbers N or N-M after '@'") from None
    if start < 1 or end < start:
        raise ValueError(f"fault spec item {item!r}: request numbers start at 1 and N-M needs N <= M")
    return start, end, kind


class FaultInjector:
    """ASGI middleware: adds ``latency_s`` to every HTTP request and applies a :class:`FaultPlan`.

    ``reset_handler`` is how a ``reset`` fault reaches the socket; the server that runs the app
    sets it (see :func:`uvicorn_reset_handler`), since ASGI itself cannot reset a connection.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan: FaultPlan | None = None,
        seed: int = 0,
        latency_s: float = 0.0,
        error_body: ErrorBody = default_error_body,
    ) -> None:
        self.app = app
        self.plan = plan
        self.seed = seed
        self.latency_s = latency_s
        self.error_body = error_body
        self.reset_handler: ResetHandler | None = None
        self.requests_seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope, injecting latency and the planned fault."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests_seen += 1
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        fault = self.plan.fault_for(self.requests_seen, self.seed) if self.plan else None
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "slow":
            assert self.plan is not None
            await asyncio.sleep(self.plan.slow_s)
            await self.app(scope, receive, send)
        elif fault == "truncated":
            await self._truncated(scope, receive, send)
        elif fault == "reset":
            await self._reset(scope, receive)
        elif fault == "html":
            await _send_whole(send, 502, _GATEWAY_PAGE, b"text/html")
        elif fault == "html200":
            await _send_whole(send, 200, _SIGN_IN_PAGE, b"text/html; charset=utf-8")
        else:
            status = int(fault)
            body = self.error_body(scope["path"], status, _TITLES[status])
            retry = [(b"retry-after", str(RETRY_AFTER_S).encode())] if status in (429, 503) else []
            await _send_whole(send, status, body, b"application/json", retry)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        original = start.get("headers", [])
        content_type = next((v for k, v in original if k.lower() == b"content-type"), b"application/json")
        kept = [(k, v) for k, v in original if k.lower() not in (b"content-type", b"content-length")]
        await _send_whole(send, 200, body[: len(body) // 2], content_type, kept)

    async def _reset(self, scope: Scope, receive: Receive) -> None:
        if self.reset_handler is None or not self.reset_handler(scope):
            raise ConnectionResetError("sandbox fault injection: connection reset")
        # Wait for the server to notice the aborted transport, so it does not try to answer with a 500.
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass


async def _send_whole(
    send: Send, status: int, body: bytes, content_type: bytes, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def uvicorn_reset_handler(server_state: Any) -> ResetHandler:
    """A reset handler for apps run by uvicorn: finds the connection by peer address and resets it.

    ``server_state`` is ``uvicorn.Server.server_state``, whose ``connections`` are the live protocol
    objects (each with ``client`` and ``transport``). SO_LINGER 0 makes the close send an RST.
    """

    def reset(scope: Scope) -> bool:
        client = scope.get("client")
        for connection in list(server_state.connections):
            if connection.client is not None and tuple(connection.client) == tuple(client or ()):
                sock = connection.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.transport.abort()
                return True
        return False

    return reset
