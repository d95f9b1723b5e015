"""The Celery app: a Redis broker and result backend, tuned so nothing is lost and nothing hangs.

Tasks are acknowledged late (after they ran), one message reserved per worker slot, so a worker
killed mid-task leaves its message unacknowledged: Redis hands it to another worker once the
visibility timeout has passed (the actions are idempotent: a create finds its ``ref_id``).
Every broker and backend call has a connect and read time-out and a bounded retry, so a broker
that goes away is an error within seconds, never a hang; a worker waits out a short one (about
12 s) and finishes what it runs. A message that comes back after its task succeeded (its
acknowledgement lost) answers the stored result instead of running again.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from celery import Celery, Task, states
from celery.backends.redis import RedisBackend

from connector.errors import BadInput
from connector.redaction import redactor

BROKER_ENV = "CONNECTOR_BROKER"
"""The broker URL when ``--broker`` is not given (the place for a URL that carries a password)."""

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
QUEUE = "connector"
"""The one queue every connector task goes to (workers may be pointed at others with ``-Q``)."""

RESULT_TTL_S = 24 * 3600
"""How long an envelope stays in the backend after its task ended."""

VISIBILITY_TIMEOUT_S = 300
"""How long the task of a worker that died waits before Redis gives it to another worker (a
living worker keeps its running tasks invisible however long they run: see reserved.py)."""

IO_TIMEOUT_S = 5.0
"""Connect and read time-out of every broker and backend call."""

BLIP_RETRY = {"max_retries": 3, "interval_start": 2, "interval_step": 2, "interval_max": 6}
"""How the worker waits for a broker that went away: three tries, 2 + 4 + 6 s apart (about 12 s)."""

_SCHEMES = ("redis", "rediss", "redis+socket")


def broker_url(value: str | None) -> str:
    """The broker URL: ``value`` (``--broker``), else ``$CONNECTOR_BROKER``, else local Redis; checked.

    A password on the command line would show in ``ps``: ``--broker`` must not carry one.
    """
    url = value or os.environ.get(BROKER_ENV) or DEFAULT_BROKER
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise BadInput(f"--broker: {display_url(url)!r} is not a Redis URL like redis://127.0.0.1:6379/0")
    if parts.scheme == "rediss" and "ssl_cert_reqs=" not in parts.query:
        # Celery refuses a TLS URL that does not say how to check the server's certificate.
        raise BadInput(f"--broker: {display_url(url)!r}: a rediss:// URL needs ?ssl_cert_reqs=required (or optional)")
    if value is not None and parts.password:
        raise BadInput(f"--broker: the URL carries a password; put it in ${BROKER_ENV} (never on a command line)")
    if parts.password:
        redactor.add(parts.password)
    return url


def display_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


class ResultBackend(RedisBackend):  # type: ignore[misc]
    """Celery's Redis result backend without its result subscription per submitted task.

    Jobs poll their result (:meth:`~connector.jobs.handles.Job.get`): a subscription would cost a
    channel per task, and a broker gone at submit time would be retried and logged twice over.
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Nothing: see the class docstring."""


class OnceTask(Task):  # type: ignore[misc]
    """A task that is not run again once it succeeded: a redelivered message answers its stored result.

    A message can come back after its task ended: the acknowledgement was lost in a broker blip,
    or the worker died between storing the result and acknowledging. The backend never replaces
    a success, so the stored result is the job's answer either way.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The stored result when this task id already succeeded, else the task run."""
        meta = self.backend.get_task_meta(self.request.id)
        if meta.get("status") == states.SUCCESS:
            return meta.get("result")
        return super().__call__(*args, **kwargs)


@cache
def celery_app(url: str, visibility_timeout: float = VISIBILITY_TIMEOUT_S, result_ttl: float = RESULT_TTL_S) -> Celery:
    """The app for broker ``url`` (one per URL and settings in a process), with connector's tasks registered."""
    from connector.jobs.tasks import register

    backend = f"{ResultBackend.__module__}:{ResultBackend.__name__}+{url}"
    app = Celery("connector", broker=url, backend=backend, set_as_current=False, task_cls=OnceTask)
    # Sweeping for abandoned messages often, or a killed worker's task waits up to 10 sweeps of 10 s.
    restore_every = max(1.0, min(10.0, visibility_timeout / 4))
    transport: dict[str, Any] = {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": restore_every,
        "unacked_restore_throttle": 1,
        "socket_timeout": IO_TIMEOUT_S,
        "socket_connect_timeout": IO_TIMEOUT_S,
    }
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        # Threads cannot be cancelled, and need not be: a running task keeps its message reserved
        # through a broker blip, stores its result and acknowledges once the broker is back.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_track_started=True,
        task_default_queue=QUEUE,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        result_expires=result_ttl,
        broker_transport_options=transport,
        # A result finished during a broker blip waits for the broker as the worker does (2 + 4 + 6 s).
        result_backend_transport_options={"retry_policy": BLIP_RETRY},
        broker_connection_timeout=IO_TIMEOUT_S,
        broker_connection_retry_on_startup=False,
        broker_connection_max_retries=BLIP_RETRY["max_retries"],
        redis_socket_timeout=IO_TIMEOUT_S,
        redis_socket_connect_timeout=IO_TIMEOUT_S,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
    )
    register(app)
    return app


def serve_as_worker(app: Celery) -> None:
    """Settings of a worker's app only: its results wait out a broker blip (callers fail fast instead),
    and each job's marker expires with its result."""
    from celery import signals

    from connector.jobs.markers import settle

    def ended(task_id: str, task: Task, **_: Any) -> None:
        if task.app is app:
            settle(app.backend.client, task_id, int(app.conf.result_expires or RESULT_TTL_S))

    signals.task_postrun.connect(ended, weak=False)
    app.conf.update(
        # What is not a message, or not one this worker can run, is kept aside (see refused.py).
        broker_transport="connector.jobs.refused:Transport",
        worker_consumer="connector.jobs.refused:Consumer",
        result_backend_always_retry=True,
        result_backend_max_retries=BLIP_RETRY["max_retries"] * 2,
        result_backend_base_sleep_between_retries_ms=1000,
        result_backend_max_sleep_between_retries_ms=BLIP_RETRY["interval_max"] * 1000,
    )
