"""The command line: list, describe, run and sandbox.

The envelope goes to stdout; people's messages go to stderr, one line per problem. Exit codes:
0 success, 1 the action failed (vendor or network), 2 bad input or config, 3 partial success.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click
import orjson

from connector import __version__
from connector.envelope import EXIT_BAD_INPUT, Envelope
from connector.errors import BadInput, ConnectorError
from connector.output import FORMATS, summary_line, to_json, write_envelope
from connector.playbook import PlaybookInvalid, load_checked, run_playbook
from connector.playbook.pipes import mapped_input
from connector.playbook.report import error_lines, write_result
from connector.playbook.report import summary_line as playbook_summary_line
from connector.plugins import default_host
from connector.redaction import redactor
from connector.runner import run_action

log = logging.getLogger("connector")


def _say(message: str) -> None:
    click.echo(f"connector: {redactor.redact(message)}", err=True)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def read_input(value: str | None) -> dict[str, Any]:
    """Parse ``--input``: inline JSON, ``@FILE`` or ``-`` for stdin; it must be a JSON object."""
    if value is None:
        return {}
    if value == "-":
        text, origin = sys.stdin.read(), "stdin"
    elif value.startswith("@"):
        path = Path(value[1:])
        try:
            text, origin = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise BadInput(f"--input: cannot read {path}: {exc.strerror}") from None
    else:
        text, origin = value, "--input"
    try:
        document = orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"input ({origin}): not valid JSON: {exc.args[0]}") from None
    if not isinstance(document, dict):
        raise BadInput(f"input ({origin}): expected a JSON object, got {type(document).__name__}")
    return document


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="connector")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for debug).")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CONNECTOR_CONFIG",
    help="Connections file (default: $CONNECTOR_CONFIG, else the user's config folder).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, config: Path | None) -> None:
    """SOAR-style actions against SentinelOne, MySecutec TAM, Nameshield CTI and CISO Assistant."""
    _setup_logging(verbose)
    ctx.obj = {"config": config}


@cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_actions(fmt: str) -> None:
    """List every action with its vendors."""
    host = default_host()
    specs = sorted(host.actions.values(), key=lambda spec: spec.name)
    if fmt == "json":
        rows = [{"name": s.name, "title": s.title, "mutates": s.mutates, "vendors": list(s.vendors)} for s in specs]
        click.echo(to_json(rows))
        return
    width = max(len(spec.cli_name) for spec in specs)
    for spec in specs:
        mark = "mutates" if spec.mutates else "read"
        click.echo(f"{spec.cli_name:<{width}}  {mark:<7}  {', '.join(spec.vendors):<32}  {spec.title}")


@cli.command()
@click.argument("action")
def describe(action: str) -> None:
    """Show an action: what it does, its vendors and endpoints, its input and output schemas."""
    host = default_host()
    spec = host.action(action)
    document = spec.model_dump(exclude={"input", "output"})
    document["input_schema"] = host.schemas.get(spec.input)
    document["output_schema"] = host.schemas.get(spec.output)
    click.echo(to_json(document))


@cli.command()
@click.argument("action")
@click.option("--connection", "-c", help="Connection name from the connections file, or 'sandbox'.")
@click.option("--sandbox", is_flag=True, help="Run against the embedded vendor simulators.")
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
@click.pass_context
def run(
    ctx: click.Context,
    action: str,
    connection: str | None,
    sandbox: bool,
    vendor: str | None,
    input_: str | None,
    fmt: str,
    dry_run: bool,
    maps: tuple[str, ...],
) -> None:
    """Run one action and print its envelope.

    \b
    Pipes: feed one action's envelope to the next and pick its fields with --map:
      connector run get-threats --sandbox \\
        | connector run update-threat-status --sandbox --input - \\
            --map 'ids=output.threats[].vendor_id' --map 'status=`"in_progress"`'
    """
    document = mapped_input(read_input(input_), maps)
    envelope = run_action(
        action,
        document,
        connection=connection,
        vendor=vendor,
        sandbox=sandbox,
        dry_run=dry_run,
        config=ctx.obj["config"],
    )
    _finish(envelope, fmt)


def _finish(envelope: Envelope, fmt: str) -> None:
    write_envelope(envelope, fmt, sys.stdout)
    for error in envelope.errors:
        _say(error.message if not error.item else f"{error.item}: {error.message}")
    _say(summary_line(envelope))
    sys.exit(envelope.exit_code)


@cli.group()
def playbook() -> None:
    """Chain actions: check or run a playbook file (format: schemas/playbook.json)."""


@playbook.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sandbox", is_flag=True, help="Check as `playbook run --sandbox` would run it.")
@click.pass_context
def playbook_check(ctx: click.Context, file: Path, sandbox: bool) -> None:
    """Check a playbook without running it: prints "ok: N steps", or each problem (exit 2)."""
    try:
        compiled, _targets = load_checked(file, default_host(), config=ctx.obj["config"], sandbox=sandbox)
    except PlaybookInvalid as exc:
        _refuse(exc)
    click.echo(f"ok: {len(compiled.steps)} steps")


@playbook.command("run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The playbook's inputs (default {}).")
@click.option("--sandbox", is_flag=True, help="Run every step against one embedded sandbox (all vendors).")
@click.option("--sandbox-url", metavar="URL", help="Run every step against a running `connector sandbox`.")
@click.option("--dry-run", is_flag=True, help="Mutating steps: show the requests, send none.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    help="for_each items run at once, for steps that set no concurrency (default 4).",
)
@click.pass_context
def playbook_run(
    ctx: click.Context,
    file: Path,
    input_: str | None,
    sandbox: bool,
    sandbox_url: str | None,
    dry_run: bool,
    fmt: str,
    concurrency: int | None,
) -> None:
    """Check then run a playbook; prints every step's envelopes.

    Exit 0 all steps succeeded, 3 some were partial or failed with on_error: continue,
    1 a step failed and stopped the run, 2 the playbook or its inputs are invalid.
    """
    if sandbox_url and urlsplit(sandbox_url).scheme not in ("http", "https"):
        raise BadInput(f"--sandbox-url: {sandbox_url!r} is not an http(s) URL like http://127.0.0.1:8800")
    try:
        result = run_playbook(
            file,
            read_input(input_),
            sandbox=sandbox_url.rstrip("/") if sandbox_url else sandbox,
            dry_run=dry_run,
            config=ctx.obj["config"],
            concurrency=concurrency,
        )
    except PlaybookInvalid as exc:
        _refuse(exc)
    write_result(result, fmt, sys.stdout)
    for line in error_lines(result):
        _say(line)
    _say(playbook_summary_line(result))
    sys.exit(result.exit_code)


def _refuse(exc: PlaybookInvalid) -> NoReturn:
    for problem in exc.problems:
        _say(problem)
    sys.exit(exc.exit_code)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--size", "sizes", multiple=True, metavar="VENDOR=N", help="Records per vendor, e.g. sentinelone=5000.")
@click.option("--faults", metavar="SPEC", help="Fault injection, e.g. '429:0.1,503:0.05,reset:0.02'.")
@click.option("--latency", default="0ms", show_default=True, help="Added to every answer, e.g. 20ms.")
@click.option("--no-rate-limits", is_flag=True, help="Switch off the vendors' documented rate limits.")
def sandbox(
    host: str, port: int, seed: int, sizes: tuple[str, ...], faults: str | None, latency: str, no_rate_limits: bool
) -> None:
    """Serve the four vendor simulators on loopback until interrupted."""
    from connector.sandbox import SandboxConfig, serve
    from connector.sandbox.faults import FaultPlan

    try:
        config = SandboxConfig(
            seed=seed,
            sizes={**SandboxConfig().sizes, **_sizes(sizes)},
            faults=FaultPlan.parse(faults) if faults else None,
            latency_s=_seconds(latency, "--latency"),
            rate_limits=not no_rate_limits,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    _say(f"sandbox on http://{host}:{port}/<vendor> (vendors: sentinelone, mysecutec, nameshield, ciso_assistant)")
    serve(config, host=host, port=port)


def _sizes(pairs: tuple[str, ...]) -> dict[str, int]:
    sizes = {}
    for pair in pairs:
        vendor, _, number = pair.partition("=")
        if not number.isdigit():
            raise BadInput(f"--size: {pair!r} is not VENDOR=N")
        sizes[vendor] = int(number)
    return sizes


def _seconds(text: str, option: str) -> float:
    units = {"ms": 0.001, "s": 1.0}
    for suffix, factor in units.items():
        number = text.removesuffix(suffix)
        if number != text:
            try:
                return float(number) * factor
            except ValueError:
                break
    raise BadInput(f"{option}: {text!r} is not a duration like 20ms or 1.5s")


def main() -> None:
    """Entry point: one line and exit code 2 for bad input or usage, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _say("interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        _say(exc.format_message().replace("\n", " "))
        sys.exit(EXIT_BAD_INPUT)
    except ConnectorError as exc:
        _say(exc.message)
        sys.exit(exc.exit_code)
