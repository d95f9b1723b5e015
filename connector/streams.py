"""Writing to a stream that may fail under us: a full disk, a closed pipe (``| head``), a revoked file.

:func:`writing` turns such a failure into one :class:`OutputFailed` line (exit 1: the work may be
done, but its record is lost; a closed pipe is :class:`ReaderGone`, exit 141, what a shell reports
for a tool killed by SIGPIPE, without a line of its own) and points the stream's descriptor at
``/dev/null``, so that the interpreter's last flush at exit does not print a second error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from connector.errors import ConnectorError

CLOSED_PIPE_EXIT = 141
"""128 + SIGPIPE: what a shell reports for a tool whose reader went away (``connector run ... | head -1``)."""


class OutputFailed(ConnectorError):
    """The output stream itself failed: nothing more can be written there."""

    kind = "output"


class ReaderGone(OutputFailed):
    """The reader of the output went away (a closed pipe): the run stops at once, quietly."""

    exit_code = CLOSED_PIPE_EXIT


@contextmanager
def writing(stream: IO[Any], label: str) -> Iterator[None]:
    """Run the block's writes to ``stream``; ConnectorError naming ``label`` when the stream fails."""
    try:
        yield
    except BrokenPipeError:
        _silence(stream)
        raise ReaderGone(f"{label}: the reader went away (closed pipe); stopping") from None
    except OSError as exc:
        _silence(stream)
        raise OutputFailed(f"{label}: cannot write: {exc.strerror or type(exc).__name__}") from None


def _silence(stream: IO[Any]) -> None:
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # an in-memory stream has no descriptor to redirect
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)
