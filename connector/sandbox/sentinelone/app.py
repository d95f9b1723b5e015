"""The Starlette app of the SentinelOne Management API v2.1 simulator: routes, auth, rate limit."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from connector.sandbox.common import json_response, token_matches
from connector.sandbox.limits import TokenBucket
from connector.sandbox.sentinelone.data import ANALYST_VERDICTS, INCIDENT_STATUSES, SeededThreats
from connector.sandbox.sentinelone.filters import ApiError, validation_error
from connector.sandbox.sentinelone.query import body_filter_params, parse_list_query
from connector.sandbox.sentinelone.store import MITIGATIONS, ThreatStore

API = "/web/api/v2.1"
RATE_PER_S = 10.0
"""Requests per second allowed on ``/threats`` endpoints, as the real console enforces (about 10/s)."""

SYSTEM_INFO = {"build": "sandbox", "patch": "2", "release": "24.1", "version": "24.1.2"}
"""What ``GET /system/info`` answers: the cheap authenticated call a connection test uses."""

Handler = Callable[[Request], Awaitable[Response]]


class PiecesResponse(Response):
    """A JSON answer given as pieces, sent with a Content-Length in slices of about ``SLICE_BYTES``."""

    SLICE_BYTES = 64 * 1024  # under malloc's mmap threshold, so slices reuse heap memory

    def __init__(self, pieces: list[bytes]) -> None:
        super().__init__(media_type="application/json")
        self.pieces = pieces
        self.headers["content-length"] = str(sum(len(piece) for piece in pieces))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the status and headers, then the pieces joined into slices."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        batch: list[bytes] = []
        size = 0
        for piece in self.pieces:
            batch.append(piece)
            size += len(piece)
            if size >= self.SLICE_BYTES:
                await send({"type": "http.response.body", "body": b"".join(batch), "more_body": True})
                batch, size = [], 0
        await send({"type": "http.response.body", "body": b"".join(batch), "more_body": False})


def _error(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.body(), error.status, headers)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise validation_error("request body: not valid JSON") from None
    if not isinstance(body, dict):
        raise validation_error("request body: expected a JSON object")
    return body


def _data(body: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise validation_error("data: required, an object")
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise validation_error(f"data: unknown field(s) {', '.join(unknown)}")
    missing = [name for name in required if name not in data]
    if missing:
        raise validation_error(f"data.{missing[0]}: required")
    return data


def _choice(data: dict[str, Any], name: str, allowed: Any) -> str:
    value = data[name]
    if value not in allowed:
        raise validation_error(f"data.{name}: {value!r} not one of {', '.join(allowed)}")
    return str(value)


def _affected(count: int) -> Response:
    return json_response({"data": {"affected": count}})


def create_app(
    *, seed: int, size: int, token: str, rate_limit: bool = True, clock: Callable[[], float] = time.monotonic
) -> Starlette:
    """A SentinelOne simulator holding ``size`` threats seeded by ``seed``; state lives as long as the app.

    ``clock`` drives the rate limiter (10 requests/s on ``/threats``, burst 10) so tests can fake time.
    """
    api = _Endpoints(ThreatStore(SeededThreats(seed, size)))
    bucket = TokenBucket(RATE_PER_S, RATE_PER_S, clock) if rate_limit else None

    def guarded(handler: Handler, *, limited: bool = True) -> Handler:
        return _guarded(handler, token, bucket if limited else None)

    routes = [
        Route(f"{API}/threats", guarded(api.list_threats), methods=["GET"]),
        Route(f"{API}/threats/incident", guarded(api.incident), methods=["POST"]),
        Route(f"{API}/threats/analyst-verdict", guarded(api.analyst_verdict), methods=["POST"]),
        Route(f"{API}/threats/notes", guarded(api.add_note), methods=["POST"]),
        Route(f"{API}/threats/{{threat_id}}/notes", guarded(api.list_notes), methods=["GET"]),
        Route(f"{API}/threats/mitigate/{{action}}", guarded(api.mitigate), methods=["POST"]),
        Route(f"{API}/system/info", guarded(_system_info, limited=False), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})


def _guarded(handler: Handler, token: str, bucket: TokenBucket | None) -> Handler:
    """``handler`` behind the ApiToken check and, with a ``bucket``, the rate limit; ApiError as its answer."""

    async def endpoint(request: Request) -> Response:
        if not token_matches(request, "ApiToken", token):
            return _error(ApiError(401, 4010010, "Authentication Failed", "Missing or invalid API token"))
        if bucket is not None:
            wait = bucket.take()
            if wait:
                retry = str(max(1, math.ceil(wait)))
                error = ApiError(429, 4290010, "Too Many Requests", "API rate limit exceeded")
                return _error(error, {"Retry-After": retry})
        try:
            return await handler(request)
        except ApiError as error:
            return _error(error)

    return endpoint


class _Endpoints:
    """The threat routes' answers, over one store."""

    def __init__(self, store: ThreatStore) -> None:
        self.store = store

    async def list_threats(self, request: Request) -> Response:
        """``GET /threats``: one cursor page of the matching threats."""
        params = {name: request.query_params.getlist(name) for name in request.query_params}
        query = parse_list_query(params, self.store.has_notes)
        return PiecesResponse(self.store.page(query))

    async def incident(self, request: Request) -> Response:
        """``POST /threats/incident``: incident status (and verdict) of the filtered threats."""
        body = await _json_body(request)
        data = _data(body, ("incidentStatus",), ("analystVerdict",))
        status = _choice(data, "incidentStatus", INCIDENT_STATUSES)
        verdict = _choice(data, "analystVerdict", ANALYST_VERDICTS) if "analystVerdict" in data else None
        threats = self.store.select(body_filter_params(body.get("filter")))
        self.store.set_incident(threats, status, verdict)
        return _affected(len(threats))

    async def analyst_verdict(self, request: Request) -> Response:
        """``POST /threats/analyst-verdict``."""
        body = await _json_body(request)
        verdict = _choice(_data(body, ("analystVerdict",)), "analystVerdict", ANALYST_VERDICTS)
        threats = self.store.select(body_filter_params(body.get("filter")))
        self.store.set_verdict(threats, verdict)
        return _affected(len(threats))

    async def add_note(self, request: Request) -> Response:
        """``POST /threats/notes``: one note on each filtered threat."""
        body = await _json_body(request)
        text = _data(body, ("text",))["text"]
        if not isinstance(text, str) or not text.strip():
            raise validation_error("data.text: required, a non-empty string")
        threats = self.store.select(body_filter_params(body.get("filter")))
        self.store.add_note(threats, text)
        return _affected(len(threats))

    async def list_notes(self, request: Request) -> Response:
        """``GET /threats/{id}/notes``."""
        notes = self.store.notes(request.path_params["threat_id"])
        return json_response({"data": notes, "pagination": {"totalItems": len(notes), "nextCursor": None}})

    async def mitigate(self, request: Request) -> Response:
        """``POST /threats/mitigate/{action}``."""
        action = request.path_params["action"]
        if action not in MITIGATIONS:
            raise validation_error(f"action: {action!r} not one of {', '.join(MITIGATIONS)}")
        body = await _json_body(request)
        threats = self.store.select(body_filter_params(body.get("filter")))
        self.store.mitigate(threats, action)
        return _affected(len(threats))


async def _system_info(request: Request) -> Response:
    return json_response({"data": SYSTEM_INFO})


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    title = "Method Not Allowed" if status == 405 else "Resource not found"
    return _error(ApiError(status, status * 10000 + 10, title, f"{request.method} {request.url.path}"))
