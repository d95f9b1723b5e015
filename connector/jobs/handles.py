"""Submitting work to the workers and getting it back: :func:`submit_action`, :func:`submit_playbook`, :func:`job`.

A submitted task is a :class:`Job`: its id, its state (pending, running, done), and ``get(timeout)``
(``aget`` from async code) for its envelope or playbook result. Each job leaves a small marker
beside its result, with the same time to live, so a job id that was never submitted (or whose
result expired) is told apart from one still queued, which Celery alone cannot do.

Every call to the broker goes through :func:`broker_calls`: a broker that cannot be reached, or
goes away while a caller waits, is one :class:`BrokerUnavailable` line (exit 1) within seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Generic, TypeVar

import orjson
from celery import Celery, states
from celery.result import AsyncResult
from kombu.utils.uuid import uuid

from connector.envelope import Envelope, ErrorItem
from connector.errors import BadInput, BrokerUnavailable, JobTimeout, VendorError
from connector.jobs.app import RESULT_TTL_S, celery_app, display_url
from connector.jobs.markers import KEY as MARKER
from connector.jobs.markers import marker_kind, marker_value
from connector.jobs.tasks import MAX_RESULT_BYTES, RUN_ACTION, RUN_PLAYBOOK, TOO_LARGE
from connector.playbook.model import PlaybookInvalid
from connector.playbook.report import PlaybookResult
from connector.request import RunRequest

T = TypeVar("T")
ACTION, PLAYBOOK = "action", "playbook"
WORKER_ERROR = "worker_error"

_POLL_FIRST_S, _POLL_MAX_S = 0.005, 0.2


@contextmanager
def broker_calls(url: str) -> Iterator[None]:
    """Turn every way a broker call can fail into one :class:`BrokerUnavailable` line."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    try:
        yield
    except (OperationalError, RedisError, ConnectionError, TimeoutError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise BrokerUnavailable(f"broker {display_url(url)}: unreachable ({reason})") from None


class Job(Generic[T]):
    """One submitted task: ``id``, ``state()`` and its result with ``get``/``aget``."""

    def __init__(self, app: Celery, url: str, job_id: str, kind: str, decode: Callable[[Any], T]) -> None:
        self.id, self.kind, self._url, self._decode = job_id, kind, url, decode
        self._result = AsyncResult(job_id, app=app)

    def state(self) -> str:
        """``pending`` (queued), ``running`` (a worker has it) or ``done``."""
        with broker_calls(self._url):
            state = self._result.state
        if state in states.READY_STATES:
            return "done"
        return "running" if state in (states.STARTED, states.RETRY) else "pending"

    def get(self, timeout: float | None = None) -> T:
        """Wait for the result (at most ``timeout`` seconds: then :class:`JobTimeout`) and return it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = _POLL_FIRST_S
        while self.state() != "done":
            self._check_deadline(deadline, timeout)
            time.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX_S)
        return self._value()

    async def aget(self, timeout: float | None = None) -> T:
        """:meth:`get` for async code: the event loop goes on while the job runs."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = _POLL_FIRST_S
        while await asyncio.to_thread(self.state) != "done":
            self._check_deadline(deadline, timeout)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX_S)
        return await asyncio.to_thread(self._value)

    def _check_deadline(self, deadline: float | None, timeout: float | None) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise JobTimeout(f"job {self.id}: no result after {timeout:g}s (still {self.state()})")

    def _value(self) -> T:
        with broker_calls(self._url):
            state, value = self._result.state, self._result.result
        if state != states.SUCCESS:
            # The task raised instead of answering: a bug, or a call the worker's version cannot take.
            reason = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else str(state)
            value = {WORKER_ERROR: f"job {self.id}: the worker failed ({' '.join(reason.split())[:200]})"}
        return self._decode(value)


def submit_action(
    action: str, input: Mapping[str, Any] | None = None, *, broker: str, max_result: int = MAX_RESULT_BYTES,
    owner: str | None = None, **options: Any,
) -> Job[Envelope]:
    """Queue one action for the workers; ``.get(timeout)`` gives its envelope.

    ``options`` are the run request's fields (:class:`~connector.request.RunRequest`):
    ``connection`` is a name the workers resolve from their own connections files (the secret
    never travels), ``sandbox`` the URL of a running sandbox the workers can reach. A result
    over ``max_result`` bytes comes back as a failed ``too_large`` envelope; a read's records can
    go to ``output_file`` instead (a path inside the worker's ``--output-dir``). ``owner`` (a token)
    is the only one :func:`job` shows the job to, besides callers naming no owner.
    """
    request = RunRequest.from_payload({"action": action, "input": dict(input or {}), **options}, "options")
    return submit_request(request, broker=broker, max_result=max_result, owner=owner)


def submit_request(
    request: RunRequest, *, broker: str, max_result: int = MAX_RESULT_BYTES, owner: str | None = None,
) -> Job[Envelope]:
    """Queue one run request (it travels as it is, the task's payload); ``.get(timeout)`` gives its envelope."""
    kwargs = {"request": request.payload(), "max_result": max_result}
    return _submit(broker, RUN_ACTION, f"{ACTION}:{request.action}", kwargs, max_result, owner)


def submit_playbook(
    playbook: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    *,
    sandbox: str | None = None,
    dry_run: bool = False,
    broker: str,
    max_result: int = MAX_RESULT_BYTES,
    owner: str | None = None,
) -> Job[PlaybookResult]:
    """Queue a whole playbook (a checked mapping) to run on one worker; ``.get()`` gives its result.

    ``owner``: as for :func:`submit_action`.
    """
    kwargs = {
        "playbook": dict(playbook), "inputs": dict(inputs or {}), "sandbox": sandbox, "dry_run": dry_run,
        "max_result": max_result,
    }
    return _submit(broker, RUN_PLAYBOOK, PLAYBOOK, kwargs, max_result, owner)


def submit_group(requests: list[RunRequest], *, broker: str) -> list[Job[Envelope]]:
    """Queue many run requests as one Celery group; a Job each."""
    from celery import group

    app = celery_app(broker)
    calls = [{"request": request.payload(), "max_result": MAX_RESULT_BYTES} for request in requests]
    with broker_calls(broker):
        sent = group((app.signature(RUN_ACTION, kwargs=call) for call in calls), app=app).apply_async()
    return [
        Job(app, broker, result.id, ACTION, partial(decode_envelope, action=request.action))
        for request, result in zip(requests, sent.results, strict=True)
    ]


def job(job_id: str, *, broker: str, owner: str | None = None) -> Job[Any]:
    """The job ``job_id`` was given at submit time; BadInput when no such job is known (or it expired).

    With ``owner``, a job another owner submitted is unknown too (see :mod:`connector.jobs.markers`).
    """
    app = celery_app(broker)
    with broker_calls(broker):
        kind = marker_kind(app.backend.client.get(MARKER.format(job_id)), owner)
    if kind is None:
        raise BadInput(f"job {job_id}: unknown here (never submitted to this broker, or expired after "
                       f"{RESULT_TTL_S // 3600}h)")
    kind, _, action = kind.partition(":")
    if kind == PLAYBOOK:
        return Job(app, broker, job_id, kind, decode_playbook)
    return Job(app, broker, job_id, kind, partial(decode_envelope, action=action))


def decode_envelope(value: Any, action: str = "") -> Envelope:
    """An action task's result as an Envelope (a worker's failure as a failed one)."""
    if isinstance(value, dict) and WORKER_ERROR in value:
        error = ErrorItem(type="worker", message=value[WORKER_ERROR])
        return Envelope(action=action or "unknown", status="failed", errors=[error])
    return Envelope.model_validate(value)


def decode_playbook(value: Any) -> PlaybookResult:
    """A playbook task's result; a playbook the worker refused raises :class:`PlaybookInvalid` here."""
    for failure in (WORKER_ERROR, TOO_LARGE):
        if isinstance(value, dict) and failure in value:
            raise VendorError(value[failure])
    if isinstance(value, dict) and "refused" in value:
        raise PlaybookInvalid(list(value["refused"]))
    return PlaybookResult.model_validate(value)


def _submit(
    broker: str, task: str, marker: str, kwargs: dict[str, Any], max_result: int, owner: str | None = None,
) -> Job[Any]:
    """Queue ``task``; ``marker`` (``action:NAME`` or ``playbook``) is kept beside its result."""
    size = len(orjson.dumps(kwargs))
    if size > max_result:
        raise BadInput(f"input: {size} bytes, over the task limit of {max_result} bytes")
    app = celery_app(broker)
    with broker_calls(broker):
        job_id = uuid()
        # The marker first: a broker that cannot be reached fails here, before anything was queued.
        ttl = int(app.conf.result_expires or RESULT_TTL_S)
        app.backend.client.set(MARKER.format(job_id), marker_value(marker, owner), ex=ttl)
        sent = app.send_task(task, kwargs=kwargs, task_id=job_id)
    kind, _, action = marker.partition(":")
    decode: Callable[[Any], Any] = decode_playbook if kind == PLAYBOOK else partial(decode_envelope, action=action)
    return Job(app, broker, sent.id, kind, decode)
