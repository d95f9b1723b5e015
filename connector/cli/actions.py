"""Commands on single actions: list, describe and run."""

from __future__ import annotations

import sys

import click

from connector.cli.common import checked_sandbox_url, exclusive, read_input, say, shared_options
from connector.connections import SANDBOX
from connector.envelope import Envelope
from connector.events.progress import showing_progress
from connector.output import FORMATS, summary_line, to_json, write_envelope
from connector.playbook.pipes import mapped_input
from connector.plugins import default_host
from connector.runner import run_action
from connector.streams import writing


@click.command("list")
@shared_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_actions(fmt: str) -> None:
    """List every action with its vendors."""
    host = default_host()
    specs = sorted(host.actions.values(), key=lambda spec: spec.name)
    with writing(sys.stdout, "stdout"):
        if fmt == "json":
            rows = [{"name": s.name, "title": s.title, "mutates": s.mutates, "vendors": list(s.vendors)} for s in specs]
            click.echo(to_json(rows))
            return
        width = max(len(spec.cli_name) for spec in specs)
        for spec in specs:
            mark = "mutates" if spec.mutates else "read"
            click.echo(f"{spec.cli_name:<{width}}  {mark:<7}  {', '.join(spec.vendors):<32}  {spec.title}")


@click.command()
@shared_options
@click.argument("action")
def describe(action: str) -> None:
    """Show an action: what it does, its vendors and endpoints, its input and output schemas."""
    host = default_host()
    spec = host.action(action)
    document = spec.model_dump(exclude={"input", "output"})
    document["input_schema"] = host.schemas.get(spec.input)
    document["output_schema"] = host.schemas.get(spec.output)
    with writing(sys.stdout, "stdout"):  # click.echo flushes: a closed pipe or a full disk shows here
        click.echo(to_json(document))


@click.command()
@shared_options
@click.argument("action")
@click.option("--connection", "-c", help="Connection name from the connections file, or 'sandbox'.")
@click.option("--sandbox", is_flag=True, help="Run against the embedded vendor simulators.")
@click.option("--sandbox-url", metavar="URL", help="Run against a running `connector sandbox`.")
@click.option("--vendor", help="Which vendor (with --sandbox; must match the connection otherwise).")
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The action's input (default {}).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--dry-run", is_flag=True, help="Mutating actions: show the requests, send none.")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="NAME=JMESPATH",
    help="Pipes: set input NAME to JMESPATH evaluated on the upstream envelope read by --input -.",
)
@click.option("--progress/--no-progress", default=True, help="A live progress line on stderr, when it is a terminal.")
@click.pass_context
def run(
    ctx: click.Context,
    action: str,
    connection: str | None,
    sandbox: bool,
    sandbox_url: str | None,
    vendor: str | None,
    input_: str | None,
    fmt: str,
    dry_run: bool,
    maps: tuple[str, ...],
    progress: bool,
) -> None:
    """Run one action and print its envelope.

    \b
    Exit codes: 0 success; 1 the action failed (vendor, network); 2 bad input or
    configuration; 3 partial success (the envelope's errors[].item name the items).

    \b
    Pipes: feed one action's envelope to the next and pick its fields with --map:
      connector run get-threats --sandbox \\
        | connector run update-threat-status --sandbox --input - \\
            --map 'ids=output.threats[].vendor_id' --map 'status=`"in_progress"`'
    """
    # --connection sandbox is the same place as --sandbox; any other pair contradicts itself.
    exclusive(connection=None if connection == SANDBOX else connection, sandbox=sandbox, sandbox_url=sandbox_url)
    document = mapped_input(read_input(input_), maps)
    with showing_progress(default_host(), enabled=progress):
        envelope = run_action(
            action,
            document,
            connection=connection,
            vendor=vendor,
            sandbox=checked_sandbox_url(sandbox_url) or sandbox,
            dry_run=dry_run,
            config=ctx.obj["config"],
        )
    _finish(envelope, fmt)


def _finish(envelope: Envelope, fmt: str) -> None:
    write_envelope(envelope, fmt, sys.stdout)
    for error in envelope.errors:
        say(error.message if not error.item else f"{error.item}: {error.message}")
    say(summary_line(envelope))
    sys.exit(envelope.exit_code)
