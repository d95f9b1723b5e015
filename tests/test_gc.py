"""A read leaves no reference cycles behind per record, and none that holds a page.

``connector run`` collects the youngest generation rarely while it streams (see
connector/cli/run.py), which keeps memory flat only because what a read leaves to the cyclic
collector stays small: a few objects per request (tenacity's retry state), none per record, and
never a response with a page's bytes.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from connector.api import astream_action
from connector.cli import cli
from connector.cli.run import YOUNG_COLLECTION_EVERY
from connector.connections import Connection, sandbox_connection
from connector.hookspecs import hookimpl
from connector.plugins import Host, default_host
from connector.sandbox import SandboxConfig, build_app
from connector.vendors.mysecutec import api as mysecutec_api

HOST = Host(entry_points=False)
PAGES = 5


def simulator(vendor: str, size: int) -> tuple[httpx.AsyncBaseTransport, Connection]:
    """An in-process simulator holding ``size`` threats of ``vendor``, and the connection to it."""
    config = SandboxConfig(sizes={vendor: size}, vendors=(vendor,), rate_limits=False)
    return httpx.ASGITransport(app=build_app(config)), sandbox_connection(vendor, "http://127.0.0.1:9", config.token)


def read(transport: httpx.AsyncBaseTransport, connection: Connection, input: dict[str, Any]) -> int:
    """Stream get_threats through ``transport``; the records read."""

    async def go() -> int:
        stream = astream_action("get_threats", input, connection=connection, host=HOST, transport=transport)
        count = sum([1 async for _ in stream])
        assert stream.envelope.status == "success", stream.envelope.errors
        assert stream.envelope.meta.pages == PAGES
        return count

    return asyncio.run(go())


def left_to_the_collector(vendor: str, size: int, input: dict[str, Any]) -> tuple[int, list[Any]]:
    """The records read and the objects that only the cyclic collector could free afterwards."""
    # The simulator is built, and a first read warms imports and caches, before anything is counted.
    transport, connection = simulator(vendor, size)
    read(transport, connection, input)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        count = read(transport, connection, input)
        gc.collect()
        return count, list(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()


def page_size_of(vendor: str, size: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """get_threats' input (and setting) that reads ``size`` threats in :data:`PAGES` pages."""
    per_page = size // PAGES
    if vendor == "sentinelone":
        return {"vendor_filters": {"limit": per_page}}
    monkeypatch.setattr(mysecutec_api, "PAGE_SIZE", per_page)
    return {}


@pytest.mark.parametrize("vendor", ["sentinelone", "mysecutec"])
def test_ten_times_the_records_leave_no_more_garbage(vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    few, few_garbage = left_to_the_collector(vendor, 50, page_size_of(vendor, 50, monkeypatch))
    many, many_garbage = left_to_the_collector(vendor, 500, page_size_of(vendor, 500, monkeypatch))
    assert few and many > 9 * few  # MySecutec's default filters leave out a few
    # The same number of requests leave the same garbage, however many records their pages hold.
    assert len(many_garbage) - len(few_garbage) < (many - few) // 10, (len(few_garbage), len(many_garbage))
    assert not [thing for thing in many_garbage if isinstance(thing, httpx.Response)]


class CollectorWatch:
    """Notes the youngest generation's threshold and how many objects are frozen, per record."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    @hookimpl
    def record_emitted(self) -> None:
        """Note the collector's state while the record is handed out."""
        self.seen.append((gc.get_threshold()[0], gc.get_freeze_count()))


def test_connector_run_streams_with_rare_collections_and_gives_the_collector_back() -> None:
    thresholds = gc.get_threshold()
    watch = CollectorWatch()
    host = default_host()
    host.pm.register(watch)
    try:
        result = CliRunner().invoke(
            cli, ["run", "get-threats", "--sandbox", "--format", "ndjson", "--input", '{"limit": 3}', "--no-progress"]
        )
    finally:
        host.pm.unregister(watch)
    assert result.exit_code == 0, result.output
    assert len([orjson.loads(line) for line in result.stdout.splitlines()]) == 4  # three records, then the envelope
    # Start-up's objects are frozen out of every collection while the records stream.
    assert [threshold for threshold, _ in watch.seen] == [YOUNG_COLLECTION_EVERY] * 3
    assert all(frozen > 0 for _, frozen in watch.seen)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, 0)
