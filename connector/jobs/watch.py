"""A watch whose items' playbook runs go to the workers: the checkpoint stays with the watch.

Items are handed over one at a time, in the watch's order: the next one goes once the task of
this one succeeded, and only then is the item committed. A watch killed while a task runs
commits nothing for that item, so the restarted watch hands it over again (at least once per
item; playbooks are idempotent, as without a broker).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from connector.errors import VendorError
from connector.jobs.handles import BrokerUnavailable, submit_playbook
from connector.playbook.report import PlaybookResult
from connector.plugins import Host
from connector.watch.items import ItemKey
from connector.watch.sinks import ITEM_INPUT, PlaybookSink


class QueuedPlaybookSink(PlaybookSink):
    """A :class:`PlaybookSink` whose runs are tasks on the workers of ``broker``."""

    def __init__(self, path: Path, host: Host, *, sandbox: bool | str, config: Path | None, broker: str) -> None:
        super().__init__(path, host, sandbox=sandbox, config=config)
        self._broker = broker

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        """As :meth:`PlaybookSink.handle`; a task that failed on the worker leaves the item for the next poll."""
        try:
            return await super().handle(item, key)
        except BrokerUnavailable:
            raise
        except VendorError as exc:
            return f"playbook {self.name} failed on {key.uid}: {exc.message}"

    async def run(self, item: dict[str, Any]) -> PlaybookResult:
        """Queue the playbook on ``item`` and wait for its result (a refusal raises PlaybookInvalid)."""
        sandbox = self._sandbox if isinstance(self._sandbox, str) else None
        job = await asyncio.to_thread(
            submit_playbook, self._source, {ITEM_INPUT: item}, sandbox=sandbox, broker=self._broker
        )
        return await job.aget()
