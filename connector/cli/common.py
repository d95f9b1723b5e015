"""What every command shares: one-line messages on stderr, logging, ``--input`` and durations."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from connector.connections import checked_url
from connector.documents import quoted, read_text
from connector.errors import BadInput
from connector.redaction import redactor
from connector.schemas import load_object


def say(message: str) -> None:
    """One line for people on stderr, prefixed ``connector:``, with secrets redacted."""
    click.echo(f"connector: {redactor.redact(message)}", err=True)


def setup_logging(verbose: int) -> None:
    """Log to stderr through the redaction filter: warnings, -v info, -vv debug."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def read_input(value: str | None) -> dict[str, Any]:
    """Parse ``--input``: inline JSON, ``@FILE`` or ``-`` for stdin; it must be a non-empty JSON object.

    Empty text is refused rather than read as ``{}``: a pipe whose upstream printed nothing must
    not run the action unfiltered.
    """
    if value is None:
        return {}
    if value == "-":
        try:
            text, origin = sys.stdin.read(), "stdin"
        except UnicodeDecodeError as exc:
            raise BadInput(f"--input: stdin is not UTF-8 text (byte {exc.start})") from None
    elif value.startswith("@"):
        path = Path(value[1:])
        text, origin = read_text(path, "--input"), str(path)
    else:
        text, origin = value, "--input"
    if not text.strip():
        raise BadInput(f"input ({origin}): input is empty (give a JSON object, {{}} for no filters)")
    return load_object(text, f"input ({origin})")


def checked_sandbox_url(value: str | None) -> str | None:
    """``--sandbox-url``: an http(s) URL of a running ``connector sandbox``, without a trailing slash."""
    if value is None:
        return None
    try:
        return checked_url(value)
    except ValueError as exc:
        raise BadInput(f"--sandbox-url: {exc}, like http://127.0.0.1:8800") from None


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_DURATION_S = 10 * 366 * 24 * 3600.0
"""The longest duration an option takes (ten years): beyond it, date arithmetic leaves the calendar."""


def seconds(text: str, option: str) -> float:
    """A duration like ``20ms``, ``1.5s``, ``5m`` or ``1h`` in seconds, at most ten years; BadInput otherwise."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        number = text.removesuffix(suffix)
        if number != text:
            try:
                value = float(number) * _UNITS[suffix]
            except ValueError:
                break
            # "infs", "nans" and "1e12s" parse as floats: none is a duration a date can be moved by.
            if 0 <= value <= MAX_DURATION_S:
                return value
            break
    raise BadInput(
        f"{option}: {quoted(text)} is not a duration like 20ms, 1.5s, 5m or 1h (at most ten years)"
    )
