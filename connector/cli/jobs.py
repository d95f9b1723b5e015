"""The commands of the task queue: ``worker`` runs queued work, ``submit`` queues an action, ``result`` reads it.

Celery and the Redis client are imported inside the commands: ``connector --help`` needs neither.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from connector.cli.common import run_flags, say, seconds
from connector.errors import EXIT_FAILED, BadInput
from connector.output import to_json

BROKER_HELP = "Redis URL of the broker and result backend (default: $CONNECTOR_BROKER, else redis://127.0.0.1:6379/0)."


@click.command()
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Tasks run at once by this worker (threads: the work waits on the network).")
@click.option("--name", help="Worker name (default: connector-PID@HOST).")
@click.option("--visibility-timeout", default="5m", show_default=True,
              help="How long a task of a worker that died waits before another worker takes it.")
@click.option("--output-dir", type=click.Path(file_okay=False, exists=True, writable=True),
              help="The only folder where tasks may write records (submit --output-file); none without it.")
@click.pass_context
def worker(
    ctx: click.Context, broker: str | None, concurrency: int, name: str | None, visibility_timeout: str,
    output_dir: str | None,
) -> None:
    """Run queued actions and playbooks until SIGTERM or SIGINT (running tasks finish first).

    \b
    Connections are resolved from this worker's own connections file (--config or
    $CONNECTOR_CONFIG): tasks carry connection names, never secrets. Rate limits are
    shared through the broker's Redis with every other worker ($CONNECTOR_LIMITS_URL
    overrides where). Exit 1 when the broker cannot be reached.
    """
    from celery import signals

    from connector.jobs.app import broker_url, celery_app, display_url, serve_as_worker
    from connector.jobs.handles import broker_calls
    from connector.jobs.limits import LIMITS_ENV
    from connector.jobs.reserved import Reservations
    from connector.jobs.tasks import CONFIG_KEY, OUTPUT_DIR_KEY
    from connector.plugins import default_host

    url = broker_url(broker)
    timeout = seconds(visibility_timeout, "--visibility-timeout")
    app = celery_app(url, visibility_timeout=max(timeout, 1.0))
    reservations = Reservations(url, max(timeout, 1.0))
    config = ctx.obj["config"]
    app.conf.update({CONFIG_KEY: str(config) if config else None, OUTPUT_DIR_KEY: output_dir})
    serve_as_worker(app)
    os.environ.setdefault(LIMITS_ENV, url)
    hostname = name or f"connector-{os.getpid()}@{socket.gethostname()}"

    def ready(**_: object) -> None:
        _quiet_warnings()
        reservations.start()
        say(f"worker {hostname} ready: broker {display_url(url)}, concurrency {concurrency}")

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # Celery logs a lost broker and each retry with a traceback; its lines say enough (-vv keeps them).
        signals.after_setup_logger.connect(_quiet_handlers, weak=False)
    _quiet_warnings()
    signals.worker_ready.connect(ready, weak=False)
    # Every vendor loaded now, in one thread: the host loads them on first use, which tasks
    # running at once in the pool's threads would race to do.
    default_host().vendors  # noqa: B018
    with broker_calls(url):
        # A connection refused at start is an error now, not an endless retry.
        app.connection_for_write().ensure_connection(max_retries=1)
    runner = app.Worker(
        hostname=hostname, pool_cls="threads", concurrency=concurrency, loglevel="WARNING", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True, redirect_stdouts=False,
    )
    runner.start()
    reservations.stop()
    code = runner.exitcode or 0
    if code:
        say(f"worker {hostname} stopped: the broker {display_url(url)} went away")
        sys.exit(EXIT_FAILED)
    say(f"worker {hostname} stopped")


@click.command()
@click.argument("action")
@run_flags("connector submit (worker)")
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The action's input (default {}).")
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--wait", "wait_", is_flag=True, help="Wait for the envelope and print it, as `connector run` does.")
@click.option("--timeout", default="10m", show_default=True, help="With --wait: how long to wait.")
def submit(
    action: str, input_: str | None, broker: str | None, wait_: bool, timeout: str,
    run_flags: Callable[..., dict[str, Any]],
) -> None:
    """Queue one action for the workers; prints its job id (see `connector result`).

    Checked here first, as `connector run` checks it (exit 2 at once). --output-file is a path on
    the worker's file system. --sandbox starts the simulators in this process for the workers of
    this machine, so it needs --wait. Exit 0 queued, 2 bad input, 1 the broker cannot be reached;
    with --wait the action's own code.
    """
    from connector.execute import preflight
    from connector.jobs.app import broker_url
    from connector.jobs.executor import Workers
    from connector.request import RunRequest
    from connector.sync import run_sync

    url = broker_url(broker)
    wait_for = seconds(timeout, "--timeout")
    fields = run_flags(action=action, input_flag=input_)
    if fields.get("sandbox") is True and not wait_:
        raise BadInput("--sandbox: the simulators live as long as this process: give --wait (or --sandbox-url)")
    workers = Workers(url)
    request = preflight(workers, RunRequest(action=action, **fields))
    with _sandbox_for_workers(request) as sent:
        job = run_sync(workers.submit(sent))
        if not wait_:
            click.echo(job.id)
            return
        say(f"job {job.id} queued")
        _print_envelope(job.get(wait_for))


@contextmanager
def _sandbox_for_workers(request: Any) -> Iterator[Any]:
    """``request`` with an embedded sandbox (``sandbox: true``) served here, as its URL."""
    if request.sandbox is not True:
        yield request
        return
    from connector.sandbox import running_sandbox

    with running_sandbox() as url:
        yield request.model_copy(update={"sandbox": url})


@click.command()
@click.argument("job_id", metavar="JOB")
@click.option("--broker", metavar="URL", help=BROKER_HELP)
@click.option("--wait", "wait_", is_flag=True, help="Wait until the job is done.")
@click.option("--timeout", default="10m", show_default=True, help="With --wait: how long to wait.")
def result(job_id: str, broker: str | None, wait_: bool, timeout: str) -> None:
    """Print a queued job's envelope (exit code as `connector run`), or its state while it runs.

    \b
    Without --wait, a job not done yet prints {"job": ID, "state": "pending"|"running"}
    and exits 0; an unknown or expired job id exits 2.
    """
    from connector.jobs.app import broker_url
    from connector.jobs.handles import job

    url = broker_url(broker)
    wait_for = seconds(timeout, "--timeout")
    found = job(job_id, broker=url)
    if not wait_:
        state = found.state()
        if state != "done":
            click.echo(to_json({"job": job_id, "state": state}, pretty=False))
            return
    value = found.get(wait_for)
    if hasattr(value, "steps"):
        from connector.playbook.report import summary_line, write_result

        write_result(value, "json", sys.stdout)
        say(summary_line(value))
        sys.exit(value.exit_code)
    _print_envelope(value)


def _quiet_warnings() -> None:
    """Turn off Celery's warnings that do not apply to this app (again once its logging set-up turned them on)."""
    from celery.exceptions import CPendingDeprecationWarning, SecurityWarning

    # Of root, because a pickle task could run code as root: this app accepts JSON only.
    warnings.filterwarnings("ignore", category=SecurityWarning)
    # At each broker blip, of a setting this app chose on purpose (see app.py).
    warnings.filterwarnings("ignore", category=CPendingDeprecationWarning)


def _quiet_handlers(logger: logging.Logger, **_: object) -> None:
    """Drop the traceback of every record Celery's handlers write."""
    for handler in logger.handlers:
        handler.addFilter(_without_traceback)


def _without_traceback(record: logging.LogRecord) -> bool:
    """A logging filter keeping the record's message and dropping its traceback."""
    record.exc_info, record.exc_text = None, None
    return True


def _print_envelope(envelope: object) -> None:
    """Write the envelope as ``connector run --format json`` does, its error lines and summary; exit its code."""
    from connector.envelope import Envelope
    from connector.output import summary_line

    assert isinstance(envelope, Envelope)
    click.echo(to_json(envelope))
    for error in envelope.errors:
        say(error.message if not error.item else f"{error.item}: {error.message}")
    say(summary_line(envelope))
    sys.exit(envelope.exit_code)
