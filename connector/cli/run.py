"""``connector run``: one action, its records written as they come, its envelope on stdout."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import click

from connector.catalog import canonical_name
from connector.cli.common import checked_sandbox_url, exclusive, read_input, say, shared_options
from connector.connections import SANDBOX
from connector.envelope import Envelope, ErrorItem, Meta
from connector.errors import ConnectorError, InternalError
from connector.output import FORMATS, StreamWriter, summary_line
from connector.playbook.pipes import mapped_input
from connector.plugins import default_host
from connector.redaction import redactor
from connector.runner import astream_action
from connector.streams import writing
from connector.sync import run_sync


@click.command()
@shared_options
@click.argument("action")
@click.option("--connection", "-c", help="Connection name from the connections file, or 'sandbox'.")
@click.option("--sandbox", is_flag=True, help="Run against the embedded vendor simulators.")
@click.option("--sandbox-url", metavar="URL", help="Run against a running `connector sandbox`.")
@click.option("--vendor", help="Which vendor (with --sandbox; must match the connection otherwise).")
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The action's input (default {}).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="json: the envelope, records written as they are read; ndjson: a record per line as it comes; "
    "ocsf: each threat, event or incident as an OCSF 1.8.0 event, a line each; "
    "table: for people (waits for every record).",
)
@click.option("--dry-run", is_flag=True, help="Mutating actions: show the requests, send none.")
@click.option("--strict", is_flag=True, help="Fail at the first record the vendor sent that cannot be mapped "
              "(default: skip it, report it, exit 3).")
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
    strict: bool,
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
    writer = StreamWriter(fmt, sys.stdout)
    try:
        # --connection sandbox is the same place as --sandbox; any other pair contradicts itself.
        exclusive(connection=None if connection == SANDBOX else connection, sandbox=sandbox, sandbox_url=sandbox_url)
        document = mapped_input(read_input(input_), maps)
        options = {"connection": connection, "vendor": vendor, "sandbox": checked_sandbox_url(sandbox_url) or sandbox,
                   "dry_run": dry_run, "strict": strict, "config": ctx.obj["config"], "ocsf": fmt == "ocsf"}
        with _progress_line(progress), writing(sys.stdout, "stdout"), _fewer_collections():
            envelope = run_sync(_stream(writer, action, document, options))
    except ConnectorError as exc:
        if exc.message.startswith("stdout:"):
            raise  # stdout itself failed: nothing more can be written there
        # Once the command line is parsed, stdout holds one envelope whatever went wrong.
        envelope = _failed(action, exc.kind, exc.message, dry_run)
        writer.finish(envelope, None)
    except Exception as exc:  # never a traceback: the envelope says what happened, -vv shows where
        envelope = _failed(action, "internal", InternalError.wrapping(exc).message, dry_run)
        writer.finish(envelope, None)
    for error in envelope.errors:
        say(error.message if not error.item else f"{error.item}: {error.message}")
    say(summary_line(envelope))
    sys.exit(envelope.exit_code)


def _failed(action: str, kind: str, message: str, dry_run: bool) -> Envelope:
    """The envelope of a run that failed before the runner could make one (its input, --map)."""
    return Envelope(
        action=canonical_name(action), status="failed", errors=[ErrorItem(type=kind, message=redactor.redact(message))],
        meta=Meta(dry_run=dry_run),
    )


YOUNG_COLLECTION_EVERY = 50_000
"""Objects allocated (net) between two collections of the youngest generation while a run streams."""


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the block with the objects of start-up frozen and the youngest generation collected rarely.

    A read decodes page after page of containers that live until the page is written, and the
    default threshold (700) has the collector scan them again and again: about a tenth of a
    stream's time. A read leaves the collector a few objects per request, none per record and
    none holding a page (tests/test_gc.py), so collecting rarely keeps memory as flat as
    collecting often; cycles a plugin makes are still collected, later.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _progress_line(enabled: bool) -> AbstractContextManager[object]:
    """The live progress line on stderr when it is a terminal (rich is imported only then)."""
    if not (enabled and sys.stderr.isatty()):
        return nullcontext()
    from connector.events.progress import showing_progress

    return showing_progress(default_host())


async def _stream(writer: StreamWriter, action: str, document: dict[str, Any], options: dict[str, Any]) -> Envelope:
    """Run the action, writing each record as it comes and the envelope's end last."""
    stream = astream_action(action, document, **options)
    async for record in stream:
        assert stream.records_key is not None, "only actions with a records key yield records"
        writer.record(stream.envelope_so_far, stream.records_key, record)
    envelope = stream.envelope
    writer.finish(envelope, stream.records_key)
    return envelope
