"""A live progress line on stderr for each running action: records, pages, rate, ids updated, requests, retries.

Registered by the CLI commands ``run`` and ``playbook run`` through :func:`showing_progress`, and
only when stderr is a terminal and ``NO_COLOR`` is not set: piped or redirected, nothing is shown.
When the vendor tells how many records a read will give (``total_known``), the line shows the
total and the share read. The line is drawn with rich
on stderr, so stdout carries the envelope alone whatever ``--format`` says, and it is erased when
the action ends. It counts what it shows from the events themselves (requests, retries, pages,
records), keyed by run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from connector.hookspecs import hookimpl
from connector.output import no_color
from connector.plugins import Host

REDRAW_EVERY_S = 0.1
"""At most this often a record redraws the line: thousands of records a second need not each draw."""


@dataclass
class _Shown:
    action: str
    started: float
    records: int = 0
    updated: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    pages: int = 0
    total: int | None = None


class Progress:
    """The plugin: one line per action running, drawn on ``console`` (which must be a terminal)."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self._clock = clock
        self._runs: dict[str, _Shown] = {}
        self._live: Live | None = None
        self._drawn_at = float("-inf")

    def lines(self) -> Group:
        """What the display shows now: one line per action running."""
        return Group(*(self._line(run_id, shown) for run_id, shown in self._runs.items()))

    def stop(self) -> None:
        """Erase the display (the CLI calls it even when an action never ended)."""
        self._runs.clear()
        if self._live is not None:
            self._live.stop()
            self._live = None

    @hookimpl(trylast=True)
    def action_started(self, run_id: str, action: str) -> None:
        """Show a line for the action."""
        self._runs[run_id] = _Shown(action, self._clock())
        if self._live is None:
            # Redrawn on events, not by a timer thread; stdout is left alone for the envelope.
            self._live = Live(
                console=self.console, get_renderable=self.lines, auto_refresh=False, transient=True,
                redirect_stdout=False, redirect_stderr=False,
            )
            self._live.start()
        self._draw()

    @hookimpl(trylast=True)
    def request_sent(self, run_id: str) -> None:
        """Count the request on the line."""
        self._count(run_id, "requests")
        self._draw(run_id, throttled=True)

    @hookimpl(trylast=True)
    def retry_scheduled(self, run_id: str) -> None:
        """Show the retry at once: a wait follows."""
        self._count(run_id, "retries")
        self._draw(run_id)

    @hookimpl(trylast=True)
    def page_fetched(self, run_id: str) -> None:
        """Show the page."""
        self._count(run_id, "pages")
        self._draw(run_id)

    @hookimpl(trylast=True)
    def total_known(self, run_id: str, total: int) -> None:
        """Show the total the vendor told, and from then on the share read."""
        shown = self._runs.get(run_id)
        if shown is not None:
            shown.total = total
            self._draw(run_id, throttled=True)  # it comes with the first page, just drawn

    @hookimpl(trylast=True)
    def record_emitted(self, run_id: str) -> None:
        """Count the record, redrawing at most every :data:`REDRAW_EVERY_S`."""
        shown = self._runs.get(run_id)
        if shown is not None:
            shown.records += 1
            self._draw(run_id, throttled=True)

    @hookimpl(trylast=True)
    def items_processed(self, run_id: str, succeeded: int, failed: int) -> None:
        """Count the ids a bulk change settled."""
        shown = self._runs.get(run_id)
        if shown is not None:
            shown.updated += succeeded
            shown.failed += failed
            self._draw(run_id, throttled=True)

    @hookimpl
    def action_finished(self, run_id: str) -> None:
        """Remove the action's line."""
        self._end(run_id)

    @hookimpl
    def action_failed(self, run_id: str) -> None:
        """Remove the action's line."""
        self._end(run_id)

    def _count(self, run_id: str, name: str) -> None:
        shown = self._runs.get(run_id)
        if shown is not None:
            setattr(shown, name, getattr(shown, name) + 1)

    def _draw(self, run_id: str | None = None, *, throttled: bool = False) -> None:
        if self._live is None or (run_id is not None and run_id not in self._runs):
            return
        now = self._clock()
        if throttled and now - self._drawn_at < REDRAW_EVERY_S:
            return
        self._drawn_at = now
        self._live.refresh()

    def _end(self, run_id: str) -> None:
        if self._runs.pop(run_id, None) is not None and not self._runs:
            self.stop()
        else:
            self._draw()

    def _line(self, run_id: str, shown: _Shown) -> Text:
        counts = shown
        parts = []
        bulk = shown.updated or shown.failed
        if shown.records or (counts.pages and not bulk):  # a bulk change's lookups are not its progress
            elapsed = self._clock() - shown.started
            rate = shown.records / elapsed if elapsed > 0 else 0.0
            shown_rate = f"{rate:.1f}" if rate < 10 else f"{rate:,.0f}"
            records = f"{shown.records:,} records"
            if shown.total is not None:
                share = min(shown.records / shown.total, 1.0) if shown.total else 1.0
                records = f"{shown.records:,}/{shown.total:,} records ({share:.0%})"
            parts += [records, f"{counts.pages:,} pages", f"{shown_rate} records/s"]
        if bulk:
            parts += [f"{shown.updated:,} updated", f"{shown.failed:,} failed"]
        parts += [f"{counts.requests:,} requests", f"{counts.retries:,} retries"]
        return Text.assemble((shown.action, "bold"), "  ", " · ".join(parts))


@contextmanager
def showing_progress(
    host: Host, *, enabled: bool = True, console: Console | None = None
) -> Iterator[Progress | None]:
    """Show the progress of the actions run on ``host`` inside the block, if ``console`` (stderr) is a
    terminal and ``NO_COLOR`` is not set (a live line is redrawn with ANSI codes, which NO_COLOR refuses)."""
    shown_on = console or Console(stderr=True)
    if not enabled or not shown_on.is_terminal or no_color():
        yield None
        return
    progress = Progress(shown_on)
    host.pm.register(progress)
    try:
        yield progress
    finally:
        host.pm.unregister(progress)
        progress.stop()
