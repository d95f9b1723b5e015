"""The lifecycle events arrive in the documented order, each with its run's id; every hook is exercised."""

from __future__ import annotations

import asyncio
import inspect

import connector_acme as acme

from connector import hookspecs
from connector.api import arun_action
from connector.connections import sandbox_connection
from connector.plugins import Host
from tests.events.support import THREATS, TOKEN, VENDOR, paged_run, simulator
from tests.plugins import markdown_format
from tests.plugins.recorder import EventRecorder


def test_three_pages_with_a_429_fire_the_events_in_order() -> None:
    recorder = EventRecorder()
    envelope = asyncio.run(paged_run(Host([recorder], entry_points=False), simulator("429@2")))
    assert envelope.status == "success", envelope.errors
    uids = [threat["uid"] for threat in envelope.output["threats"]]
    assert len(uids) == 5

    assert recorder.events == [
        ("action_started", "get_threats", "sentinelone", "sandbox"),
        ("request_sent", "GET", THREATS, 1),
        ("response_received", 200, 1),
        ("page_fetched", 1, 2),
        ("total_known", 5),
        ("record_emitted", uids[0]),
        ("record_emitted", uids[1]),
        ("request_sent", "GET", THREATS, 1),
        ("response_received", 429, 1),
        ("retry_scheduled", 1, 1.0),
        ("request_sent", "GET", THREATS, 2),
        ("response_received", 200, 2),
        ("page_fetched", 2, 2),
        ("record_emitted", uids[2]),
        ("record_emitted", uids[3]),
        ("request_sent", "GET", THREATS, 1),
        ("response_received", 200, 1),
        ("page_fetched", 3, 1),
        ("record_emitted", uids[4]),
        ("action_finished", "success", 4, 1, 3, 5),
    ]
    run_id = envelope.meta.run_id
    assert run_id and set(recorder.run_ids) == {run_id}
    assert (envelope.meta.requests, envelope.meta.retries, envelope.meta.pages, envelope.meta.records) == (4, 1, 3, 5)


def test_a_refused_run_fires_action_failed_alone_and_a_vendor_failure_after_its_requests() -> None:
    recorder = EventRecorder()
    host = Host([recorder], entry_points=False)
    refused = asyncio.run(paged_run(host, simulator(), {"limit": 0}))
    assert refused.exit_code == 2
    assert recorder.events == [("action_failed", "bad_input")]

    recorder.events.clear()
    # Every attempt answers 503: the connection's retries (4 by default) are spent, then the action fails.
    failed = asyncio.run(paged_run(host, simulator("503@1-5")))
    assert failed.exit_code == 1
    assert recorder.events == [
        ("action_started", "get_threats", "sentinelone", "sandbox"),
        *[
            event
            for n in range(1, 6)
            for event in (
                ("request_sent", "GET", THREATS, n),
                ("response_received", 503, n),
                *([("retry_scheduled", n, 1.0)] if n < 5 else []),
            )
        ],
        ("action_failed", "retriable"),
    ]
    assert (failed.meta.requests, failed.meta.retries, failed.meta.pages) == (5, 4, 0)


def test_a_run_id_given_by_the_caller_names_the_run() -> None:
    recorder = EventRecorder()
    envelope = asyncio.run(paged_run(Host([recorder], entry_points=False), simulator(), run_id="webhook-42"))
    assert envelope.meta.run_id == "webhook-42"
    assert set(recorder.run_ids) == {"webhook-42"}


def test_every_hook_is_implemented_by_a_test_plugin() -> None:
    """Datasette style: a hook no plugin under tests/plugins implements is a hook no test exercises."""
    specs = {name for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "connector_spec")}
    plugins = [acme, markdown_format, EventRecorder()]
    host = Host(plugins, entry_points=False)
    relay = host.pm.hook
    implemented = {name for name in specs if any(i.plugin in plugins for i in getattr(relay, name).get_hookimpls())}
    assert implemented == specs


def test_a_bulk_change_reports_its_ids_as_they_settle() -> None:
    recorder = EventRecorder()
    host = Host([recorder], entry_points=False)
    transport = simulator()
    listed = asyncio.run(paged_run(host, transport, {}))
    known = [threat["vendor_id"] for threat in listed.output["threats"]][:3]
    recorder.events.clear()
    connection = sandbox_connection(VENDOR, "http://127.0.0.1:9", TOKEN)
    document = {"ids": [*known, "404"], "status": "in_progress"}
    envelope = asyncio.run(
        arun_action("update_threat_status", document, connection=connection, host=host, transport=transport)
    )
    assert envelope.status == "partial"
    assert envelope.output["succeeded"] == known
    assert [(item["id"], item["error_type"]) for item in envelope.output["failed"]] == [("404", "not_found")]
    settled = [event for event in recorder.events if event[0] == "items_processed"]
    # The unknown id fails as soon as the lookup finds it missing; the chunk of known ids succeeds after its POST.
    assert settled == [("items_processed", 0, 1), ("items_processed", 3, 0)]
    assert recorder.events[-1][:2] == ("action_finished", "partial")
