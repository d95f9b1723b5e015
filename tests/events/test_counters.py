"""The envelope's counts come from the counters plugin, per run, even for runs at the same time."""

from __future__ import annotations

import asyncio

from connector.envelope import Envelope
from connector.events import counters
from connector.plugins import DEFAULT_PLUGINS, Host
from tests.events.support import paged_run, simulator


def counts(envelope: Envelope) -> tuple[int, int, int, int]:
    meta = envelope.meta
    return meta.requests, meta.retries, meta.pages, meta.records


def test_counters_are_a_default_plugin() -> None:
    assert "connector.events.counters" in DEFAULT_PLUGINS
    host = Host(entry_points=False)
    assert host.pm.get_plugin("connector.events.counters") is counters


def test_runs_at_the_same_time_keep_their_own_counts() -> None:
    host = Host(entry_points=False)
    transport = simulator()

    async def together() -> list[Envelope]:
        # One paged read of 3 pages, one of a single page of 3, and a refused run, interleaved.
        return list(
            await asyncio.gather(
                paged_run(host, transport),
                paged_run(host, transport, {"limit": 3}),
                paged_run(host, transport, {"limit": 0}),
                paged_run(host, transport),
            )
        )

    three_pages, one_page, refused, again = asyncio.run(together())
    assert counts(three_pages) == counts(again) == (3, 0, 3, 5)
    assert counts(one_page) == (1, 0, 1, 3)
    assert counts(refused) == (0, 0, 0, 0)
    run_ids = {envelope.meta.run_id for envelope in (three_pages, one_page, refused, again)}
    assert len(run_ids) == 4
    # Each run's counts were handed to its envelope and forgotten.
    assert all(counters.current(run_id) is None for run_id in run_ids if run_id)


def test_a_retry_is_counted_once() -> None:
    envelope = asyncio.run(paged_run(Host(entry_points=False), simulator("429@3")))
    assert counts(envelope) == (4, 1, 3, 5)


def test_events_of_a_run_never_started_are_not_counted() -> None:
    counters.request_sent(run_id="")
    counters.page_fetched(run_id="nobody")
    assert counters.current("") is None and counters.current("nobody") is None
    assert counters.take("nobody") == counters.Counts()


def test_records_are_counted_without_a_hook_call_each_when_no_plugin_takes_them() -> None:
    host = Host(entry_points=False)
    envelope = asyncio.run(paged_run(host, simulator()))
    # No built-in plugin implements record_emitted: a read fires it for nobody, and counts anyway.
    assert host.pm.hook.record_emitted.get_hookimpls() == []
    assert (envelope.meta.records, envelope.output["count"]) == (5, 5)
