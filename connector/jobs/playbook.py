"""A playbook's step runs sent to the workers: each run a task, a for_each step's runs one Celery group.

The playbook itself (checks, expressions, ``when``, ``on_error``, the report) stays with the
caller in :mod:`connector.playbook.run`; only the action runs travel, with connection names and
never secrets, so the result, its errors and its exit code are those of the in-process run.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from connector.envelope import Envelope
from connector.jobs.app import broker_url
from connector.jobs.handles import submit_group
from connector.playbook.run import ActionCall


class Workers:
    """Runs a playbook's action runs on the workers of ``broker``."""

    def __init__(self, broker: str) -> None:
        self.broker = broker_url(broker)

    async def run_all(self, calls: list[ActionCall | Envelope]) -> list[Envelope]:
        """The envelopes of ``calls`` in their order; an Envelope among them (a failed input) is kept as is."""
        pending = [asdict(call) for call in calls if isinstance(call, ActionCall)]
        # Publishing is a blocking socket write: off the event loop, so a large group does not stall it.
        jobs = iter(await asyncio.to_thread(submit_group, pending, broker=self.broker) if pending else [])
        envelopes = []
        for call in calls:
            envelopes.append(call if isinstance(call, Envelope) else await next(jobs).aget())
        return envelopes
