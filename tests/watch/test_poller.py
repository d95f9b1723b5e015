"""The poll algorithm against a fake vendor: order, ties across page boundaries, changes during a
poll, vendor faults, partial answers, the look-back window and stopping between items."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from connector.envelope import Envelope, ErrorItem
from connector.errors import BadInput
from connector.watch.checkpoint import CheckpointStore
from tests.watch.support import T0, FakeClock, FakeVendor, RecordingSink, at, failed, make_watcher, threat

_T = TypeVar("_T")


def run(scenario: Coroutine[Any, Any, _T]) -> _T:
    # One event loop per scenario: a watcher belongs to one loop, as in the CLI.
    return asyncio.run(scenario)


def test_each_item_once_in_stamp_then_uid_order(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    for uid, second in [("c", 5), ("a", 5), ("b", 3), ("before-start", -10), ("future", 11)]:
        vendor.put(uid, at(second))
    watcher = make_watcher(state, vendor, sink, clock)

    async def scenario() -> None:
        first = await watcher.poll()
        assert (first.status, first.handled, first.problem) == ("complete", 3, None)
        clock.now = at(20)
        second = await watcher.poll()
        # Skipped: the three seen, and the record at the page boundary, which arrives twice.
        assert (second.status, second.handled, second.skipped) == ("complete", 1, 4)

    run(scenario())
    assert sink.handled == [("b", at(3)), ("a", at(5)), ("c", at(5)), ("future", at(11))]
    # The first window starts at the starting point (no look-back before it), and never reaches back
    # further than what seen holds.
    assert vendor.windows == [(T0, at(10)), (T0, at(20))]
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None
    assert (checkpoint.bookmark, checkpoint.seen_since) == (at(20), T0)
    assert checkpoint.seen == {"a": at(5), "b": at(3), "c": at(5), "future": at(11)}


def test_items_sharing_a_stamp_across_pages_each_once_when_a_poll_stops_among_them(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(page_size=2), RecordingSink(), FakeClock(at(10))
    tied = [f"t{index}" for index in range(7)]
    for uid in tied:
        vendor.put(uid, at(4))
    sink.refuse = {"t4"}
    watcher = make_watcher(state, vendor, sink, clock)

    async def scenario() -> None:
        stopped = await watcher.poll()
        assert (stopped.status, stopped.handled, stopped.problem) == ("failed", 4, "could not handle t4")
        checkpoint = CheckpointStore(state).load()
        assert checkpoint is not None
        assert (checkpoint.bookmark, sorted(checkpoint.seen)) == (T0, ["t0", "t1", "t2", "t3"])
        sink.refuse = set()
        clock.now = at(12)
        resumed = await watcher.poll()
        assert (resumed.status, resumed.handled) == ("complete", 3)

    run(scenario())
    assert sink.handled == [(uid, at(4)) for uid in tied]


def test_a_change_is_handled_once_per_change(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    vendor.put("a", at(1))
    vendor.put("b", at(2))
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)

    async def scenario() -> None:
        await watcher.poll()
        vendor.put("a", at(15))
        clock.now = at(20)
        await watcher.poll()
        clock.now = at(30)
        await watcher.poll()

    run(scenario())
    assert sink.handled == [("a", at(1)), ("b", at(2)), ("a", at(15))]


def test_an_item_changed_while_a_poll_runs_is_read_by_the_next_poll(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    vendor.put("a", at(1))
    vendor.put("b", at(2))

    def update_during_read() -> None:
        # The vendor stamps the change after the poll started: this poll read the old version.
        vendor.put("a", at(10.5))
        vendor.during_read = None

    vendor.during_read = update_during_read
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)

    async def scenario() -> None:
        await watcher.poll()
        assert watcher.checkpoint.bookmark == at(10)  # never past the moment the poll started
        clock.now = at(20)
        second = await watcher.poll()
        assert (second.handled, second.skipped) == (1, 1)

    run(scenario())
    assert sink.handled == [("a", at(1)), ("b", at(2)), ("a", at(10.5))]


def test_a_vendor_fault_ends_the_poll_and_commits_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    vendor.put("a", at(1))
    vendor.answers = [failed()]
    watcher = make_watcher(state, vendor, sink, clock)
    watcher.store.save(watcher.checkpoint)
    before = state.read_bytes()

    async def scenario() -> None:
        fault = await watcher.poll()
        assert (fault.status, fault.handled) == ("failed", 0)
        assert fault.problem == "get_threats failed: GET /threats: 503 Service Unavailable"
        assert state.read_bytes() == before
        clock.now = at(20)
        again = await watcher.poll()
        assert (again.status, again.handled) == ("complete", 1)

    run(scenario())
    assert sink.handled == [("a", at(1))]
    assert vendor.windows == [(T0, at(10)), (T0, at(20))]


def test_bad_input_or_config_stops_the_watch(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    vendor.answers = [failed("config", "connection 's1': secret: environment variable S1_TOKEN is missing or empty")]
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)
    with pytest.raises(BadInput) as caught:
        run(watcher.poll())
    assert caught.value.message == "connection 's1': secret: environment variable S1_TOKEN is missing or empty"


def test_a_partial_answer_is_handled_and_read_again(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    vendor.put("a", at(1))
    vendor.answers = [
        Envelope(
            action="get_threats", status="partial", output={"threats": [threat("b", at(2))], "count": 1},
            errors=[ErrorItem(type="not_found", message="no such threat", item="x")],
        )
    ]
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)

    async def scenario() -> None:
        partial = await watcher.poll()
        assert (partial.status, partial.handled, watcher.checkpoint.bookmark) == ("partial", 1, T0)
        assert partial.problem == (
            "get_threats was partial (x: no such threat); the bookmark stays at 2026-11-20T12:00:00.000000Z"
        )
        clock.now = at(20)
        complete = await watcher.poll()
        assert (complete.status, complete.handled, watcher.checkpoint.bookmark) == ("complete", 1, at(20))

    run(scenario())
    assert sink.handled == [("b", at(2)), ("a", at(1))]


def test_the_lookback_catches_late_items_and_never_reaches_behind_seen(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(100))
    vendor.put("a", at(90))
    watcher = make_watcher(state, vendor, sink, clock, lookback=30)

    async def first_run() -> None:
        await watcher.poll()
        # Stamped at 95 but visible only now (a vendor's indexing delay): inside the look-back.
        vendor.put("late", at(95))
        vendor.put("too-late", at(60))
        clock.now = at(110)
        await watcher.poll()

    run(first_run())
    assert sink.handled == [("a", at(90)), ("late", at(95))]
    assert vendor.windows == [(T0, at(100)), (at(70), at(110))]
    checkpoint = watcher.checkpoint
    assert (checkpoint.seen_since, sorted(checkpoint.seen)) == (at(80), ["a", "late"])

    # Restarted with a longer look-back: it cannot reach behind what seen remembers.
    clock.now = at(120)
    longer = make_watcher(state, vendor, sink, clock, lookback=3600)
    run(longer.poll())
    assert vendor.windows[-1] == (at(80), at(120))
    assert sink.handled == [("a", at(90)), ("late", at(95))]


def test_a_clock_behind_the_bookmark_never_moves_it_back(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(50))
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)
    run(watcher.poll())
    clock.now = at(40)
    run_twice = make_watcher(tmp_path / "state.json", vendor, sink, clock)
    run(run_twice.poll())
    assert vendor.windows[-1] == (T0, at(50)) and run_twice.checkpoint.bookmark == at(50)


def test_a_stop_finishes_the_item_in_hand_and_its_commit(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    for index in range(5):
        vendor.put(f"t{index}", at(index))
    watcher = make_watcher(state, vendor, sink, clock)
    sink.after = lambda count: watcher.stop("SIGTERM") if count == 2 else None

    code = run(watcher.run(every=3600, once=False, signals=False))
    assert code == 0 and watcher.stop_reason == "SIGTERM"
    assert sink.handled == [("t0", at(0)), ("t1", at(1))]
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None
    assert (checkpoint.bookmark, sorted(checkpoint.seen)) == (T0, ["t0", "t1"])
    assert watcher.summary() == (
        f"watch get_threats (fake): 2 items handled; checkpoint {state} at 2026-11-20T12:00:00.000000Z"
    )


def test_a_stop_interrupts_the_wait_between_polls(tmp_path: Path) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock)

    async def scenario() -> int:
        running = asyncio.ensure_future(watcher.run(every=3600, once=False, signals=False))
        while not vendor.windows:
            await asyncio.sleep(0)
        watcher.stop("SIGINT")
        return await running

    assert run(scenario()) == 0
    assert len(vendor.windows) == 1 and watcher.checkpoint.bookmark == at(10)


@pytest.mark.parametrize(
    ("answers", "code", "lines"),
    [
        ([], 0, []),
        ([failed()], 1, ["get_threats failed: GET /threats: 503 Service Unavailable"]),
        (
            [Envelope(action="get_threats", status="partial", errors=[ErrorItem(type="vendor", message="oops")])],
            3,
            ["get_threats was partial (oops); the bookmark stays at 2026-11-20T12:00:00.000000Z"],
        ),
    ],
)
def test_once_exit_codes_and_lines(tmp_path: Path, answers: list[Envelope], code: int, lines: list[str]) -> None:
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    vendor.answers = list(answers)
    said: list[str] = []
    watcher = make_watcher(tmp_path / "state.json", vendor, sink, clock, said=said)
    assert run(watcher.run(every=0, once=True, signals=False)) == code
    assert said == lines


def test_a_sink_that_commits_in_groups_is_synced_before_each_commit_and_when_the_poll_ends(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    vendor, sink, clock = FakeVendor(), RecordingSink(), FakeClock(at(10))
    sink.commit_every = 3
    for second in range(7):
        vendor.put(f"u{second}", at(second))
    committed: list[int] = []
    synced_at: list[int] = []
    sink.sync = lambda: synced_at.append(len(sink.handled))  # type: ignore[method-assign]

    def on_disk(handled: int) -> None:
        checkpoint = CheckpointStore(state).load()
        committed.append(len(checkpoint.seen) if checkpoint else 0)

    sink.after = on_disk
    report = run(make_watcher(state, vendor, sink, clock).poll())
    assert (report.status, report.handled) == ("complete", 7)
    # What a kill after each item would find on disk: the checkpoint moves every third item only
    # (the sink, like --output, removes lines written after it on restart), and once more at the end.
    assert committed == [0, 0, 0, 3, 3, 3, 6]
    assert synced_at == [3, 6, 7]
    final = CheckpointStore(state).load()
    assert final is not None and len(final.seen) == 7 and final.bookmark == at(10)
