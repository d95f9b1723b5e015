"""The built-in output formats, registered as a plugin: json, ndjson, table, csv and ocsf.

Each record is flushed as it is written, so a reader downstream sees it at once; ``table`` waits
for every record (its columns are sized on all of them).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from connector.errors import BadInput
from connector.formats import NoForm, OutputFormat, Writer
from connector.hookspecs import hookimpl
from connector.output import OCSF_RECORDS, to_json, write_table
from connector.redaction import redactor

if TYPE_CHECKING:
    from connector.actions import ActionSpec
    from connector.envelope import Envelope

SINGLE_RECORDS = ("threat", "event", "incident")
"""Output keys of the actions that answer one common record (get_threat...): a line format writes it as its line."""

_MARK = "\x00records\x00"
_MARK_JSON = orjson.dumps(_MARK).decode()


def record_line(record: dict[str, Any]) -> str:
    """One record as one line of JSON with its newline, secrets redacted (this runs per record)."""
    return redactor.redact(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())


def record_lines(records: list[dict[str, Any]]) -> str:
    """Records as lines of JSON, each with its newline, secrets redacted: :func:`record_line` of each, joined."""
    return redactor.redact(b"".join([orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
                                     for record in records]).decode())


class EnvelopeWriter:
    """``json``: the envelope, pretty; a read's records written as they come, inside it.

    The head (up to the records' list) goes out with the first record, then each record, then
    the rest (count, status, errors, meta): the very bytes the whole envelope would be.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._head: str | None = None
        self._indent = ""

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Write one record inside the envelope's records list."""
        if self._head is None:
            self._head = _around_records(envelope, key)[0]
            self._indent = self._head[self._head.rindex("\n") + 1:]
            self.stream.write(self._head)
        else:
            self.stream.write(",\n" + self._indent)
        text = redactor.redact(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())
        self.stream.write(text.replace("\n", "\n" + self._indent))
        self.stream.flush()

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """The rest of the envelope after the records, or the whole envelope."""
        if key is not None and self._head is not None:
            self.stream.write(_around_records(envelope, key)[1] + "\n")
        else:
            self.stream.write(to_json(envelope) + "\n")
        self.stream.flush()


class LinesWriter:
    """``ndjson`` (a record a line, then the envelope's line) and ``ocsf`` (a converted record a line only)."""

    def __init__(self, stream: TextIO, *, envelope_last: bool) -> None:
        self.stream, self.envelope_last = stream, envelope_last

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Write the record's line."""
        self.stream.write(record_line(record))
        self.stream.flush()

    def records(self, envelope: Envelope, key: str, records: list[dict[str, Any]]) -> None:
        """Write the records' lines at once: one text, redacted once, one write."""
        self.stream.write(record_lines(records))
        self.stream.flush()

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """NDJSON: the envelope's line last. OCSF: the one record of a single-record action."""
        if self.envelope_last:
            self.stream.write(to_json(envelope, pretty=False) + "\n")
        else:
            single = [value for name, value in envelope.output.items()
                      if name in SINGLE_RECORDS and isinstance(value, dict)]
            if key is None and len(single) == 1:
                self.stream.write(record_line(single[0]))
        self.stream.flush()


class TableWriter:
    """``table``: for people; keeps the records and draws the table at the end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._held: list[dict[str, Any]] = []

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Keep the record for the table."""
        self._held.append(record)

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """Draw the table of the records, or of the output's fields."""
        if key is not None and key in envelope.output:
            envelope = envelope.model_copy(update={"output": {**envelope.output, key: self._held}})
        write_table(envelope, self.stream)
        self.stream.flush()


class RowsWriter:
    """``csv``: a header, then a row per record as it comes (objects and lists as JSON in their cell).

    The columns are the first record's keys; an action without records is one row of its
    output's fields. A value is written as text, secrets redacted.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._csv = csv.writer(stream, lineterminator="\n")
        self._columns: list[str] | None = None

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Write the record's row (the header before the first)."""
        if self._columns is None:
            self._columns = list(record)
            self._csv.writerow(self._columns)
        self._csv.writerow([_cell(record.get(column)) for column in self._columns])
        self.stream.flush()

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """Nothing after a read's rows; an action without records is its output as one row."""
        if self._columns is None and (key is None or key not in envelope.output):
            self._csv.writerow(list(envelope.output))
            self._csv.writerow([_cell(value) for value in envelope.output.values()])
        self.stream.flush()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return redactor.redact(text)


def _around_records(envelope: Envelope, key: str) -> tuple[str, str]:
    """The pretty JSON of ``envelope`` before and after the records of ``output[key]`` (from the
    opening bracket's line to the first record's indent, and from after the last record on)."""
    output = {**envelope.output, key: [_MARK]} if key in envelope.output else {key: [_MARK]}
    text = to_json(envelope.model_copy(update={"output": output}))
    at = text.index(_MARK_JSON)
    return text[:at], text[at + len(_MARK_JSON):]


def _to_ocsf(record: dict[str, Any]) -> dict[str, Any]:
    from connector.ocsf import NotAFinding, to_ocsf  # imported by the runs that ask for OCSF only

    try:
        return to_ocsf(record)
    except NotAFinding as exc:
        raise NoForm(str(exc)) from None


def _ocsf_check(spec: ActionSpec, output_schema: dict[str, Any]) -> None:
    if spec.records not in OCSF_RECORDS and not set(OCSF_RECORDS) & set(output_schema.get("properties", {})):
        raise BadInput(f"ocsf: {spec.name} returns no threats, events or incidents to write as OCSF")


def _lines(envelope_last: bool) -> Callable[[TextIO], Writer]:
    return lambda stream: LinesWriter(stream, envelope_last=envelope_last)


BUILTIN_FORMATS = (
    OutputFormat("json", "the envelope, records written as they are read", "application/json", EnvelopeWriter),
    OutputFormat("ndjson", "a record per line as it comes, then the envelope's line", "application/x-ndjson",
                 _lines(True), lines=True),
    OutputFormat("ocsf", "each threat, event or incident as an OCSF 1.8.0 event, a line each",
                 "application/x-ndjson", _lines(False), convert=_to_ocsf, check=_ocsf_check, lines=True),
    OutputFormat("table", "for people (waits for every record)", "text/plain", TableWriter),
    OutputFormat("csv", "a header, then a row per record (objects and lists as JSON)", "text/csv", RowsWriter,
                 lines=True),
)


@hookimpl
def register_output_formats(register: Callable[[OutputFormat], None]) -> None:
    """json, ndjson, ocsf, table and csv."""
    for output_format in BUILTIN_FORMATS:
        register(output_format)
