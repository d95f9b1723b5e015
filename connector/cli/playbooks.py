"""The ``playbook`` commands: check and run a playbook file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from connector.cli.common import read_input, run_flags, say, shared_options
from connector.connections import SANDBOX, find_connection
from connector.errors import BadInput
from connector.events.progress import showing_progress
from connector.playbook import PlaybookInvalid, load_checked, run_playbook
from connector.playbook.report import error_lines, summary_line, write_result
from connector.plugins import default_host
from connector.streams import writing


@click.group()
def playbook() -> None:
    """Chain actions: check or run a playbook file (format: schemas/playbook.json)."""


@playbook.command("check")
@shared_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sandbox", is_flag=True, help="Check as `playbook run --sandbox` would run it.")
@click.pass_context
def playbook_check(ctx: click.Context, file: Path, sandbox: bool) -> None:
    """Check a playbook without running it: prints "ok: N steps", or each problem (exit 2)."""
    try:
        compiled, _targets = load_checked(file, default_host(), config=ctx.obj["config"], sandbox=sandbox)
    except PlaybookInvalid as exc:
        refuse(exc)
    click.echo(f"ok: {len(compiled.steps)} steps")


@playbook.command("run")
@shared_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@run_flags("connector playbook run")
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The playbook's inputs (default {}).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    help="for_each items run at once, for steps that set no concurrency (default 4).",
)
@click.option("--progress/--no-progress", default=True, help="A live progress line on stderr, when it is a terminal.")
@click.option("--broker", metavar="URL", help="Run the steps on `connector worker`s of this Redis broker "
              "(a for_each as one group spread over them).")
@click.pass_context
def playbook_run(
    ctx: click.Context, file: Path, input_: str | None, concurrency: int | None, progress: bool, broker: str | None,
    run_flags: Callable[[], dict[str, Any]],
) -> None:
    """Check then run a playbook; prints every step's envelopes (--format json, ndjson or table).

    Exit 0 all steps succeeded, 3 some were partial or failed with on_error: continue,
    1 a step failed and stopped the run, 2 the playbook or its inputs are invalid.
    With --broker, 1 also when the broker cannot be reached.
    """
    from connector.executor import Executor, InProcess

    fields = run_flags()
    if fields.get("sandbox") is True:
        say("sandbox: the data is simulated (the embedded vendor simulators), not read from any vendor")
    fmt = fields.get("format") or "json"
    if fmt not in RESULT_FORMATS:
        raise BadInput(f"--format: a playbook's result is written as {', '.join(RESULT_FORMATS)}, not {fmt}")
    executor: Executor = InProcess(config=ctx.obj["config"])
    if broker is not None:
        from connector.jobs.executor import Workers

        executor = Workers(broker)
    try:
        with showing_progress(default_host(), enabled=progress):
            result = run_playbook(
                file, read_input(input_), sandbox=fields.get("sandbox", False) or fields.get("connection") == SANDBOX,
                dry_run=fields.get("dry_run", False), strict=fields.get("strict", False),
                config=ctx.obj["config"], concurrency=concurrency, executor=executor,
                connections=by_vendor(fields, ctx.obj["config"]),
            )
    except PlaybookInvalid as exc:
        refuse(exc)
    with writing(sys.stdout, "stdout"):
        write_result(result, fmt, sys.stdout)
        sys.stdout.flush()
    for line in error_lines(result):
        say(line)
    say(summary_line(result))
    sys.exit(result.exit_code)


def by_vendor(fields: dict[str, Any], config: Path | None) -> dict[str, str]:
    """The connection per vendor of ``--connection``: VENDOR=NAME as given, and a plain NAME for its own vendor."""
    chosen = dict(fields.get("connections", {}))
    name = fields.get("connection")
    if name not in (None, SANDBOX):
        chosen.setdefault(find_connection(name, config).vendor, name)
    return chosen


RESULT_FORMATS = ("json", "ndjson", "table")
"""How a playbook's result can be written (it is no action's envelope)."""


def refuse(exc: PlaybookInvalid) -> NoReturn:
    """Print each problem of an invalid playbook on its own line and exit with its code (2)."""
    for problem in exc.problems:
        say(problem)
    sys.exit(exc.exit_code)
