"""The Starlette app: routes, knox token check, DRF throttle, method dispatch and the handlers."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from connector.sandbox.ciso_assistant import exports, metrics
from connector.sandbox.ciso_assistant.batch import run_batch_action
from connector.sandbox.ciso_assistant.listing import QueryInvalid, paginate, select
from connector.sandbox.ciso_assistant.shapes import (
    ValidationFailed,
    apply_changes,
    canonical_uuid,
    cascade_info,
    create_labels,
    new_incident,
    read_shape,
    validate_write,
    write_shape,
)
from connector.sandbox.ciso_assistant.store import (
    DETECTION_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Store,
    seed_store,
)
from connector.sandbox.common import ANCHOR, json_response, presented_token, token_matches
from connector.sandbox.limits import SlidingWindow

LIST_PATH = "/api/incidents/"
THROTTLE_REQUESTS = 20
THROTTLE_WINDOW = 1.0
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_DJANGO_NOT_FOUND = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"
)

Handler = Callable[[Request], Awaitable[Response]]
Clock = Callable[[], float]


class Reject(Exception):
    """Stop handling and answer ``status`` with a DRF body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.response = json_response(body, status)


def _throttled(wait: float) -> Response:
    # DRF rounds the wait up; never announce 0 seconds, which would invite an immediate retry storm
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    detail = f"Request was throttled. Expected available in {seconds} {unit}."
    return json_response({"detail": detail}, 429, headers={"Retry-After": str(seconds)})


def _unauthenticated(request: Request, token: str) -> Response | None:
    """Knox's answer for a missing or wrong ``Authorization: Token <key>``, or None when it is right."""
    if token_matches(request, "Token", token):
        return None
    detail = "Authentication credentials were not provided."
    if presented_token(request, "Token") is not None:
        detail = "Invalid token."
    return json_response({"detail": detail}, 401, headers={"WWW-Authenticate": "Token"})


class IncidentsApi:
    """The incidents viewset over one ``Store``; ``now`` is the simulator's clock."""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now

    def _incident(self, request: Request) -> Incident:
        raw = str(request.path_params["id"])
        pk = canonical_uuid(raw)
        if pk is None:
            # DRF's get_object_or_404 turns a malformed pk into a bare Http404
            raise Reject(404, {"detail": "Not found."})
        incident = self.store.incidents.get(pk)
        if incident is None:
            raise Reject(404, {"detail": "No Incident matches the given query."})
        return incident

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if media_type != "application/json":
            raise Reject(415, {"detail": f'Unsupported media type "{media_type}" in request.'})
        try:
            return json.loads(raw)
        except ValueError as problem:
            raise Reject(400, {"detail": f"JSON parse error - {problem}"}) from None

    async def list_incidents(self, request: Request) -> Response:
        """GET /api/incidents/: filtered, searched, ordered, limit/offset paged read shapes."""
        page = paginate(select(self.store, request.query_params), request.query_params, _list_url(request))
        results = [read_shape(incident, self.store) for incident in page.items]
        envelope = {"count": page.count, "next": page.next, "previous": page.previous, "results": results}
        return json_response(envelope)

    async def create(self, request: Request) -> Response:
        """POST /api/incidents/: 201 with the write shape; folder defaults to Global."""
        body = await self._body(request)
        if isinstance(body, dict):
            create_labels(body, self.store)
        cleaned = validate_write(body, self.store, required=("name",))
        incident = new_incident(self.store, cleaned, self.now())
        self.store.incidents[incident.id] = incident
        return json_response(write_shape(incident), 201)

    async def retrieve(self, request: Request) -> Response:
        """GET /api/incidents/{id}/: the read shape."""
        return json_response(read_shape(self._incident(request), self.store))

    async def update(self, request: Request) -> Response:
        """PUT /api/incidents/{id}/: name required; fields left out keep their value, as in DRF."""
        incident = self._incident(request)
        body = await self._body(request)
        if isinstance(body, dict):
            create_labels(body, self.store)
        apply_changes(incident, validate_write(body, self.store, required=("name",)), self.now())
        return json_response(write_shape(incident))

    async def partial_update(self, request: Request) -> Response:
        """PATCH /api/incidents/{id}/: any subset of the write fields."""
        incident = self._incident(request)
        apply_changes(incident, validate_write(await self._body(request), self.store), self.now())
        return json_response(write_shape(incident))

    async def destroy(self, request: Request) -> Response:
        """DELETE /api/incidents/{id}/: 204, empty body."""
        del self.store.incidents[self._incident(request).id]
        return Response(status_code=204)

    async def cascade_info(self, request: Request) -> Response:
        """GET /api/incidents/{id}/cascade-info/: what a delete would remove and unlink."""
        return json_response(cascade_info(self._incident(request), self.store))

    async def write_object(self, request: Request) -> Response:
        """GET /api/incidents/{id}/object/: the write shape, as the edit form loads it."""
        return json_response(write_shape(self._incident(request)))

    async def markdown(self, request: Request) -> Response:
        """GET /api/incidents/{id}/md/: a Markdown report of the incident."""
        shape = read_shape(self._incident(request), self.store)
        return Response(exports.to_markdown(shape), media_type="text/markdown; charset=utf-8")

    async def pdf(self, request: Request) -> Response:
        """GET /api/incidents/{id}/pdf/: a one-page PDF report of the incident."""
        incident = self._incident(request)
        headers = {"Content-Disposition": f'attachment; filename="{incident.ref_id or incident.id}.pdf"'}
        return Response(exports.to_pdf(read_shape(incident, self.store)), media_type="application/pdf",
                        headers=headers)

    async def batch_action(self, request: Request) -> Response:
        """POST /api/incidents/batch-action/: per-id outcome of delete or change_* on at most 100 ids."""
        return json_response(run_batch_action(await self._body(request), self.store, self.now()))

    def _shapes(self, request: Request) -> list[dict[str, Any]]:
        return [read_shape(incident, self.store) for incident in select(self.store, request.query_params)]

    async def export_csv(self, request: Request) -> Response:
        """GET /api/incidents/export_csv/: every matching incident (list filters apply, no paging)."""
        headers = {"Content-Disposition": 'attachment; filename="incidents.csv"'}
        body = exports.to_csv(self._shapes(request))
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

    async def export_xlsx(self, request: Request) -> Response:
        """GET /api/incidents/export_xlsx/: the CSV's rows as a one-sheet workbook."""
        headers = {"Content-Disposition": 'attachment; filename="incidents.xlsx"'}
        body = exports.to_xlsx(self._shapes(request))
        return Response(body, media_type=exports.XLSX_MEDIA_TYPE, headers=headers)

    def routes(self) -> dict[str, dict[str, Handler]]:
        """Path -> method -> handler; collection actions come before the ``{id}`` routes."""
        incidents = self.store.incidents.values

        def answer(payload: Callable[[], Any]) -> Handler:
            async def handler(_request: Request) -> Response:
                return json_response(payload())

            return handler

        collection: dict[str, Callable[[], Any]] = {
            "severity": lambda: {str(value): label for value, label in SEVERITY_LABELS.items()},
            "status": lambda: STATUS_LABELS,
            "detection": lambda: DETECTION_LABELS,
            "summary_stats": lambda: metrics.summary_stats(incidents(), self.now()),
            "monthly_metrics": lambda: metrics.monthly_metrics(incidents(), self.now()),
            "severity_breakdown": lambda: metrics.severity_breakdown(incidents()),
            "detection_breakdown": lambda: metrics.detection_breakdown(incidents()),
            "qualifications_breakdown": lambda: metrics.qualifications_breakdown(incidents(), self.store),
        }
        return {
            LIST_PATH: {"GET": self.list_incidents, "POST": self.create},
            f"{LIST_PATH}batch-action/": {"POST": self.batch_action},
            f"{LIST_PATH}export_csv/": {"GET": self.export_csv},
            f"{LIST_PATH}export_xlsx/": {"GET": self.export_xlsx},
            **{f"{LIST_PATH}{name}/": {"GET": answer(payload)} for name, payload in collection.items()},
            LIST_PATH + "{id}/": {
                "GET": self.retrieve,
                "PUT": self.update,
                "PATCH": self.partial_update,
                "DELETE": self.destroy,
            },
            LIST_PATH + "{id}/cascade-info/": {"GET": self.cascade_info},
            LIST_PATH + "{id}/object/": {"GET": self.write_object},
            LIST_PATH + "{id}/md/": {"GET": self.markdown},
            LIST_PATH + "{id}/pdf/": {"GET": self.pdf},
        }


def _list_url(request: Request) -> str:
    """The list URL as the client sees it: under the host's mount point, without scheme and host."""
    return str(request.scope.get("root_path", "")) + LIST_PATH


def _endpoint(handlers: Mapping[str, Handler], token: str, throttle: SlidingWindow | None) -> Handler:
    """DRF's order: authenticate, throttle, then dispatch on the method (405 when it has no handler)."""

    async def endpoint(request: Request) -> Response:
        refusal = _unauthenticated(request, token)
        if refusal is not None:
            return refusal
        wait = throttle.take() if throttle is not None else 0.0
        if wait:
            return _throttled(wait)
        handler = handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            allow = ", ".join([*handlers, "HEAD"] if "GET" in handlers else handlers)
            detail = f'Method "{request.method}" not allowed.'
            return json_response({"detail": detail}, 405, headers={"Allow": allow})
        try:
            return await handler(request)
        except (ValidationFailed, QueryInvalid) as invalid:
            return json_response(invalid.errors, 400)
        except Reject as reject:
            return reject.response

    return endpoint


async def _not_found(_request: Request, _exc: Exception) -> Response:
    """Django's own 404 page: unrouted paths (a missing trailing slash included) never reach DRF."""
    return HTMLResponse(_DJANGO_NOT_FOUND, status_code=404)


def create_app(
    *, seed: int, size: int, token: str, rate_limit: bool = True, clock: Clock = time.time
) -> Starlette:
    """The CISO Assistant incidents API over ``size`` seeded incidents; state lives as long as the app.

    ``clock`` (seconds, like ``time.time``) drives the throttle and the timestamps of writes. The
    simulator's "now" never reads earlier than ``common.ANCHOR``: before it, time runs on from
    ANCHOR, so records written through the API are always newer than the seeded ones.
    """
    started = clock()

    def now() -> datetime:
        real = datetime.fromtimestamp(clock(), UTC)
        return max(real, ANCHOR + timedelta(seconds=clock() - started))

    api = IncidentsApi(seed_store(seed, size), now)
    throttle = SlidingWindow(THROTTLE_REQUESTS, THROTTLE_WINDOW, clock) if rate_limit else None
    routes = [
        Route(path, _endpoint(handlers, token, throttle), methods=_METHODS)
        for path, handlers in api.routes().items()
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    # DRF clients must send the trailing slash: never redirect, answer Django's 404 instead
    app.router.redirect_slashes = False
    return app
