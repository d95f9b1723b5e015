"""The poll loop: read a window, hand each new or changed item to the sink, commit after each one.

One poll::

    poll_start = now (never before the bookmark)
    read the action with since = max(bookmark - lookback, seen_since), until = poll_start
    for each item as the action streams it (in the vendor's order), inside that window:
        skip it when seen[uid] >= its stamp (already handled, this version or a later one)
        hand it to the sink; on success seen[uid] = stamp and the checkpoint is written
        (every sink.commit_every items: 1 for stdout and playbooks, more for --output,
        whose uncommitted lines a restart cuts away, and always when the poll ends)
    when every item is handled: bookmark = poll_start, seen_since = bookmark - lookback, seen pruned

The bookmark never passes the moment the poll started, so an item changed while a poll runs
(stamped after poll_start) is read by the next poll. Items are handled as the pages arrive, so
a poll holds no more of its window than the pages in flight; ``seen`` tells a handled version
from a new one whatever the order, so a poll that stops anywhere resumes exactly where it
stopped. A poll that stops early (a vendor fault, a failed playbook, a signal) leaves the
bookmark where it was (the items it handled stay handled): the next poll reads the same window
again and skips what ``seen`` holds. ``seen_since`` only moves forward, so a longer
``--lookback`` on a restart never reaches back to items handled but already forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

from connector.envelope import EXIT_FAILED, EXIT_PARTIAL, EXIT_SUCCESS, Envelope
from connector.errors import BadInput
from connector.watch.checkpoint import Checkpoint, CheckpointStore
from connector.watch.items import ItemKey, Watchable, key_of, rfc3339
from connector.watch.sinks import Sink

logger = logging.getLogger(__name__)

class Window(Protocol):
    """The items of one window as they are read, then the envelope of that read (a RecordStream)."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    @property
    def envelope(self) -> Envelope: ...

    async def aclose(self) -> None: ...


Fetch = Callable[[datetime, datetime], Window]
"""Runs the watched action on the window [since, until] (inclusive) and returns its envelope."""

Clock = Callable[[], datetime]

PollStatus = Literal["complete", "partial", "failed", "stopped"]
_T = TypeVar("_T")


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class PollReport:
    """How one poll ended: handled and skipped items, and the problem that ended it early, if any."""

    status: PollStatus
    handled: int = 0
    skipped: int = 0
    problem: str | None = None


class Watcher:
    """Polls one action for one checkpoint; see the module docstring for the algorithm.

    ``fetch`` reads a window, ``sink`` handles each item, ``clock`` gives poll_start (tests pass
    their own) and ``say`` receives the line that says why a poll ended early.
    """

    def __init__(
        self,
        store: CheckpointStore,
        checkpoint: Checkpoint,
        watched: Watchable,
        fetch: Fetch,
        sink: Sink,
        *,
        lookback: timedelta,
        clock: Clock = utc_now,
        say: Callable[[str], None] = logger.warning,
    ) -> None:
        self.store, self.checkpoint, self.watched = store, checkpoint, watched
        self.fetch, self.sink, self.lookback, self.clock, self.say = fetch, sink, lookback, clock, say
        self.handled = 0
        self._uncommitted = 0
        self.stop_reason: str | None = None
        self._stopping = asyncio.Event()

    def stop(self, reason: str) -> None:
        """Ask the watch to stop after the item in hand (and its commit); the wait between polls ends now."""
        self.stop_reason = self.stop_reason or reason
        self._stopping.set()

    async def poll(self) -> PollReport:
        """One poll; see the module docstring. Raises BadInput when the action refuses its input or config."""
        checkpoint = self.checkpoint
        poll_start = max(self.clock(), checkpoint.bookmark)
        since = max(checkpoint.bookmark - self.lookback, checkpoint.seen_since)
        window = self.fetch(since, poll_start)
        try:
            report = await self._handle(window, since, poll_start)
        except BaseException:
            if self._uncommitted:
                self._commit()
            raise
        finally:
            await window.aclose()
        if report.status == "complete":
            self._conclude(report, window.envelope)
        if report.status == "complete":
            checkpoint.bookmark = poll_start
            checkpoint.seen_since = max(checkpoint.seen_since, poll_start - self.lookback)
            checkpoint.prune()
            self._commit()
        elif self._uncommitted:
            self._commit()
        return report

    def _conclude(self, report: PollReport, envelope: Envelope) -> None:
        """The poll's status from how the read ended: failed (raising BadInput for input or config) or partial."""
        if envelope.status == "failed":
            if envelope.exit_code == BadInput.exit_code:
                if self._uncommitted:
                    self._commit()
                # Bad input or config never heals by polling again.
                raise BadInput(_first_error(envelope))
            report.status, report.problem = "failed", f"{self.watched.action} failed: {_first_error(envelope)}"
        elif envelope.status == "partial":
            # Some records could not be read: the bookmark stays, so the next poll reads them again.
            report.status = "partial"
            report.problem = (
                f"{self.watched.action} was partial ({_first_error(envelope)}); "
                f"the bookmark stays at {rfc3339(self.checkpoint.bookmark)}"
            )

    async def _handle(self, window: Window, since: datetime, poll_start: datetime) -> PollReport:
        """Hand each new item of ``window`` to the sink as it arrives; "complete" once the window is read.

        A sink that takes items at once (``concurrency`` above 1: a playbook on the workers) gets
        up to that many in flight; each is committed as its own handling succeeds, in any order
        (``seen`` is by uid), and two versions of one uid never run at once. A failed item stops
        the handing out; the items already in flight finish and are committed first.
        """
        report = PollReport("complete")
        flight = _Flight(self.sink.concurrency)
        items = aiter(window)
        try:
            while report.status == "complete":
                item = await self._unless_stopped(anext(items, _END))
                if item is None or item is _END:
                    report.status = "stopped" if item is None else report.status
                    break
                key = key_of(item, self.watched)
                handled_stamp = self.checkpoint.seen.get(key.uid)
                if not since <= key.stamp <= poll_start or (handled_stamp is not None and handled_stamp >= key.stamp):
                    # Outside the window asked for (a vendor that filters loosely), or this version or a
                    # later one was handled already (a record seen twice across pages, or in an earlier poll).
                    report.skipped += 1
                    continue
                if self._stopping.is_set():
                    report.status = "stopped"
                    break
                await flight.start(key.uid, partial(self._one, item, key, report),
                                   lambda: report.status == "complete")
        finally:
            await flight.drain()
        return report

    async def _one(self, item: dict[str, Any], key: ItemKey, report: PollReport) -> None:
        handled_stamp = self.checkpoint.seen.get(key.uid)
        if handled_stamp is not None and handled_stamp >= key.stamp:
            # The same version was in hand when this copy was read (a record sent twice across pages).
            report.skipped += 1
            return
        problem = await self.sink.handle(item, key)
        if problem is not None:
            if report.problem is None:
                report.status, report.problem = "failed", problem
            return
        self._handled(key)
        report.handled += 1

    async def run(self, *, every: float, once: bool, signals: bool = True) -> int:
        """Poll until stopped (or once); returns the exit code: 0, 1 a failed poll, 3 a partial one (with once)."""
        if signals:
            self._install_signal_handlers()
        while True:
            report = await self.poll()
            self._tell(report)
            if self.stop_reason is not None or report.status == "stopped":
                return EXIT_SUCCESS
            if once:
                return {"complete": EXIT_SUCCESS, "partial": EXIT_PARTIAL}.get(report.status, EXIT_FAILED)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=every)
                return EXIT_SUCCESS
            except TimeoutError:
                continue

    def summary(self) -> str:
        """One line: how many items were handled, where the checkpoint is and its bookmark."""
        return (
            f"watch {self.watched.action} ({self.checkpoint.connection}): "
            f"{self.handled} item{'' if self.handled == 1 else 's'} handled; "
            f"checkpoint {self.store.path} at {rfc3339(self.checkpoint.bookmark)}"
        )

    def _handled(self, key: ItemKey) -> None:
        self.checkpoint.seen[key.uid] = key.stamp
        self.handled += 1
        self._uncommitted += 1
        if self._uncommitted >= self.sink.commit_every:
            self._commit()

    def _commit(self) -> None:
        # What was handled is made durable first, so the checkpoint never claims more than is on disk.
        self.sink.sync()
        checkpoint = self.checkpoint
        checkpoint.output, checkpoint.output_length = self.sink.output, self.sink.length
        self.store.save(checkpoint)
        self._uncommitted = 0

    def _tell(self, report: PollReport) -> None:
        if report.problem is not None:
            self.say(report.problem)
        logger.info(
            "poll %s: %d handled, %d skipped; bookmark %s",
            report.status, report.handled, report.skipped, rfc3339(self.checkpoint.bookmark),
        )

    async def _unless_stopped(self, work: Awaitable[_T]) -> _T | None:
        """``work``'s result, or None when a stop came first (``work`` is then cancelled: nothing was handled)."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()

        def on_signal(number: signal.Signals) -> None:
            self.stop(number.name)
            # A second signal takes the default way out: the checkpoint is consistent at every instant.
            for each in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(each)

        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, on_signal, number)


class _Flight:
    """The items being handled at once: at most ``size``, never two of one uid."""

    def __init__(self, size: int) -> None:
        self._gate = asyncio.Semaphore(max(size, 1))
        self._running: dict[str, asyncio.Task[None]] = {}

    async def start(self, uid: str, work: Callable[[], Awaitable[None]], still: Callable[[], bool]) -> None:
        """Start ``work()`` once a place is free and no other version of ``uid`` is in hand, if ``still()``
        holds then (an item that failed meanwhile stops the handing out)."""
        earlier = self._running.get(uid)
        if earlier is not None:
            await asyncio.gather(earlier, return_exceptions=True)
        await self._gate.acquire()
        if not still():
            self._gate.release()
            return
        task = asyncio.ensure_future(work())
        self._running[uid] = task
        task.add_done_callback(lambda done: self._finished(uid, done))
        if self._gate.locked() or task.done():
            await asyncio.sleep(0)
        self._raise_failures()

    async def drain(self) -> None:
        """Wait for every item in hand; the first error raised by one is raised here."""
        running = list(self._running.values())
        results = await asyncio.gather(*running, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _finished(self, uid: str, task: asyncio.Task[None]) -> None:
        self._gate.release()
        if self._running.get(uid) is task and not task.cancelled() and task.exception() is None:
            del self._running[uid]

    def _raise_failures(self) -> None:
        for task in list(self._running.values()):
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None:
                    raise error


_END: dict[str, Any] = {}
"""What reading a window gives after its last item (a stop gives None)."""


def _first_error(envelope: Envelope) -> str:
    if not envelope.errors:
        return envelope.status
    error = envelope.errors[0]
    more = f" (and {len(envelope.errors) - 1} more)" if len(envelope.errors) > 1 else ""
    return (f"{error.item}: {error.message}" if error.item else error.message) + more
