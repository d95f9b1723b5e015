"""The envelope's meta counters, counted from the lifecycle events of each run.

Requests, retries and pages are counted here; records by the run's client as it emits them
(:meth:`connector.http.VendorClient.emit`), so that a read fires no hook per record unless a
plugin wants each one.

A built-in plugin (listed in :data:`connector.plugins.DEFAULT_PLUGINS`): the counts of a run start
at its ``action_started`` and are keyed by ``run_id``, so actions running at once in one process
(a playbook's ``for_each``) keep apart. The runner :func:`take` s a run's counts into its envelope
before firing ``action_finished``; events of runs it never saw start (a client used on its own)
are not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from connector.hookspecs import hookimpl


@dataclass
class Counts:
    """What one action run cost so far: requests sent, retries, pages read."""

    requests: int = 0
    retries: int = 0
    pages: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as the envelope's meta spells them."""
        return asdict(self)


_runs: dict[str, Counts] = {}


def current(run_id: str) -> Counts | None:
    """The counts of a run still going, or None when no such run is being counted."""
    return _runs.get(run_id)


def take(run_id: str) -> Counts:
    """The counts of a run, forgotten from here on (zero for a run that never started)."""
    return _runs.pop(run_id, None) or Counts()


@hookimpl
def action_started(run_id: str) -> None:
    """Start counting the run."""
    _runs[run_id] = Counts()


@hookimpl
def request_sent(run_id: str) -> None:
    """One more request."""
    _count(run_id, "requests")


@hookimpl
def retry_scheduled(run_id: str) -> None:
    """One more retry."""
    _count(run_id, "retries")


@hookimpl
def page_fetched(run_id: str) -> None:
    """One more page."""
    _count(run_id, "pages")


def _count(run_id: str, name: str) -> None:
    counts = _runs.get(run_id)
    if counts is not None:
        setattr(counts, name, getattr(counts, name) + 1)
