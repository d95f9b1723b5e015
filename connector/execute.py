"""The one run path of every surface: a run request, an executor, a writer from the format registry.

:func:`deliver` runs a :class:`~connector.request.RunRequest` on an executor and writes its
records in the request's format as they come: to the stream a surface gives (stdout, an HTTP
answer), else to the request's ``output_file``, else into the envelope (the Python API, a playbook
step, a worker's stored result). A format that shapes records (OCSF) converts each one here, and a
record it has no form for becomes an error item. Whatever goes wrong becomes the run's failed
envelope (:meth:`Envelope.failed`, through :func:`~connector.errors.as_connector_error`), and that
envelope is still written: only a failure of the output itself raises (see :mod:`connector.streams`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from connector.catalog import canonical_name
from connector.envelope import Envelope, ErrorItem, Meta
from connector.errors import BadInput, as_connector_error
from connector.executor import Executor, with_records
from connector.files import check_file
from connector.formats import NoForm, OutputFormat, Writer, output_format
from connector.output import OCSF_RECORDS
from connector.request import RunRequest
from connector.runner import Stream


async def deliver(executor: Executor, request: RunRequest, out: TextIO | None = None) -> Envelope:
    """Run ``request`` on ``executor``, its records written in its format (see the module docstring)."""
    try:
        chosen = _checked_format(executor, request)
    except Exception as error:
        failed = failed_envelope(request, error)
        if out is not None:
            output_format("json", executor.host).writer(out).finish(failed, None)
        return failed
    if out is not None:
        return await _guarded(executor, request, chosen, chosen.writer(out))
    if request.output_file is None:
        return await _guarded(executor, request, chosen, Collector())
    try:
        target = open_output_file(request.output_file)
    except BadInput as exc:
        return failed_envelope(request, exc)
    with target:
        envelope = await _guarded(executor, request, chosen, chosen.writer(target))
    envelope.meta = envelope.meta.model_copy(update={"output_file": request.output_file})
    return envelope


async def _guarded(executor: Executor, request: RunRequest, chosen: OutputFormat, writer: Writer) -> Envelope:
    """The run written, or its failed envelope written: the boundary guard. The output failing
    (an OSError: a closed pipe, a full disk) is the caller's to tell, and passes."""
    try:
        return await _written(executor, request, chosen, writer)
    except OSError:
        raise
    except Exception as error:
        failed = failed_envelope(request, error)
        writer.finish(failed, None)
        return failed


def preflight(executor: Executor, request: RunRequest) -> RunRequest:
    """Refuse now what the run would refuse (BadInput): contradicting options, an unknown action,
    vendor or format, an input the action's schema refuses. For requests sent away (a queue)."""
    request = request.checked()
    _checked_format(executor, request)
    spec = executor.host.action(request.action)
    if request.vendor is not None:
        executor.host.vendor(request.vendor)
    executor.host.schemas.validate(spec.input, request.input, "input")
    return request


def failed_envelope(request: RunRequest, error: BaseException) -> Envelope:
    """The envelope of a run that failed before its executor could make one."""
    return Envelope.failed(canonical_name(request.action), as_connector_error(error), vendor=request.vendor,
                           meta=Meta(dry_run=request.dry_run, run_id=request.run_id))


def open_output_file(path: str) -> TextIO:
    """``output_file`` opened for writing; BadInput naming it when it cannot be, or is no regular file
    (a FIFO or a device would block or never end)."""
    check_file(Path(path), "output_file", must_exist=False)
    try:
        return Path(path).open("w", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"output_file: cannot write {path}: {exc.strerror or type(exc).__name__}") from None


class Collector:
    """A writer that keeps the records and puts them back into the envelope's output."""

    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """Keep the record."""
        self.kept.append(record)

    def records(self, envelope: Envelope, key: str, records: list[dict[str, Any]]) -> None:
        """Keep the records."""
        self.kept.extend(records)

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """Put the records in their output list."""
        with_records(envelope, key, self.kept)


def _checked_format(executor: Executor, request: RunRequest) -> OutputFormat:
    chosen = output_format(request.format_name, executor.host)
    if chosen.check is not None:
        spec = executor.host.action(request.action)
        chosen.check(spec, executor.host.schemas.get(spec.output))
    return chosen


async def _written(executor: Executor, request: RunRequest, chosen: OutputFormat, writer: Writer) -> Envelope:
    stream = executor.stream(request)
    refused: list[ErrorItem] = []
    convert = _converter(chosen, refused)
    try:
        await _each_record(stream, convert, writer)
    finally:
        # A writer that failed (a closed pipe) stops the run at once: its requests are cancelled.
        await stream.aclose()
    envelope = stream.envelope
    if convert is not None:
        _convert_output(envelope, convert)
    if refused:
        envelope.errors.extend(refused)
        envelope.status = "partial" if envelope.status == "success" else envelope.status
    writer.finish(envelope, stream.records_key)
    return envelope


Convert = Callable[[dict[str, Any]], dict[str, Any] | None]
"""A record in the format's shape, or None when it has none (then an error item says so)."""


def _converter(chosen: OutputFormat, refused: list[ErrorItem]) -> Convert | None:
    convert = chosen.convert
    if convert is None:
        return None

    def converted(record: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return convert(record)
        except NoForm as exc:
            refused.append(ErrorItem(type=f"no_{chosen.name}_form", message=str(exc),
                                     item=str(record.get("uid") or "?")))
            return None

    return converted


async def _each_record(stream: Stream, convert: Convert | None, writer: Writer) -> None:
    """Every record written, a batch at once where the writer can (see :class:`BatchWriter`)."""
    # A BatchWriter is a writer with ``records`` (asked of the attribute: a runtime protocol check costs more).
    write_all: Callable[[Envelope, str, list[dict[str, Any]]], None] | None = getattr(writer, "records", None)
    async for batch in stream.batches():
        assert stream.records_key is not None, "only actions with a records key yield records"
        if convert is not None:
            batch = [shaped for shaped in map(convert, batch) if shaped is not None]
        if write_all is not None:
            if batch:
                write_all(stream.envelope_so_far, stream.records_key, batch)
            continue
        for record in batch:
            writer.record(stream.envelope_so_far, stream.records_key, record)


def _convert_output(envelope: Envelope, convert: Convert) -> None:
    """The common records among the output's fields (a single ``threat``...) in the format's shape."""
    for key in OCSF_RECORDS:
        value = envelope.output.get(key)
        if isinstance(value, dict):
            shaped = convert(value)
            if shaped is not None:
                envelope.output[key] = shaped
