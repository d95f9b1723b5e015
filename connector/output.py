"""Formatting envelopes for people and programs: json, ndjson and table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

import orjson

from connector.redaction import redactor

if TYPE_CHECKING:
    from connector.envelope import Envelope

FORMATS = ("json", "ndjson", "table", "ocsf")
SINGLE_RECORDS = ("threat", "event", "incident")
"""Output keys of the actions that answer one common record (get_threat...): ``ocsf`` writes it as a line."""
TABLE_COLUMNS = {
    "threats": ("uid", "severity", "status", "title", "resources", "updated_at"),
    "events": ("time", "type", "summary", "uid"),
    "incidents": ("uid", "severity", "status", "title", "updated_at"),
}
MAX_CELL = 60


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


def write_envelope(envelope: Envelope, fmt: str, stream: TextIO) -> None:
    """Write ``envelope`` to ``stream`` in format ``fmt``."""
    if fmt == "json":
        stream.write(to_json(envelope) + "\n")
        return
    found = records_of(envelope.output)
    if fmt == "ndjson":
        if found is None:
            stream.write(to_json(envelope, pretty=False) + "\n")
            return
        for record in found[1]:
            stream.write(to_json(record, pretty=False) + "\n")
        return
    write_table(envelope, found, stream)


_MARK = "\x00records\x00"
_MARK_JSON = orjson.dumps(_MARK).decode()


class StreamWriter:
    """Writes a run's records as they come, then the end of its envelope (see :func:`connector.astream_action`).

    ``json`` writes the very bytes :func:`write_envelope` writes for the whole envelope: its head
    up to the records' list when the first record comes, each record as it comes, and the rest
    (count, status, errors, meta) at the end. ``ndjson`` writes a line per record, and ``ocsf`` too
    (the records are then OCSF events: the run was asked for them), or the one record of an action
    that answers one. ``table`` keeps
    the records until the end: a table's columns are sized on all of them. Each record is flushed
    as it is written, so a reader downstream sees it at once.
    """

    def __init__(self, fmt: str, stream: TextIO) -> None:
        self.fmt, self.stream = fmt, stream
        self._head: str | None = None
        self._indent = ""
        self._held: list[dict[str, Any]] = []

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Write one record of ``envelope``'s output list ``key`` (the envelope as it stands)."""
        if self.fmt in ("ndjson", "ocsf"):
            # to_json's line, built for a plain dict and with its newline in one go: this runs per record.
            self.stream.write(redactor.redact(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode()))
        elif self.fmt == "json":
            if self._head is None:
                self._head = _around_records(envelope, key)[0]
                self._indent = self._head[self._head.rindex("\n") + 1:]
                self.stream.write(self._head)
            else:
                self.stream.write(",\n" + self._indent)
            text = redactor.redact(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())
            self.stream.write(text.replace("\n", "\n" + self._indent))
        else:
            self._held.append(record)
            return
        self.stream.flush()

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """Write what follows the records: the rest of the envelope, or all of it."""
        if key is not None and self.fmt == "table" and key in envelope.output:
            envelope = envelope.model_copy(update={"output": {**envelope.output, key: self._held}})
        single = [value for name, value in envelope.output.items()
                  if name in SINGLE_RECORDS and isinstance(value, dict)]
        if key is not None and self._head is not None:
            self.stream.write(_around_records(envelope, key)[1] + "\n")
        elif self.fmt == "ocsf" and key is None and len(single) == 1:
            self.stream.write(to_json(single[0], pretty=False) + "\n")
        elif not (key is not None and self.fmt in ("ndjson", "ocsf") and key in envelope.output):
            write_envelope(envelope, "ndjson" if self.fmt == "ocsf" else self.fmt, self.stream)
        self.stream.flush()


def _around_records(envelope: Envelope, key: str) -> tuple[str, str]:
    """The pretty JSON of ``envelope`` before and after the records of ``output[key]`` (from the
    opening bracket's line to the first record's indent, and from after the last record on)."""
    output = {**envelope.output, key: [_MARK]} if key in envelope.output else {key: [_MARK]}
    text = to_json(envelope.model_copy(update={"output": output}))
    at = text.index(_MARK_JSON)
    return text[:at], text[at + len(_MARK_JSON):]


def write_table(envelope: Envelope, found: tuple[str, list[dict[str, Any]]] | None, stream: TextIO) -> None:
    """A readable table of the output's main list, or of its top-level fields."""
    # Imported here: rich is for people's tables only, and json or ndjson output starts faster without it.
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, width=160, soft_wrap=False)
    if found is None:
        table = Table("field", "value", title=f"{envelope.action} ({envelope.status})")
        for key, value in envelope.output.items():
            table.add_row(key, _cell(value))
        console.print(table)
        return
    key, records = found
    columns = (
        TABLE_COLUMNS.get(key)
        or tuple(name for name, value in (records[0] if records else {}).items() if not isinstance(value, dict | list))[
            :6
        ]
    )
    table = Table(*columns, title=f"{envelope.action}: {len(records)} {key} ({envelope.status})")
    for record in records:
        table.add_row(*(_cell(record.get(column)) for column in columns))
    console.print(table)


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
