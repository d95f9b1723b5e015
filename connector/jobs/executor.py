"""The Celery executor: run requests run on the workers of a Redis broker.

It is the in-process executor's twin (:class:`connector.executor.Executor`): a playbook's steps,
a watch's playbook runs and the HTTP API's runs go to the workers by being given this executor.
Each request travels as the task's payload, as it is; a worker resolves the connection by name
from its own connections file. Records cannot stream from a worker: a stream of this executor
hands them out once the job has ended (or a worker writes them to the request's output file).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from functools import partial
from typing import Any

from connector.envelope import Envelope
from connector.executor import with_records
from connector.jobs.app import broker_url
from connector.jobs.handles import Job, submit_group, submit_request
from connector.output import records_of
from connector.plugins import Host, default_host
from connector.request import RunRequest
from connector.runner import Stream


class Workers:
    """Runs requests on the workers of ``broker`` (see the module docstring)."""

    streams = False
    detached = True

    def __init__(self, broker: str, host: Host | None = None) -> None:
        self.broker = broker_url(broker)
        self.host = host or default_host()

    async def submit(self, request: RunRequest, owner: str | None = None) -> Job[Envelope]:
        """Queue ``request`` for ``owner``; its job (publishing is a blocking socket write: off the event loop)."""
        return await asyncio.to_thread(partial(submit_request, request, broker=self.broker, owner=owner))

    async def run(self, request: RunRequest) -> Envelope:
        """Queue ``request`` and wait for its envelope."""
        return await (await self.submit(request)).aget()

    async def run_all(self, requests: Sequence[RunRequest], concurrency: int | None = None) -> list[Envelope]:
        """Queue ``requests`` as one group spread over the workers (whose concurrency bounds them); their envelopes."""
        if not requests:
            return []
        jobs = await asyncio.to_thread(submit_group, list(requests), broker=self.broker)
        return [await job.aget() for job in jobs]

    def stream(self, request: RunRequest) -> QueuedStream:
        """The run's records once its job has ended, then its envelope."""
        return QueuedStream(self, request)


class QueuedStream(Stream):
    """A stream of a job's records, handed out once the job has ended (the job itself runs to its end)."""

    def __init__(self, workers: Workers, request: RunRequest) -> None:
        super().__init__(request.action, self._run(workers, request))

    async def _run(self, workers: Workers, request: RunRequest) -> AsyncGenerator[dict[str, Any], None]:
        envelope = await workers.run(request)
        found = records_of(envelope.output)
        self.envelope_so_far = envelope
        records: list[dict[str, Any]] = []
        if found is not None:
            self.records_key, records = found
            with_records(envelope, self.records_key, [])
        for record in records:
            yield record
        self._envelope = envelope
