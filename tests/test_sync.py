"""run_sync: the coroutine's result, without asyncio.run building its repr, also inside a running loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from connector import run_action
from connector.sync import run_sync


class CountsReprs:
    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "CountsReprs()"


async def make() -> CountsReprs:
    return CountsReprs()


def test_run_sync_returns_the_result_without_building_its_repr() -> None:
    result = run_sync(make())
    assert isinstance(result, CountsReprs)
    assert result.reprs == 0  # asyncio.run on Python 3.11 builds it twice


def test_run_action_from_inside_a_running_loop_works_in_a_worker_thread(recwarn: pytest.WarningsRecorder) -> None:
    async def notebook_cell() -> tuple[str, int]:
        # What a notebook or an async SOAR step does: the synchronous API, called with a loop running.
        envelope = run_action("get_threats", {"limit": 2}, sandbox=True, vendor="sentinelone")
        return envelope.status, envelope.output["count"]

    assert asyncio.run(notebook_cell()) == ("success", 2)
    assert [str(warning.message) for warning in recwarn if "never awaited" in str(warning.message)] == []


def test_run_sync_inside_a_loop_runs_on_another_thread_and_passes_errors_through() -> None:
    async def where() -> str:
        return threading.current_thread().name

    async def failing() -> None:
        raise ValueError("from the coroutine")

    async def caller() -> str:
        with pytest.raises(ValueError, match="from the coroutine"):
            run_sync(failing())
        return run_sync(where())

    assert asyncio.run(caller()).startswith("connector-sync")
