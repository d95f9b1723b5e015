"""The API with ``--broker``: runs are queued for the workers and read back by job id.

    POST /v1/actions/{name}/run, POST /v1/playbooks/run   202 {"job": ID, "state": "pending", "href": ...}
    GET  /v1/jobs/{id}     202 {"job", "state"} while queued or running; then the envelope or the
                           playbook result exactly as the in-process route answers it; 404 unknown,
                           or queued with another token (a job belongs to the token that queued it)

Bodies are checked as without a broker (400 before anything is queued); the broker calls are
blocking socket calls, made off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial
from typing import Any

from starlette.responses import Response

from connector.errors import EXIT_BAD_INPUT, BadInput, ConnectorError
from connector.execute import preflight
from connector.jobs.handles import Job, job, submit_playbook
from connector.playbook.model import PlaybookInvalid
from connector.request import RunRequest
from connector.server.answers import error_answer, json_answer, run_answer

JOBS_PATH = "/v1/jobs/{id}"


def queued(handle: Job[Any]) -> Response:
    """202 naming the job and where to read it."""
    href = JOBS_PATH.format(id=handle.id)
    return json_answer({"job": handle.id, "state": "pending", "href": href}, 202, {"Location": href})


async def queue_action(executor: Any, request: RunRequest, *, owner: str | None = None) -> Response:
    """Queue one run request for ``owner``, checked here first as the run would check it; 202, 400, or
    502 when the broker cannot be reached. ``executor`` is the workers' (:class:`connector.jobs.executor.Workers`)."""
    try:
        handle = await executor.submit(preflight(executor, request), owner=owner)
    except ConnectorError as exc:
        return _refused(exc)
    return queued(handle)


async def queue_playbook(
    executor: Any, playbook: Mapping[str, Any], inputs: Mapping[str, Any], sandbox: str | None, dry_run: bool,
    *, owner: str | None = None,
) -> Response:
    """Queue a checked playbook for ``owner`` to run on one worker; 202, or 502 when the broker cannot be reached."""
    try:
        handle = await asyncio.to_thread(
            lambda: submit_playbook(playbook, inputs, sandbox=sandbox, dry_run=dry_run, broker=executor.broker,
                                    owner=owner)
        )
    except ConnectorError as exc:
        return _refused(exc)
    return queued(handle)


async def job_answer(executor: Any, job_id: str, *, owner: str | None = None) -> Response:
    """A job's state while it runs, then its envelope or result with the status of its exit code;
    404 when ``owner`` did not queue it."""
    try:
        handle = await asyncio.to_thread(partial(job, job_id, broker=executor.broker, owner=owner))
        state = await asyncio.to_thread(handle.state)
        if state != "done":
            return json_answer({"job": job_id, "state": state}, 202)
        value = await asyncio.to_thread(handle.get, 0)
    except PlaybookInvalid as exc:
        return error_answer(400, exc.kind, exc.message, exit_code=EXIT_BAD_INPUT)
    except BadInput as exc:
        return error_answer(404, "not_found", exc.message)
    except ConnectorError as exc:
        return _refused(exc)
    return run_answer(value, value.exit_code)


def _refused(exc: ConnectorError) -> Response:
    """Bad input is the caller's (400); anything else is the broker's (502)."""
    status = 400 if exc.exit_code == EXIT_BAD_INPUT else 502
    return error_answer(status, exc.kind, exc.message, exit_code=exc.exit_code)
