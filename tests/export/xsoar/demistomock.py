"""A stand-in for XSOAR's ``demistomock`` module, which XSOAR's integration unit tests import as ``demisto``.

XSOAR runs an integration with a ``demisto`` object whose calls return the instance's parameters,
the command and its arguments, and take the entries the command answers. Its unit tests import
``demistomock`` in its place and patch the calls a test needs; this module offers the same calls
with XSOAR's defaults (no parameters, no arguments, the entries collected).
"""

from __future__ import annotations

from typing import Any

entries: list[Any] = []
"""What :func:`results` was given, in order."""


def command() -> str:
    """The command XSOAR runs (a test patches it)."""
    return ""


def params() -> dict[str, Any]:
    """The instance's parameters (a test patches them)."""
    return {}


def args() -> dict[str, Any]:
    """The command's arguments (a test patches them)."""
    return {}


def results(entry: Any) -> None:
    """Where the integration hands its entry to XSOAR."""
    entries.append(entry)
