"""The HTTP API for SOAR platforms: run actions and playbooks, read the manifest.

    GET  /healthz                   {"status": "ok", "version": ...}; the only route without a token
    GET  /v1/actions                the manifest (manifest.yaml) as JSON
    POST /v1/actions/{name}/run     {"input", "connection", "vendor"?, "dry_run"?} -> the envelope
    POST /v1/playbooks/run          {"playbook": NAME | {...}, "input"?, "dry_run"?} -> the result
    GET  /v1/jobs/{id}              with a broker: a queued run's state, then its answer

A run answers what ``--format json`` prints, with the HTTP status from its exit code (see
:data:`~connector.server.answers.HTTP_STATUS`) in the ``X-Connector-Exit-Code`` header too.
Actions and playbooks run on the server's event loop through the same runner as the CLI; with
a broker they are queued for the workers instead (202 and a job id, see :mod:`connector.server.queue`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from connector import __version__
from connector.catalog import manifest_path
from connector.connections import SANDBOX
from connector.envelope import EXIT_BAD_INPUT
from connector.errors import BadInput, ConnectorError, InternalError, as_connector_error
from connector.executor import Executor, InProcess
from connector.playbook import arun_playbook
from connector.playbook.model import read_playbook
from connector.plugins import Host, default_host
from connector.pool import ClientPool
from connector.request import RunRequest
from connector.server.answers import (
    HTTP_STATUS,
    NDJSON,
    error_answer,
    json_answer,
    ndjson_answer,
    run_answer,
    written_answer,
)
from connector.server.auth import BearerAuth
from connector.server.bodies import ACTION_RUN, PLAYBOOK_RUN, parse_body, playbook_file
from connector.server.limits import (
    BODY_TIMEOUT_S,
    CHECK_TIMEOUT_S,
    CHECKED_HERE,
    DEFAULT_MAX_BODY,
    BodyLimit,
    Checks,
)

HEALTH_PATH = "/healthz"
NO_SANDBOX = "connection 'sandbox' is served only by `connector serve --sandbox`"

_ERROR_KINDS = {404: "not_found", 405: "method_not_allowed", 408: "timeout", 413: "too_large"}
_OWN_MESSAGE = {408, 413}
"""Statuses whose detail is already the whole line (the limits'), not a route's reason."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    """How the API runs: its token, body limit, playbooks folder, sandbox and connections file."""

    token: str
    max_body: int = DEFAULT_MAX_BODY
    playbooks: Path | None = None
    sandbox_url: str | None = None
    config: Path | None = None
    executor: Executor | None = None
    """Where runs run (default: here); a detached one (the workers') queues them: 202 and a job id."""
    body_timeout: float = BODY_TIMEOUT_S
    check_timeout: float = CHECK_TIMEOUT_S


def create_app(settings: ServerSettings, host: Host | None = None) -> Starlette:
    """The ASGI app of the API; serve it with uvicorn (``connector serve``) or any ASGI server."""
    api = _Api(settings, host or default_host())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if api.pool is not None:
            await api.pool.aclose()

    routes = [
        Route(HEALTH_PATH, _guarded(api.health), methods=["GET"]),
        Route("/v1/actions", _guarded(api.manifest), methods=["GET"]),
        Route("/v1/actions/{name}/run", _guarded(api.run_action), methods=["POST"]),
        Route("/v1/playbooks/run", _guarded(api.run_playbook), methods=["POST"]),
        Route("/v1/jobs/{id}", _guarded(api.job), methods=["GET"]),
    ]
    middleware = [
        # Authentication first: an unauthenticated caller learns nothing, not even the size limit.
        Middleware(BearerAuth, token=settings.token, open_paths={HEALTH_PATH}),
        Middleware(BodyLimit, max_bytes=settings.max_body, timeout=settings.body_timeout),
    ]
    handlers = {HTTPException: _http_error, Exception: _internal_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)


class _Api:
    """The endpoints, sharing the settings, the plugin host and the manifest read at start-up."""

    def __init__(self, settings: ServerSettings, host: Host) -> None:
        self.settings, self.host = settings, host
        # Runs here keep their connections' clients open between requests: a one-record action
        # would otherwise open a new client and a new connection to the vendor each time.
        self.pool = ClientPool() if settings.executor is None else None
        self.executor = settings.executor or InProcess(host=host, config=settings.config, pool=self.pool)
        self.manifest_document = yaml.safe_load(manifest_path().read_text(encoding="utf-8"))
        self.checks = Checks(settings.check_timeout)

    async def health(self, request: Request) -> Response:
        """Alive, and which version."""
        return json_answer({"status": "ok", "version": __version__}, 200)

    async def manifest(self, request: Request) -> Response:
        """The connector manifest: vendors, their auth and the catalogue of actions."""
        return json_answer(self.manifest_document, 200)

    async def run_action(self, request: Request) -> Response:
        """Run one action; the envelope (or the run in the body's ``format``), with the HTTP status of its exit code.

        A client that accepts ``application/x-ndjson`` (or asks for ``format: ndjson``) gets the
        records as they are read, a line each, and the envelope as the last line: see
        :func:`ndjson_answer`.
        """
        try:
            raw = await request.body()
            here = len(raw) <= CHECKED_HERE
            body = await self.checks.run(parse_body, raw, ACTION_RUN, here=here)
            if body["connection"] == SANDBOX:
                body["sandbox"] = self._served_sandbox()
            run = await self.checks.run(partial(RunRequest, action=request.path_params["name"], **body), here=here)
        except BadInput as exc:
            return error_answer(400, exc.kind, exc.message, exit_code=EXIT_BAD_INPUT)
        if self.executor.detached:
            from connector.server.queue import queue_action

            return await queue_action(self.executor, run, owner=self.settings.token)
        if run.format_name == "ndjson" or NDJSON in request.headers.get("accept", ""):
            return await ndjson_answer(self.executor, run)
        return await written_answer(self.executor, run)

    async def run_playbook(self, request: Request) -> Response:
        """Check and run a playbook from the playbooks folder or inline; its result, status from its exit code."""
        try:
            body = await self.checks.run(parse_body, await request.body(), PLAYBOOK_RUN)
            source = body["playbook"]
            book = await self.checks.run(
                read_playbook, playbook_file(self.settings.playbooks, source) if isinstance(source, str) else source,
                self.host,
            )
            if any(step.connection == SANDBOX for step in book.steps):
                self._served_sandbox()
            if self.executor.detached:
                return await self._queue_playbook(book.model_dump(exclude_unset=True), body)
            result = await arun_playbook(
                book.model_dump(exclude_unset=True),
                body.get("input", {}),
                # With --sandbox every step runs against it, as `playbook run --sandbox-url` does.
                sandbox=self.settings.sandbox_url or False,
                dry_run=body.get("dry_run", False),
                config=self.settings.config,
                executor=self.executor,
            )
        except BadInput as exc:
            return error_answer(400, exc.kind, exc.message, exit_code=EXIT_BAD_INPUT)
        return run_answer(result, result.exit_code)

    async def job(self, request: Request) -> Response:
        """A queued run's state, then its answer; 404 without a broker, or for an unknown job."""
        if not self.executor.detached:
            return error_answer(404, "not_found", "no jobs: this server runs everything itself (no --broker)")
        from connector.server.queue import job_answer

        return await job_answer(self.executor, request.path_params["id"], owner=self.settings.token)

    async def _queue_playbook(self, source: dict[str, Any], body: dict[str, Any]) -> Response:
        """Check the playbook here (400 at once when it cannot run), then queue it for one worker."""
        from connector.playbook import load_checked
        from connector.server.queue import queue_playbook

        sandbox = self.settings.sandbox_url
        await self.checks.run(
            partial(load_checked, source, self.host, config=self.settings.config, sandbox=sandbox is not None)
        )
        return await queue_playbook(self.executor, source, body.get("input", {}), sandbox, body.get("dry_run", False),
                                    owner=self.settings.token)

    def _served_sandbox(self) -> str:
        """The served sandbox's URL. Without ``--sandbox`` the runner would start a simulator per
        request, seeding it on the event loop and stalling every other caller: refused instead."""
        if self.settings.sandbox_url is None:
            raise BadInput(NO_SANDBOX)
        return self.settings.sandbox_url


async def _http_error(request: Request, exc: Exception) -> Response:
    """404, 405, 408 (a stalled body) and 413 (a chunked body over the limit) as one-line JSON errors."""
    assert isinstance(exc, HTTPException)
    kind = _ERROR_KINDS.get(exc.status_code, "http_error")
    message = exc.detail if exc.status_code in _OWN_MESSAGE else f"{request.method} {request.url.path}: {exc.detail}"
    return error_answer(exc.status_code, kind, message, exc.headers)


Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """The route's guard: an error no one caught is one line (HTTP 500, exit code 1), its traceback
    only in the debug log (-vv), so a caller never waits on a dropped connection and the log holds
    no value of the request."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except HTTPException:
            raise
        except ClientDisconnect:
            # Nobody is left to answer: one line in the log, not an internal error.
            log.info("%s %s: the client went away before its body was read", request.method, request.url.path)
            return Response(status_code=400)
        except Exception as exc:
            return _error_answer(as_connector_error(exc))

    return guarded


def _error_answer(error: ConnectorError) -> Response:
    """One error as its one-line answer: the status of its exit code, 500 for a bug."""
    status = 500 if isinstance(error, InternalError) else HTTP_STATUS[error.exit_code]
    return error_answer(status, error.kind, error.message, exit_code=error.exit_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug outside the routes (in a middleware): the same one line as a route's guard gives."""
    return _error_answer(as_connector_error(exc))
