"""Writing to a stream that may fail under us: a full disk, a closed pipe (``| head``), a revoked file.

:func:`writing` turns such a failure into one :class:`~connector.errors.ConnectorError` line (exit 1:
the work may be done, but its record is lost) and points the stream's descriptor at ``/dev/null``,
so that the interpreter's last flush at exit does not print a second error, with a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from connector.errors import ConnectorError


@contextmanager
def writing(stream: IO[Any], label: str) -> Iterator[None]:
    """Run the block's writes to ``stream``; ConnectorError naming ``label`` when the stream fails."""
    try:
        yield
    except BrokenPipeError:
        _silence(stream)
        raise ConnectorError(f"{label}: the reader went away (closed pipe); stopping") from None
    except OSError as exc:
        _silence(stream)
        raise ConnectorError(f"{label}: cannot write: {exc.strerror or type(exc).__name__}") from None


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
