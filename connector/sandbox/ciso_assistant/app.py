"""The Starlette app: routes, Django's slash redirect, knox token check, optional throttle, the handlers.

Order of checks, as the recorded server does it: a path without its trailing slash is a 301 to the
slash form (Django's APPEND_SLASH, before authentication); then knox authentication (401 with
``WWW-Authenticate: Token``); OPTIONS then fails with Django's HTML 500 page (the upstream
metadata defect); then the throttle, when enabled; then the method (405) and the handler. Every
DRF answer carries the view's ``Allow`` header; Django's HTML answers (301, 500) do not.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from connector.sandbox.ciso_assistant import exports, metrics, objects
from connector.sandbox.ciso_assistant.batch import run_batch_action
from connector.sandbox.ciso_assistant.listing import QueryInvalid, paginate, select
from connector.sandbox.ciso_assistant.seed import seed_store
from connector.sandbox.ciso_assistant.shapes import cascade_info, read_shape, write_shape
from connector.sandbox.ciso_assistant.store import (
    DETECTION_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Store,
)
from connector.sandbox.ciso_assistant.writes import (
    ValidationFailed,
    apply_changes,
    canonical_uuid,
    create_labels,
    new_incident,
    validate_write,
)
from connector.sandbox.common import ANCHOR, json_response
from connector.sandbox.limits import SlidingWindow

LIST_PATH = "/api/incidents/"
THROTTLE_WINDOW = 1.0
RACE_YIELDS = 3
"""At most this many yields between a create's ref_id check and its insert (drawn from the seed)."""
COLLECTION_ALLOW = "GET, POST, HEAD, OPTIONS"
DETAIL_ALLOW = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
READ_ALLOW = "GET, HEAD, OPTIONS"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_SERVER_ERROR = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n'
    "  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)
_NOT_FOUND = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"
)

Handler = Callable[[Request], Awaitable[Any]]
Clock = Callable[[], float]


class Reject(Exception):
    """Stop handling and answer ``status`` with a JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status, self.body = status, body


class ServerError(Exception):
    """An upstream crash: Django's HTML 500 page, without DRF's headers."""


def knox_refusal(header: str, token: str) -> str | None:
    """Knox's 401 detail for an ``Authorization`` header, or None when it carries the right token."""
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        return "Authentication credentials were not provided."
    if len(parts) == 1:
        return "Invalid token header. No credentials provided."
    if len(parts) > 2:
        return "Invalid token header. Token string should not contain spaces."
    return None if parts[1] == token else "Invalid token."


def _throttled(wait: float) -> Response:
    # DRF rounds the wait up; never announce 0 seconds, which would invite an immediate retry storm
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    detail = f"Request was throttled. Expected available in {seconds} {unit}."
    return json_response({"detail": detail}, 429, headers={"Retry-After": str(seconds)})


@dataclass
class View:
    """One DRF view: its ``Allow`` header and a handler per method."""

    allow: str
    handlers: dict[str, Handler]


class IncidentsApi:
    """The incidents viewset (and the few endpoints around it) over one ``Store``."""

    def __init__(self, store: Store, now: Callable[[], datetime], seed: int = 0) -> None:
        self.store = store
        self.now = now
        self.interleaving = random.Random(f"{seed}:create-race")

    def _incident(self, request: Request, *, missing: Reject | None = None) -> Incident:
        pk = canonical_uuid(str(request.path_params["id"]))
        incident = self.store.incidents.get(pk or "")
        if incident is not None:
            return incident
        if missing is not None:
            raise missing
        # DRF's get_object_or_404 turns a malformed pk into a bare Http404
        raise Reject(404, {"detail": "Not found." if pk is None else "No Incident matches the given query."})

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if raw.strip() and media_type != "application/json":
            raise Reject(415, {"detail": f'Unsupported media type "{media_type}" in request.'})
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as problem:
            raise Reject(400, {"detail": f"JSON parse error - {problem}"}) from None

    def _base(self, request: Request, path: str) -> str:
        return str(request.scope.get("root_path", "")) + path

    def _folder_incidents(self, request: Request) -> list[Incident]:
        """The incidents of ``?folder=`` (all without it); an unknown folder crashes upstream (500)."""
        folder = request.query_params.get("folder")
        if folder is None:
            return list(self.store.incidents.values())
        pk = canonical_uuid(folder)
        if pk not in self.store.folders:
            raise ServerError(folder)
        return [incident for incident in self.store.incidents.values() if incident.folder == pk]

    async def list_incidents(self, request: Request) -> Any:
        """GET /api/incidents/: filtered, searched, ordered, limit/offset paged read shapes."""
        chosen = select(self.store, request.query_params)
        page = paginate(chosen, request.query_params, self._base(request, LIST_PATH))
        page.items = [read_shape(incident, self.store, listed=True) for incident in page.items]
        return page.envelope()

    async def create(self, request: Request) -> Any:
        """POST /api/incidents/: 201 with the write shape; the server's defaults fill what is left out."""
        body = await self._body(request)
        create_labels(body, self.store)
        cleaned = validate_write(body, self.store, required=("name",))
        # The real server checks the ref_id rule, then inserts, not atomically: concurrent creates with
        # one ref_id can all pass the check. A seeded number of yields here lets them interleave so,
        # the same way on every run; the incident is stamped when it is inserted, as Django stamps it.
        for _ in range(self.interleaving.randrange(RACE_YIELDS + 1)):
            await asyncio.sleep(0)
        incident = new_incident(self.store, cleaned, self.now)
        self.store.incidents[incident.id] = incident
        raise Reject(201, write_shape(incident))

    async def retrieve(self, request: Request) -> Any:
        """GET /api/incidents/{id}/: the read shape."""
        return read_shape(self._incident(request), self.store)

    async def update(self, request: Request) -> Any:
        """PUT /api/incidents/{id}/: name required; fields left out keep their value."""
        return await self._write(request, required=("name",))

    async def partial_update(self, request: Request) -> Any:
        """PATCH /api/incidents/{id}/: any subset of the write fields."""
        return await self._write(request, required=())

    async def _write(self, request: Request, required: tuple[str, ...]) -> Any:
        incident = self._incident(request)
        body = await self._body(request)
        create_labels(body, self.store)
        cleaned = validate_write(body, self.store, incident, required=required)
        apply_changes(incident, cleaned, self.now(), self.store)
        return write_shape(incident)

    async def destroy(self, request: Request) -> Any:
        """DELETE /api/incidents/{id}/: 204, no body."""
        del self.store.incidents[self._incident(request).id]
        raise Reject(204, None)

    async def report(self, request: Request) -> Response:
        """GET /api/incidents/{id}/md/ or pdf/: an attachment; an unknown id is a 403 upstream."""
        incident = self._incident(request, missing=Reject(403, {"error": "Permission denied"}))
        kind = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        disposition = f'attachment; filename="{exports.slug(incident.name)}_report.{kind}"'
        if kind == "md":
            text = exports.to_markdown(incident, self.store)
            return Response(text, headers={"Content-Type": "text/markdown", "Content-Disposition": disposition})
        return Response(exports.to_pdf(incident, self.store), media_type="application/pdf",
                        headers={"Content-Disposition": disposition})

    async def export(self, request: Request) -> Response:
        """GET /api/incidents/export_csv/ or export_xlsx/: every matching incident (list filters apply)."""
        chosen = select(self.store, request.query_params)
        if request.url.path.rstrip("/").endswith("csv"):
            return Response(exports.to_csv(chosen, self.store), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="incidents_export.csv"'})
        return Response(exports.to_xlsx(chosen, self.store), media_type=exports.XLSX_MEDIA_TYPE,
                        headers={"Content-Disposition": 'attachment; filename="incidents_export.xlsx"'})

    def views(self) -> dict[str, View]:
        """Path -> view; collection actions come before the ``{id}`` routes."""
        store = self.store

        def answer(payload: Callable[[Request], Any]) -> Handler:
            async def handler(request: Request) -> Any:
                return payload(request)

            return handler

        def read(payload: Callable[[Request], Any]) -> View:
            return View(READ_ALLOW, {"GET": answer(payload)})

        async def batch(request: Request) -> Any:
            return run_batch_action(await self._body(request), store)

        async def new_folder(request: Request) -> Any:
            raise Reject(201, objects.create_folder(store, await self._body(request), self.now()))

        async def new_asset(request: Request) -> Any:
            raise Reject(201, objects.create_asset(store, await self._body(request), self.now))

        def paged(lister: Callable[..., Any], path: str) -> Callable[[Request], Any]:
            return lambda request: lister(store, request.query_params, self._base(request, path))

        incidents = self._folder_incidents
        by_id = self._incident
        return {
            "/api/folders/": View(COLLECTION_ALLOW, {
                "GET": answer(paged(objects.list_folders, "/api/folders/")), "POST": new_folder}),
            "/api/assets/": View(COLLECTION_ALLOW, {"POST": new_asset}),
            "/api/actors/": read(paged(objects.list_actors, "/api/actors/")),
            "/api/filtering-labels/": read(paged(objects.list_labels, "/api/filtering-labels/")),
            "/api/terminologies/": View(COLLECTION_ALLOW, {
                "GET": answer(paged(objects.list_terminologies, "/api/terminologies/"))}),
            LIST_PATH: View(COLLECTION_ALLOW, {"GET": self.list_incidents, "POST": self.create}),
            f"{LIST_PATH}batch-action/": View("POST, OPTIONS", {"POST": batch}),
            f"{LIST_PATH}export_csv/": View(READ_ALLOW, {"GET": self.export}),
            f"{LIST_PATH}export_xlsx/": View(READ_ALLOW, {"GET": self.export}),
            f"{LIST_PATH}severity/": read(lambda _r: {str(key): label for key, label in SEVERITY_LABELS.items()}),
            f"{LIST_PATH}status/": read(lambda _r: STATUS_LABELS),
            f"{LIST_PATH}detection/": read(lambda _r: DETECTION_LABELS),
            f"{LIST_PATH}summary_stats/": read(lambda r: metrics.summary_stats(incidents(r), self.now())),
            f"{LIST_PATH}monthly_metrics/": read(lambda r: metrics.monthly_metrics(incidents(r))),
            f"{LIST_PATH}severity_breakdown/": read(lambda r: metrics.severity_breakdown(incidents(r))),
            f"{LIST_PATH}detection_breakdown/": read(lambda r: metrics.detection_breakdown(incidents(r))),
            f"{LIST_PATH}qualifications_breakdown/": read(
                lambda r: metrics.qualifications_breakdown(incidents(r), store)),
            LIST_PATH + "{id}/": View(DETAIL_ALLOW, {
                "GET": self.retrieve, "PUT": self.update, "PATCH": self.partial_update, "DELETE": self.destroy}),
            LIST_PATH + "{id}/cascade-info/": read(lambda r: cascade_info(by_id(r), store)),
            LIST_PATH + "{id}/object/": read(lambda r: write_shape(by_id(r))),
            LIST_PATH + "{id}/md/": View(READ_ALLOW, {"GET": self.report}),
            LIST_PATH + "{id}/pdf/": View(READ_ALLOW, {"GET": self.report}),
        }


def _endpoint(view: View, token: str, throttle: SlidingWindow | None) -> Handler:
    """DRF's order: authenticate, (metadata), throttle, then dispatch on the method."""
    allow = {"Allow": view.allow}

    async def endpoint(request: Request) -> Response:
        refusal = knox_refusal(request.headers.get("authorization", ""), token)
        if refusal is not None:
            return json_response({"detail": refusal}, 401, headers={**allow, "WWW-Authenticate": "Token"})
        if request.method == "OPTIONS":
            return HTMLResponse(_SERVER_ERROR, status_code=500)
        wait = throttle.take() if throttle is not None else 0.0
        if wait:
            return _throttled(wait)
        handler = view.handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405, headers=allow)
        try:
            result = await handler(request)
        except (ValidationFailed, QueryInvalid) as invalid:
            return json_response(invalid.errors, 400, headers=allow)
        except Reject as reject:
            if reject.body is None:
                return Response(status_code=reject.status, headers=allow)
            return json_response(reject.body, reject.status, headers=allow)
        except ServerError:
            return HTMLResponse(_SERVER_ERROR, status_code=500)
        if isinstance(result, Response):
            result.headers.update(allow)
            return result
        return json_response(result, headers=allow)

    return endpoint


class _AppendSlash:
    """Django's CommonMiddleware: a path that only routes with a trailing slash gets a 301 to it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # under a Mount, "path" is the full path and "root_path" the mount point
        path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
        if scope["type"] == "http" and not path.endswith("/") and self._routes(scope, path.removeprefix(root) + "/"):
            query = scope.get("query_string", b"").decode("latin-1")
            location = path + "/" + (f"?{query}" if query else "")
            await HTMLResponse("", status_code=301, headers={"Location": location})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _routes(self, scope: Scope, route_path: str) -> bool:
        probe = {**scope, "path": route_path, "root_path": ""}
        return any(route.matches(probe)[0].value != 0 for route in self.app.router.routes)


async def _not_found(_request: Request, _exc: Exception) -> Response:
    """Django's own 404 page for a path no view serves."""
    return HTMLResponse(_NOT_FOUND, status_code=404)


def create_app(
    *, seed: int, size: int, token: str, rate_limit: bool = True, throttle: int | None = None,
    clock: Clock = time.time,
) -> _AppendSlash:
    """The CISO Assistant API over a fresh server's objects plus ``size`` seeded incidents.

    The real server has no throttle, so neither has the simulator by default: ``throttle`` (requests
    per second, DRF's 429 beyond) turns one on, and ``rate_limit=False`` (the sandbox's switch for
    every vendor's limits) keeps it off. ``clock`` (seconds, like ``time.time``) drives the throttle
    and the timestamps of writes; "now" never reads earlier than ``common.ANCHOR``, so records
    written through the API are always newer than the seeded ones.
    """
    started = clock()

    def now() -> datetime:
        seconds = clock()
        return max(datetime.fromtimestamp(seconds, UTC), ANCHOR + timedelta(seconds=seconds - started))

    api = IncidentsApi(seed_store(seed, size, now()), now, seed)
    window = SlidingWindow(throttle, THROTTLE_WINDOW, clock) if rate_limit and throttle else None
    routes = [
        Route(path, _endpoint(view, token, window), methods=_METHODS)
        for path, view in api.views().items()
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    app.router.redirect_slashes = False
    return _AppendSlash(app)
