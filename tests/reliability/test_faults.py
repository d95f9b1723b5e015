"""Fault runs: every paged read under 20% transient faults (429, 500, 503, connection resets,
truncated bodies) returns the same records as a fault-free run of the same sandbox: none lost,
none twice, on a one-off run's client and on one kept as a server keeps it. Pages are made small
so that each read sends many requests, so many faults."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

import pytest

from connector.api import arun_action
from connector.connections import sandbox_connection
from connector.envelope import Envelope
from connector.executor import InProcess
from connector.pool import ClientPool
from connector.request import RunRequest
from connector.sandbox import SandboxConfig, running_sandbox
from connector.sandbox.faults import FaultPlan
from connector.vendors.ciso_assistant import incidents as ciso_incidents
from connector.vendors.ciso_assistant import listing as ciso_listing
from connector.vendors.mysecutec import api as mysecutec_api
from connector.vendors.nameshield import query as nameshield_query
from connector.vendors.sentinelone import reads as sentinelone_reads
from tests.reliability.support import COUNTS

FAULTS = "429:0.04,500:0.04,503:0.04,reset:0.04,truncated:0.04"
"""20% of requests fail, each in a way worth another try."""
SEEDS = (1, 2, 3)
PAGE = 10
READS = [
    ("get_threats", "sentinelone", "threats", 200),
    ("get_threats", "mysecutec", "threats", 200),
    ("list_events", "nameshield", "events", 200),
    # MySecutec's events are its threats' logs, read threat by threat: fewer threats, as many pages.
    ("list_events", "mysecutec", "events", 25),
    ("list_incidents", "ciso_assistant", "incidents", 120),
]
"""Each paged read: its action and vendor, where its records are in the output, the records seeded."""
RETRIES = 10
"""Attempts per request beyond the first: at 20% faults, ten in a row (1e-7) never happen here."""


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (sentinelone_reads, mysecutec_api, nameshield_query, ciso_incidents, ciso_listing):
        monkeypatch.setattr(module, "PAGE_SIZE", PAGE)


async def no_sleep(seconds: float) -> None:
    """Retry-After and backoff cost no time here: the count of retries is what is checked."""


def read(url: str, action: str, vendor: str, kept: bool) -> Envelope:
    """The read as a one-off run does it (httpcore), or on a client kept as `connector serve` keeps it (aiohttp)."""
    connection = sandbox_connection(vendor, url, SandboxConfig().token).model_copy(update={"retries": RETRIES})
    if not kept:
        return asyncio.run(arun_action(action, {}, connection=connection, sleep=no_sleep))

    async def on_a_kept_client() -> Envelope:
        pool = ClientPool()
        executor = InProcess(connections={"kept": connection}, sleep=no_sleep, pool=pool)
        try:
            return await executor.run(RunRequest(action=action, connection="kept"))
        finally:
            await pool.aclose()

    return asyncio.run(on_a_kept_client())


@pytest.mark.parametrize("kept", [False, True], ids=["one-off", "kept"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("action", "vendor", "records", "size"), READS)
def test_no_record_lost_or_read_twice_under_faults(
    action: str, vendor: str, records: str, size: int, seed: int, kept: bool
) -> None:
    # The seed draws both the data and which requests fail: the fault-free run uses the same one.
    config = SandboxConfig(sizes={vendor: size}, rate_limits=False, vendors=(vendor,), seed=seed)
    with running_sandbox(config) as url:
        expected = read(url, action, vendor, kept)
    with running_sandbox(dataclasses.replace(config, faults=FaultPlan.parse(FAULTS))) as url:
        envelope = read(url, action, vendor, kept)
    assert (expected.status, envelope.status) == ("success", "success"), envelope.errors
    uids: list[Any] = [record["uid"] for record in envelope.output[records]]
    wanted = [record["uid"] for record in expected.output[records]]
    assert [uid for uid, seen in Counter(uids).items() if seen > 1] == [], "read twice"
    assert sorted(uids) == sorted(wanted), "lost or extra records"
    assert len(wanted) > 2 * PAGE and envelope.meta.pages >= len(wanted) // PAGE
    assert envelope.meta.retries > 0
    COUNTS["fault runs: reads compared"] += 1
    COUNTS["fault runs: records compared"] += len(wanted)
    COUNTS["fault runs: requests sent"] += envelope.meta.requests
    COUNTS["fault runs: faults injected (retried)"] += envelope.meta.retries
