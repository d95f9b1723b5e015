"""The Starlette app: routes, Bearer auth, the per-token rate limit and Nameshield's error shape."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connector.sandbox.common import json_response, token_matches
from connector.sandbox.limits import SlidingWindow
from connector.sandbox.nameshield.data import VISIBLE_CUSTOMERS, SeededEvents
from connector.sandbox.nameshield.params import bad_request, parse_list_query, parse_search_body
from connector.sandbox.nameshield.store import EventStore

RATE_LIMIT = 600
RATE_WINDOW_SECONDS = 300.0

Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(
    *, seed: int, size: int, token: str, rate_limit: bool = True, clock: Callable[[], float] = time.monotonic
) -> Starlette:
    """The Nameshield CTI simulator with ``size`` seeded events, answering the Bearer ``token`` only.

    Routes (relative to the mount point): ``GET /cti/v2/events``, ``GET /cti/v2/events/{id}`` and
    ``POST /cti/v1/events/search``. With ``rate_limit``, 600 requests per 5 minutes per token, then
    429 with ``Retry-After``; ``clock`` drives that window.
    """
    if size < 0:
        raise ValueError(f"size must be zero or more, not {size}")
    endpoints = _Endpoints(EventStore(SeededEvents(seed, size)))
    limiter = SlidingWindow(RATE_LIMIT, RATE_WINDOW_SECONDS, clock) if rate_limit else None
    routes = [
        Route("/cti/v2/events", _guarded(endpoints.list_events, token, limiter), methods=["GET"]),
        Route("/cti/v2/events/{event_id}", _guarded(endpoints.get_event, token, limiter), methods=["GET"]),
        Route("/cti/v1/events/search", _guarded(endpoints.search_events, token, limiter), methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: render_error})


def _guarded(endpoint: Endpoint, token: str, limiter: SlidingWindow | None) -> Endpoint:
    """``endpoint`` behind the Bearer token check and, with a ``limiter``, the rate limit."""

    async def admit_then_answer(request: Request) -> Response:
        if not token_matches(request, "Bearer", token):
            raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})
        if limiter is not None:
            wait = limiter.take(token)
            if wait:
                retry_after = str(max(1, math.ceil(wait)))
                raise HTTPException(429, "Too Many Requests", headers={"Retry-After": retry_after})
        return await endpoint(request)

    return admit_then_answer


class _Endpoints:
    """The three routes' answers, over one store of events."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def list_events(self, request: Request) -> Response:
        """``GET /cti/v2/events``: one page of the matching events."""
        store = self.store
        query = parse_list_query(request.query_params)
        matches = store.select(query.predicates, query.orders)
        start = query.page * query.size
        total_pages = math.ceil(len(matches) / query.size)
        return json_response({
            "data": [store.json(event) for event in matches[start:start + query.size]],
            "current_page": query.page,
            "total_pages": total_pages,
            "total_items": len(matches),
            "page_size": query.size,
            "has_next": query.page + 1 < total_pages,
            "has_previous": query.page > 0,
        })

    async def get_event(self, request: Request) -> Response:
        """``GET /cti/v2/events/{id}``: one visible event."""
        event = self.store.get(request.path_params["event_id"])
        # The stranger customer's events are hidden as if they did not exist, not refused with a 403.
        if event is None or event.customer_id not in VISIBLE_CUSTOMERS:
            raise HTTPException(404, "Event not found")
        return json_response(self.store.json(event))

    async def search_events(self, request: Request) -> Response:
        """``POST /cti/v1/events/search``: the deprecated search, paged by offset."""
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            raise bad_request("Malformed JSON body") from None
        query = parse_search_body(body)
        matches = self.store.select(query.predicates)
        results = matches[query.offset:query.offset + query.limit]
        return json_response({
            "message": "OK",
            "data": {
                "limit": query.limit,
                "offset": query.offset,
                "total": len(matches),
                "results": [self.store.json(event) for event in results],
            },
        })


async def render_error(request: Request, exc: Exception) -> Response:
    """Every 4xx, including Starlette's own 404/405, as ``{"message": ..., "data": null}``."""
    if not isinstance(exc, HTTPException):
        raise exc
    return json_response({"message": exc.detail, "data": None}, exc.status_code, dict(exc.headers or {}))
