"""What every command shares: one-line messages on stderr, logging, ``--input`` and durations."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from connector.errors import BadInput
from connector.redaction import redactor


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
    """Parse ``--input``: inline JSON, ``@FILE`` or ``-`` for stdin; it must be a JSON object."""
    # Imported here, not at the top: the schemas module pulls jsonschema in, and --help needs none of it.
    from connector.schemas import load_object

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
    return load_object(text, f"input ({origin})")


def checked_sandbox_url(value: str | None) -> str | None:
    """``--sandbox-url``: an http(s) URL of a running ``connector sandbox``, without a trailing slash."""
    if value is None:
        return None
    if urlsplit(value).scheme not in ("http", "https"):
        raise BadInput(f"--sandbox-url: {value!r} is not an http(s) URL like http://127.0.0.1:8800")
    return value.rstrip("/")


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str, option: str) -> float:
    """A duration like ``20ms``, ``1.5s``, ``5m`` or ``1h`` in seconds; BadInput naming ``option`` otherwise."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        number = text.removesuffix(suffix)
        if number != text:
            try:
                value = float(number) * _UNITS[suffix]
            except ValueError:
                break
            if value >= 0:
                return value
            break
    raise BadInput(f"{option}: {text!r} is not a duration like 20ms, 1.5s, 5m or 1h")


def internal_error(error: BaseException) -> str:
    """The one line for an unexpected error; its traceback is logged at -vv (debug)."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        say("".join(traceback.format_exception(error)).rstrip())
    text = " ".join(str(error).split())[:200]
    return f"internal error: {type(error).__name__}: {text} (please report; -vv shows the traceback)"

