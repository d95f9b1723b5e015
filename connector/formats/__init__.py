"""Output formats: a registry that plugins add to, and what a format is.

A format is an :class:`OutputFormat`: a name, one line of help, a media type, how to write a run
to a text stream (a :class:`Writer`: each record as it comes, then what follows the records), and,
for formats that give records another shape (OCSF), how to convert one record. Formats arrive
through the ``register_output_formats`` hook: the built-in ones (json, ndjson, table, csv, ocsf,
:mod:`connector.formats.builtin`) are a plugin like any other, so a third party adds one the same
way. Every surface takes its writer from here (:func:`output_format`); the runner never knows the
format.

NDJSON, on every surface, is a record per line as it is read and, last, the envelope (its records
list empty, ``count`` set), so that a reader of the stream alone knows how the run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from connector.errors import BadInput

if TYPE_CHECKING:
    from connector.actions import ActionSpec
    from connector.envelope import Envelope
    from connector.plugins import Host

__all__ = ["BatchWriter", "NoForm", "OutputFormat", "Writer", "format_names", "output_format"]


class Writer(Protocol):
    """Writes one run: its records as they come, then the rest."""

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Write one record of ``envelope``'s output list ``key`` (the envelope as it stands)."""

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """Write what follows the records (``key`` names their output list; None for an action without records)."""


class BatchWriter(Writer, Protocol):
    """A writer that also writes several records at once (a batch of a read: one write, one flush)."""

    def records(self, envelope: Envelope, key: str, records: list[dict[str, Any]]) -> None:
        """Write ``records`` of ``envelope``'s output list ``key``, in order, as :meth:`record` would each."""


class NoForm(Exception):
    """Raised by a format's ``convert``: this record has no form in the format (it is reported, not written)."""


@dataclass(frozen=True)
class OutputFormat:
    """One output format (see the module docstring)."""

    name: str
    help: str
    media_type: str
    writer: Callable[[TextIO], Writer]
    """A writer of one run onto a text stream."""
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Each common record as this format gives it (raises :class:`NoForm` for a record it cannot give)."""
    check: Callable[[ActionSpec, dict[str, Any]], None] | None = None
    """Refuses an action (BadInput) whose output this format cannot write; gets its output schema."""
    lines: bool = False
    """A line per record: fit for an unending stream (a watch)."""


def output_format(name: str, host: Host) -> OutputFormat:
    """The format called ``name``; BadInput naming the known ones otherwise."""
    formats = host.formats
    if name not in formats:
        raise BadInput(f"format: {name!r} is not a known format (known: {', '.join(sorted(formats))})")
    return formats[name]


def format_names(host: Host) -> list[str]:
    """Every format's name, sorted."""
    return sorted(host.formats)
