"""The Python API: run an action from Python, whole or as a stream of records.

Each function builds a :class:`~connector.request.RunRequest` from its keywords (the request's
fields) and runs it on an in-process executor made of the rest (``config``, ``host``,
``transport``, ``sleep``; a :class:`~connector.connections.Connection` given as ``connection`` is
held in memory, never written anywhere). The envelope is the one ``connector run`` prints.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

import httpx
from typing_extensions import Unpack

from connector.connections import Connection
from connector.envelope import Envelope
from connector.errors import BadInput
from connector.execute import deliver
from connector.executor import InProcess
from connector.plugins import Host, default_host
from connector.request import RunRequest
from connector.runner import RecordStream
from connector.sync import run_sync

__all__ = ["RunOptions", "SyncRecordStream", "arun_action", "astream_action", "run_action", "stream_action"]


class RunOptions(TypedDict, total=False):
    """How and where an action runs: the run request's fields, and the in-process executor's."""

    connection: str | Connection | None
    """A name from the connections file (``config``), ``"sandbox"``, or a :class:`Connection`."""
    connections: dict[str, str]
    vendor: str | None
    sandbox: bool | str
    dry_run: bool
    strict: bool
    format: str
    resume: dict[str, Any] | None
    output_file: str | None
    run_id: str | None
    config: Path | None
    host: Host | None
    transport: httpx.AsyncBaseTransport | None
    sleep: Callable[[float], Awaitable[None]]


_PLACE = ("config", "host", "transport", "sleep")


def prepared(action: str, input: dict[str, Any] | None, options: RunOptions) -> tuple[RunRequest, InProcess]:
    """The run request and the in-process executor that ``options`` describe."""
    fields: dict[str, Any] = {key: value for key, value in options.items() if key not in _PLACE}
    place: dict[str, Any] = {key: value for key, value in options.items() if key in _PLACE and value is not None}
    place["host"] = place.get("host") or default_host()
    connection = fields.get("connection")
    if isinstance(connection, Connection):
        fields["connection"], place["connections"] = connection.name, {connection.name: connection}
    request = RunRequest.from_payload({"action": action, "input": input or {}, **fields}, "options")
    return request, InProcess(**place)


async def arun_action(action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]) -> Envelope:
    """Run one action and return its envelope, records included (options: :class:`RunOptions`)."""
    try:
        request, executor = prepared(action, input, options)
    except BadInput as exc:
        return Envelope.failed(action, exc)
    return await deliver(executor, request)


def run_action(action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]) -> Envelope:
    """Synchronous :func:`arun_action`, for callers without an event loop (a SOAR's Python step)."""
    return run_sync(arun_action(action, input, **options))


def astream_action(action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]) -> RecordStream:
    """Run one action, handing out its (common) records as they are mapped; then ``stream.envelope``.

    Takes the options of :func:`arun_action`. The records are not kept: the envelope's output
    has an empty list where :func:`arun_action` puts them, and counts them in ``count``.
    """
    request, executor = prepared(action, input, options)
    return executor.stream(request)


def stream_action(
    action: str, input: dict[str, Any] | None = None, **options: Unpack[RunOptions]
) -> SyncRecordStream:
    """Synchronous :func:`astream_action`: iterate it for the records, then read ``.envelope``.

    Not from inside a running event loop (its records are read on a loop of its own, which that
    loop's thread cannot run): there, ``async for`` over :func:`astream_action`.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return SyncRecordStream(astream_action(action, input, **options))
    raise BadInput("stream_action: called inside a running event loop; use `async for` over astream_action there")


class SyncRecordStream:
    """A :class:`RecordStream` driven from synchronous code, on an event loop of its own."""

    def __init__(self, stream: RecordStream) -> None:
        self._stream = stream
        self._loop = asyncio.new_event_loop()
        self._records = aiter(stream)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            while True:
                try:
                    yield self._loop.run_until_complete(anext(self._records))
                except StopAsyncIteration:
                    return
        finally:
            self.close()

    @property
    def records_key(self) -> str | None:
        """The output key the records belong to."""
        return self._stream.records_key

    @property
    def envelope(self) -> Envelope:
        """The run's envelope, once every record was read."""
        return self._stream.envelope

    def close(self) -> None:
        """Stop the run if it is still going, and close its event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._stream.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
