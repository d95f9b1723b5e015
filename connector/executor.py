"""Executors: where run requests run. One protocol, an in-process implementation here and a Celery
one in :mod:`connector.jobs.executor`.

Every surface hands its :class:`~connector.request.RunRequest` to an executor, which it is given
rather than chooses: playbooks, watches and the HTTP API run the same code whether their runs stay
in this process or go to the workers. An executor gives a run as a record stream (records as they
are read where it can, then the envelope), a whole envelope, or many envelopes at once (a
``for_each``, which the workers take as one group).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from connector.connections import Connection
from connector.envelope import Envelope
from connector.http import Sleep
from connector.plugins import Host, default_host
from connector.request import RunRequest
from connector.runner import RecordStream, Stream

if TYPE_CHECKING:
    from connector.pool import ClientPool

DEFAULT_CONCURRENCY = 4
"""Runs of :meth:`InProcess.run_all` at once, unless told otherwise."""


class Executor(Protocol):
    """Runs run requests (see the module docstring)."""

    @property
    def host(self) -> Host:
        """The plugin host (actions, schemas, formats)."""

    @property
    def streams(self) -> bool:
        """Whether records come as they are read (in process), or once the run has ended (on a worker)."""

    @property
    def detached(self) -> bool:
        """Whether runs become jobs that outlive their caller (on workers: the HTTP API answers 202 and a job id)."""

    def stream(self, request: RunRequest) -> Stream:
        """The run's records, then its envelope."""

    async def run(self, request: RunRequest) -> Envelope:
        """The run's envelope, its records in its output."""

    async def run_all(self, requests: Sequence[RunRequest], concurrency: int | None = None) -> list[Envelope]:
        """The envelopes of ``requests`` in their order (``concurrency``: at most so many at once, in process)."""


@dataclass(frozen=True)
class InProcess:
    """Runs on this process's event loop, through the runner."""

    host: Host = field(default_factory=default_host)
    config: Path | None = None
    """The connections file (default: ``$CONNECTOR_CONFIG``, else the user's config folder)."""
    connections: Mapping[str, Connection] = field(default_factory=dict)
    """Connections held in memory (a SOAR platform's credentials), by name."""
    transport: httpx.AsyncBaseTransport | None = None
    """An httpx transport to send through (tests: an in-process simulator)."""
    sleep: Sleep = asyncio.sleep
    """How retries wait (tests: a recording no-op)."""
    pool: ClientPool | None = None
    """HTTP clients kept between runs (``connector serve``'s); None: each run opens and closes its own."""
    streams: bool = True
    detached: bool = False

    def stream(self, request: RunRequest) -> RecordStream:
        """The run's records as they are mapped, then its envelope."""
        return RecordStream(request, self)

    async def run(self, request: RunRequest) -> Envelope:
        """The run's envelope, its records collected into its output."""
        stream = self.stream(request)
        records = [record async for record in stream]
        return with_records(stream.envelope, stream.records_key, records)

    async def run_all(self, requests: Sequence[RunRequest], concurrency: int | None = None) -> list[Envelope]:
        """The envelopes of ``requests`` in their order, at most ``concurrency`` running at once."""
        gate = asyncio.Semaphore(concurrency or DEFAULT_CONCURRENCY)

        async def one(request: RunRequest) -> Envelope:
            async with gate:
                return await self.run(request)

        # gather keeps the requests' order whatever order they finish in.
        return list(await asyncio.gather(*(one(request) for request in requests)))


def with_records(envelope: Envelope, key: str | None, records: list[dict[str, Any]]) -> Envelope:
    """``envelope`` with ``records`` put back in its output list ``key`` (a streamed envelope leaves it empty)."""
    if key is not None and key in envelope.output:
        envelope.output[key] = records
    return envelope
