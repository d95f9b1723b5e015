"""What every surface writes with: JSON text with secrets masked, an output's records, a table, a summary line.

The output formats themselves are in :mod:`connector.formats`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from connector.redaction import redactor

if TYPE_CHECKING:
    from rich.console import Console

    from connector.envelope import Envelope

OCSF_RECORDS = ("threats", "events", "incidents", "threat", "event", "incident")
"""Output keys holding common records, which a format's ``convert`` (OCSF) gives in its own shape."""
TABLE_COLUMNS = {
    "threats": ("uid", "severity", "status", "title", "resources", "updated_at"),
    "events": ("time", "type", "summary", "uid"),
    "incidents": ("uid", "severity", "status", "title", "updated_at"),
}
MAX_CELL = 60
STATUS_STYLES = {"success": "green", "partial": "yellow", "failed": "bold red"}
"""How an envelope's status is coloured on a terminal."""


def to_json(data: Any, *, pretty: bool = True) -> str:
    """JSON text of ``data`` with secrets masked (pydantic models are dumped first)."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    option = orjson.OPT_INDENT_2 if pretty else 0
    return redactor.redact(orjson.dumps(data, option=option).decode())


def records_of(output: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """The main list of an action's output (``threats``, ``events``...) and its key, if there is one.

    An output holding several lists (a bulk change's ``succeeded`` and ``failed``) has none: shown as
    one list, the others would be lost.
    """
    lists = [(key, value) for key, value in output.items() if isinstance(value, list)]
    if len(lists) == 1 and all(isinstance(item, dict) for item in lists[0][1]):
        return lists[0]
    return None


def no_color() -> bool:
    """Whether ``NO_COLOR`` is set (any non-empty value): then no ANSI code is written anywhere."""
    return bool(os.environ.get("NO_COLOR"))


def console(stream: TextIO, width: int | None = 160) -> Console:
    """A rich console on ``stream``: colours on a terminal only, and no ANSI code at all under ``NO_COLOR``."""
    # Imported here: rich is for people's output only, and json or ndjson output starts faster without it.
    from rich.console import Console

    # rich's own NO_COLOR handling drops colours but keeps bold and the like: no colour system drops every style.
    return Console(file=stream, width=width, soft_wrap=False, color_system=None if no_color() else "auto")


def write_table(envelope: Envelope, stream: TextIO) -> None:
    """A readable table of the output's main list, or of its top-level fields; the errors under it, whole."""
    from rich.table import Table
    from rich.text import Text

    found = records_of(envelope.output)
    out = console(stream)
    status = f"[{STATUS_STYLES.get(envelope.status, '')}]{envelope.status}[/]"
    if found is None and not envelope.output:
        out.print(f"{_escaped(envelope.action)} ({status})")
    elif found is None:
        table = Table("field", "value", title=f"{_escaped(envelope.action)} ({status})")
        for key, value in envelope.output.items():
            table.add_row(Text(key), Text(_cell(value)))
        out.print(table)
    else:
        key, records = found
        first = records[0] if records else {}
        columns = TABLE_COLUMNS.get(key) or tuple(
            name for name, value in first.items() if not isinstance(value, dict | list))[:6]
        table = Table(*columns, title=f"{_escaped(envelope.action)}: {len(records)} {key} ({status})")
        for record in records:
            table.add_row(*(Text(_cell(record.get(column))) for column in columns))
        out.print(table)
    for error in envelope.errors:
        # A reason is never cut: the console wraps it to its width, under the table.
        out.print(Text.assemble((f"{error.type} error: ", STATUS_STYLES["failed"]),
                                (f"{error.item}: " if error.item else "", "bold"), redactor.redact(error.message)))


def _escaped(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _cell(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = ", ".join(
            str(item.get("name") or item.get("uid") or item.get("id") or orjson.dumps(item).decode()) for item in value
        )
    elif isinstance(value, dict | list):
        value = orjson.dumps(value).decode()
    text = redactor.redact("" if value is None else str(value))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def summary_line(envelope: Envelope) -> str:
    """One line for stderr: what ran, how it ended, what it cost."""
    meta = envelope.meta
    found = records_of(envelope.output)
    summary = envelope.output.get("summary")
    counted = ""
    if found:
        count = envelope.output.get("count")
        counted = f", {count if isinstance(count, int) else len(found[1])} {found[0]}"
    if isinstance(summary, dict) and "total_successful" in summary:
        counted = f", {summary['total_successful']} succeeded, {summary.get('total_failed', 0)} failed"
    where = f" via {envelope.vendor} ({envelope.connection})" if envelope.vendor else ""
    return (
        f"{envelope.action}{where}: {envelope.status}{counted}; {meta.requests} requests, "
        f"{meta.pages} pages, {meta.retries} retries, {meta.duration_ms} ms" + (" (dry run)" if meta.dry_run else "")
    )
