"""``connector run``: one action, its records written as they come, its envelope on stdout."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import click

from connector.cli.common import read_input, run_flags, say, shared_options
from connector.envelope import Envelope
from connector.errors import ConnectorError
from connector.output import summary_line
from connector.plugins import default_host
from connector.streams import OutputFailed, writing
from connector.sync import run_sync


@click.command()
@shared_options
@click.argument("action")
@run_flags("connector run")
@click.option("--input", "input_", metavar="JSON|@FILE|-", help="The action's input (default {}).")
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
    ctx: click.Context, action: str, input_: str | None, maps: tuple[str, ...], progress: bool,
    run_flags: Callable[..., dict[str, Any]],
) -> None:
    """Run one action and print its envelope.

    \b
    Exit codes: 0 success; 1 the action failed (vendor, network); 2 bad input or
    configuration; 3 partial success (the envelope's errors[].item name the items);
    141 the reader of stdout went away (a closed pipe: the run stops at once).

    \b
    Pipes: feed one action's envelope to the next and pick its fields with --map:
      connector run get-threats --sandbox \\
        | connector run update-threat-status --sandbox --input - \\
            --map 'ids=output.threats[].vendor_id' --map 'status=`"in_progress"`'
    """
    from connector.execute import deliver, failed_envelope
    from connector.executor import InProcess
    from connector.playbook.pipes import mapped_input
    from connector.request import RunRequest

    request = RunRequest(action=action)
    try:
        # The flags alone first: a failure to read the input is then written in the format asked for.
        request = RunRequest(action=action, format=run_flags().get("format"))
        fields = run_flags(action=action, input_flag=input_, read=lambda: mapped_input(read_input(input_), maps))
        request = RunRequest(action=action, **fields)
        executor = InProcess(config=ctx.obj["config"])
        with _progress_line(progress), writing(sys.stdout, "stdout"), _fewer_collections():
            out = None if request.output_file else sys.stdout
            envelope = run_sync(deliver(executor, request, out))
    except ConnectorError as exc:
        if isinstance(exc, OutputFailed):
            raise  # stdout itself failed: nothing more can be written there
        # Once the command line is parsed, stdout holds one envelope whatever went wrong.
        envelope = _write_failed(failed_envelope(request, exc), request)
    report(envelope)


def _write_failed(envelope: Envelope, request: Any) -> Envelope:
    from connector.formats import output_format

    output_format(request.format_name, default_host()).writer(sys.stdout).finish(envelope, None)
    return envelope


def report(envelope: Envelope) -> None:
    """The envelope's error lines, its summary and resume point on stderr; exit with its code."""
    for error in envelope.errors:
        say(error.message if not error.item else f"{error.item}: {error.message}")
    resume = envelope.meta.model_extra.get("resume") if envelope.meta.model_extra else None
    if resume:
        from connector.output import to_json

        say(f"resume with --resume '{to_json(resume, pretty=False)}' (or input.resume) to read the rest")
    say(summary_line(envelope))
    sys.exit(envelope.exit_code)


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
