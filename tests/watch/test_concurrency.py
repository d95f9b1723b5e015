"""Items handed out at once (a playbook sink on the workers): each committed as it succeeds, exactly once.

The sink here waits on the event loop as a playbook run on the workers does, so several items are
in hand together; what is checked is which items were in hand at once and what the checkpoint says.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from connector.watch import CheckpointStore
from connector.watch.items import ItemKey
from tests.watch.support import FakeClock, FakeVendor, RecordingSink, at, make_watcher


class SlowSink(RecordingSink):
    """A RecordingSink whose handling takes a few turns of the loop, recording what is in hand at once."""

    def __init__(self, concurrency: int) -> None:
        super().__init__()
        self.concurrency = concurrency
        self.in_hand: set[str] = set()
        self.most = 0

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        assert key.uid not in self.in_hand, f"two versions of {key.uid} in hand at once"
        self.in_hand.add(key.uid)
        self.most = max(self.most, len(self.in_hand))
        for _ in range(50):  # turns of the loop, not time: reading the next items takes a few each
            await asyncio.sleep(0)
        self.in_hand.discard(key.uid)
        return await super().handle(item, key)


def seen(state: Path) -> dict[str, datetime]:
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None
    return checkpoint.seen


def test_four_items_in_hand_at_once_each_committed_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(page_size=5), SlowSink(4), FakeClock(at(30))
    for index in range(12):
        vendor.put(f"t{index:02}", at(index + 1))
    watcher = make_watcher(state, vendor, sink, clock)
    report = asyncio.run(watcher.poll())
    assert (report.status, report.handled) == ("complete", 12)
    assert sink.most == 4
    assert sorted(uid for uid, _ in sink.handled) == [f"t{index:02}" for index in range(12)]
    assert seen(state) == {f"t{index:02}": at(index + 1) for index in range(12)}
    again = asyncio.run(watcher.poll())
    assert (again.handled, len(sink.handled)) == (0, 12)


def test_a_failed_item_stops_the_handing_out_and_the_others_in_hand_are_committed(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(page_size=20), SlowSink(3), FakeClock(at(30))
    for index in range(10):
        vendor.put(f"t{index:02}", at(index + 1))
    sink.refuse = {"t04"}
    watcher = make_watcher(state, vendor, sink, clock)
    report = asyncio.run(watcher.poll())
    assert (report.status, report.problem) == ("failed", "could not handle t04")
    handled = sorted(uid for uid, _ in sink.handled)
    # t04 was in hand with t02..t03 or t05..t06 at most: nothing after those was started.
    assert "t04" not in handled and handled[:4] == ["t00", "t01", "t02", "t03"] and len(handled) <= 6
    assert sorted(seen(state)) == handled
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None and checkpoint.bookmark == watcher.checkpoint.bookmark  # the bookmark stays
    sink.refuse = set()
    clock.now = at(40)
    resumed = asyncio.run(watcher.poll())
    assert resumed.status == "complete"
    assert sorted(uid for uid, _ in sink.handled) == [f"t{index:02}" for index in range(10)]


def test_two_versions_of_one_item_are_never_in_hand_together(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(page_size=2), SlowSink(4), FakeClock(at(30))
    for index in range(6):
        vendor.put(f"t{index}", at(5))  # one stamp: every page boundary sends a record twice
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)
    report = asyncio.run(watcher.poll())
    assert report.status == "complete" and sorted(uid for uid, _ in sink.handled) == [f"t{i}" for i in range(6)]
