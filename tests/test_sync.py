"""run_sync: the coroutine's result, without asyncio.run building its repr."""

from __future__ import annotations

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
