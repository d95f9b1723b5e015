"""Running the async API from synchronous code (the CLI, a SOAR's Python step)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)``, returning its result.

    The result is handed over through a list rather than as the main task's result: on Python
    3.11, asyncio.run builds the repr of the finished main task, result included, when it restores
    the SIGINT handler (CPython issue 112559), and the repr of an envelope of 5000 threats costs
    a third of a second.
    """
    box: list[T] = []

    async def main() -> None:
        box.append(await coroutine)

    asyncio.run(main())
    return box[0]
