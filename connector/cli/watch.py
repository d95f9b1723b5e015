"""The ``watch`` command: poll an action incrementally, each new or changed item handled once."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from connector.cli.common import read_input, run_flags, say, seconds, shared_options
from connector.cli.playbooks import refuse
from connector.connections import SANDBOX
from connector.documents import quoted
from connector.errors import BadInput
from connector.executor import Executor
from connector.playbook import PlaybookInvalid
from connector.watch import source
from connector.watch import watch as run_watch
from connector.watch.items import parse_instant
from connector.watch.poller import utc_now

EARLIEST_SINCE = datetime(1970, 1, 1, tzinfo=UTC)
BROKER_CONCURRENCY = 8
"""Items handed to the workers at once by default (their own concurrency bounds what runs)."""


@click.command()
@shared_options
@click.argument("action")
@run_flags("connector watch")
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The action's filters (the watch sets since/until).")
@click.option("--every", default="60s", show_default=True, help="Time between polls, e.g. 30s or 5m.")
@click.option("--since", metavar="TIME|DURATION", help="Starting point of a new checkpoint: RFC 3339, or 2h (ago).")
@click.option("--lookback", default="5m", show_default=True, help="How far back each poll reads again.")
@click.option("--playbook", type=click.Path(dir_okay=False, path_type=Path), help="Run it on each item (inputs.item).")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint file.")
@click.option("--once", is_flag=True, help="One poll, then exit.")
@click.option("--broker", metavar="URL", help="Run each item's --playbook steps on `connector worker`s of this "
              "Redis broker; an item is committed once its playbook succeeded.")
@click.option("--concurrency", type=click.IntRange(1, 256), help="Items whose --playbook runs at once, each "
              "committed as it succeeds (default 1; with --broker 8, bounded by the workers' concurrency).")
@click.pass_context
def watch(
    ctx: click.Context, action: str, input_: str | None, every: str, since: str | None, lookback: str,
    playbook: Path | None, state: Path | None, once: bool, broker: str | None, concurrency: int | None,
    run_flags: Callable[[], dict[str, Any]],
) -> None:
    """Poll get_threats, list_events or list_incidents; print each new or changed item as NDJSON.

    \b
    The checkpoint (--state, default watch-<action>-<connection>.json in the user's state folder)
    is written after each item, so a watch killed and restarted goes on where it was. Stops
    cleanly on Ctrl-C or SIGTERM. --sandbox serves the simulators for as long as the watch runs.
    Exit (with --once): 0 poll complete, 1 the action or a playbook failed, 3 the action was
    partial (the same window is read again), 2 bad input.
    """
    from connector.formats import output_format
    from connector.plugins import default_host

    fields = run_flags()
    if broker is not None and playbook is None:
        raise BadInput("--broker: the workers run the playbook of each item; give --playbook")
    executor = _workers(broker) if broker is not None else None
    output = fields.get("output_file")
    pairs = fields.get("connections", {})
    polled_vendor = fields.get("vendor") or next(iter(default_host().action(action).vendors))
    connection = fields.get("connection") or pairs.get(polled_vendor)
    with _served(fields.pop("sandbox", False), connection) as sandbox_url:
        polled = source(
            action, read_input(input_), connection=None if sandbox_url else connection,
            vendor=fields.get("vendor"), sandbox_url=sandbox_url, config=ctx.obj["config"],
            strict=fields.get("strict", False),
        )
        try:
            code = run_watch(
                polled, every=seconds(every, "--every"), lookback=seconds(lookback, "--lookback"),
                since=starting_point(since) if since is not None else None, playbook=playbook,
                output=Path(output) if output else None, state=state, once=once, say=say, executor=executor,
                output_format=output_format(fields.get("format") or "ndjson", default_host()), connections=pairs,
                concurrency=concurrency or (BROKER_CONCURRENCY if broker and playbook else 1),
            )
        except PlaybookInvalid as exc:
            refuse(exc)
    sys.exit(code)


def _workers(broker: str) -> Executor:
    from connector.jobs.executor import Workers

    return Workers(broker)


@contextmanager
def _served(sandbox: bool | str, connection: str | None) -> Iterator[str | None]:
    """The sandbox URL the watch polls: a given one, or embedded simulators served for the watch's lifetime."""
    if isinstance(sandbox, str):
        yield sandbox
    elif sandbox or connection == SANDBOX:
        from connector.sandbox import running_sandbox

        with running_sandbox() as url:
            yield url
    else:
        yield None


def starting_point(text: str) -> datetime:
    """``--since``: an RFC 3339 instant from 1970 on, or a duration before now (``2h``); BadInput otherwise."""
    try:
        instant = parse_instant(text)
    except ValueError:
        pass
    else:
        # Each poll reads from the bookmark minus the look-back: a year-1 bookmark would leave the calendar.
        if instant < EARLIEST_SINCE:
            raise BadInput(f"--since: {text} is before 1970-01-01T00:00:00Z (no vendor holds older items)")
        if instant > utc_now():
            raise BadInput(f"--since: {text} is in the future (the watch reads what happened up to now)")
        return instant
    try:
        return utc_now() - timedelta(seconds=seconds(text, "--since"))
    except BadInput:
        raise BadInput(
            f"--since: {quoted(text)} is not an RFC 3339 instant like 2026-10-01T00:00:00Z or a duration like 2h"
        ) from None
