"""The MySecutec TAM threats API as a Starlette app: routes, bearer auth and the rate limit.

Every request needs ``Authorization: Bearer <token>`` (401 otherwise) and, when rate limiting is on,
stays within RATE_LIMIT_PER_SECOND (a token bucket of that size; 429 with ``Retry-After`` in whole
seconds). Every 4xx, including unknown routes and wrong methods, carries the body of ``errors.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connector.sandbox.common import json_response, token_matches
from connector.sandbox.limits import TokenBucket
from connector.sandbox.mysecutec.aggregate import ThreatAggregateRequest, aggregate, facet_counts
from connector.sandbox.mysecutec.bodies import (
    PATCH_USER_STATUSES,
    ThreatBulkStatusUpdate,
    ThreatPatch,
    parse_body,
)
from connector.sandbox.mysecutec.data import SYSTEM_OPERATIONS
from connector.sandbox.mysecutec.errors import ApiError, error_response
from connector.sandbox.mysecutec.query import (
    LOG_SORT_FIELDS,
    THREAT_SORT_FIELDS,
    bool_param,
    page_links,
    paging,
    parse_sort,
    parse_threat_query,
    sort_items,
)
from connector.sandbox.mysecutec.store import Store, is_threat_id

RATE_LIMIT_PER_SECOND = 20
"""Requests per second per token before the sandbox answers 429, like the TAM API gateway."""

LIST_PATH = "/tam/v1/threats/"
"""The canonical list path (with the slash); the links point there even when called without it."""

_STATUS_CODES = {404: "not_found", 405: "method_not_allowed"}


class _Gate:
    """ASGI middleware: the token check, then the rate limit, before any route runs."""

    def __init__(self, app: ASGIApp, token: str, limiter: TokenBucket | None) -> None:
        self._app = app
        self._token = token
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        response: Response | None = None
        if not token_matches(Request(scope), "Bearer", self._token):
            response = error_response(401, "unauthorized", "Missing or invalid bearer token",
                                      {"WWW-Authenticate": 'Bearer realm="mysecutec"'})
        elif self._limiter is not None and (wait := self._limiter.take()) > 0:
            response = error_response(429, "rate_limited",
                                      f"Rate limit of {RATE_LIMIT_PER_SECOND} requests per second exceeded",
                                      {"Retry-After": str(max(1, math.ceil(wait)))})
        if response is None:
            await self._app(scope, receive, send)
        else:
            await response(scope, receive, send)


class _Endpoints:
    """The route handlers, sharing one Store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def list_threats(self, request: Request) -> Response:
        """``GET /tam/v1/threats/``: filtered, sorted, offset-paged threats."""
        params = request.query_params
        query = parse_threat_query(params)
        limit, offset = paging(params, default_limit=20)
        order = parse_sort(params, THREAT_SORT_FIELDS, default="-created_at")
        matched = self._store.matching(query, order)
        page = [self._store.threat(index) for index in matched[offset:offset + limit]]
        # The deleted flag is shown only to callers who asked for deleted threats, so the default shape
        # stays exactly the documented one.
        if query.include_deleted:
            threats = [{**t.record, "deleted": t.deleted} for t in page]
        else:
            threats = [t.record for t in page]
        next_link, previous_link = page_links(request, LIST_PATH, limit, offset, len(matched))
        pagination = {
            "limit": limit, "offset": offset, "total": len(matched),
            "unfiltered_total": self._store.live_total, "next": next_link, "previous": previous_link,
        }
        return json_response({"pagination": pagination, "threats": threats})

    async def threat(self, request: Request) -> Response:
        """``GET`` or ``PATCH /tam/v1/threats/{id}``: one threat, as it is after the patch."""
        threat = self._store.get(request.path_params["threat_id"])
        if request.method == "PATCH":
            body = parse_body(ThreatPatch, await request.body())
            changes = body.model_dump(exclude_unset=True)
            if changes.get("user_status") is not None:
                changes["user_status"] = PATCH_USER_STATUSES[changes["user_status"]]
            self._store.patch(threat, changes)
        return json_response(threat.record)

    async def bulk_status(self, request: Request) -> Response:
        """``PATCH /tam/v1/threats/status``: one user status for many ids, each one succeeding or failing."""
        body = parse_body(ThreatBulkStatusUpdate, await request.body())
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        # A repeated id is one update, reported once, as a set-based UPDATE would treat it.
        for threat_id in dict.fromkeys(body.threat_ids):
            if not is_threat_id(threat_id):
                failed.append({"threat_id": threat_id, "error_type": "invalid_id",
                               "error_message": "Threat id must be a UUID"})
                continue
            threat = self._store.find(threat_id)
            if threat is None:
                failed.append({"threat_id": threat_id, "error_type": "not_found",
                               "error_message": "Threat not found"})
                continue
            self._store.set_user_status(threat, body.user_status, body.user_status_note)
            successful.append({"threat_id": threat_id, "user_status": body.user_status})
        attempted = len(successful) + len(failed)
        summary = {
            "total_attempted": attempted, "total_successful": len(successful), "total_failed": len(failed),
            "success_rate": round(len(successful) / attempted, 4),
        }
        return json_response({"successful": successful, "failed": failed, "summary": summary})

    async def logs(self, request: Request) -> Response:
        """``GET /tam/v1/threats/{id}/logs``: the threat's audit trail, newest first by default."""
        threat = self._store.get(request.path_params["threat_id"])
        params = request.query_params
        limit, offset = paging(params, default_limit=20)
        include_system = bool_param(params, "include_system", True)
        order = parse_sort(params, LOG_SORT_FIELDS, default="-created_at")
        entries = [e for e in threat.logs if include_system or e["operation"] not in SYSTEM_OPERATIONS]
        ordered = sort_items(entries, order, lambda entry: entry)
        return json_response({"pagination": {"limit": limit, "offset": offset, "total": len(ordered)},
                              "logs": ordered[offset:offset + limit]})

    async def filters(self, request: Request) -> Response:
        """``GET /tam/v1/threats/filter``: facet counts, unfiltered and under the list filters given."""
        return json_response(facet_counts(self._store.threats, parse_threat_query(request.query_params)))

    async def aggregate(self, request: Request) -> Response:
        """``POST /tam/v1/threats/aggregate``: counts grouped by fields, years, months or data paths."""
        body = parse_body(ThreatAggregateRequest, await request.body())
        return json_response(aggregate(self._store.threats, body))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "bad_request")
    return error_response(exc.status_code, code, exc.detail, dict(exc.headers or {}))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    *,
    seed: int,
    size: int,
    token: str,
    rate_limit: bool = True,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
) -> Starlette:
    """The MySecutec TAM simulator with ``size`` threats seeded by ``seed``, accepting ``Bearer <token>``.

    ``clock`` (seconds, monotonic) drives the rate limit and ``now`` stamps the changes made through the
    API; tests inject both so they never sleep.
    """
    endpoints = _Endpoints(Store(seed, size, now))
    routes = [
        Route(LIST_PATH, endpoints.list_threats, methods=["GET"]),
        Route("/tam/v1/threats", endpoints.list_threats, methods=["GET"]),
        # The fixed paths come before /{threat_id}, which would otherwise swallow them.
        Route("/tam/v1/threats/filter", endpoints.filters, methods=["GET"]),
        Route("/tam/v1/threats/aggregate", endpoints.aggregate, methods=["POST"]),
        Route("/tam/v1/threats/status", endpoints.bulk_status, methods=["PATCH"]),
        Route("/tam/v1/threats/{threat_id}", endpoints.threat, methods=["GET", "PATCH"]),
        Route("/tam/v1/threats/{threat_id}/logs", endpoints.logs, methods=["GET"]),
    ]
    limiter = TokenBucket(RATE_LIMIT_PER_SECOND, RATE_LIMIT_PER_SECOND, clock) if rate_limit else None
    return Starlette(
        routes=routes,
        middleware=[Middleware(_Gate, token=token, limiter=limiter)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
