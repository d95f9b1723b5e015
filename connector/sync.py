"""Running the async API from synchronous code (the CLI, a SOAR's Python step, a notebook cell)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)``, returning its result, also when called from inside a running loop.

    Inside a running event loop (a notebook, an async SOAR step), asyncio.run would refuse and leave
    the coroutine never awaited; the coroutine then runs to its end on its own loop in a worker
    thread, and this call waits for it (blocking the caller's loop meanwhile: ``await`` the async
    function instead where you can).

    The result is handed over through a list rather than as the main task's result: on Python
    3.11, asyncio.run builds the repr of the finished main task, result included, when it restores
    the SIGINT handler (CPython issue 112559), and the repr of an envelope of 5000 threats costs
    a third of a second.
    """
    box: list[T] = []

    async def main() -> None:
        box.append(await coroutine)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
    else:
        # The worker sees the caller's context variables, as a task of the caller's loop would.
        context = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="connector-sync") as worker:
            worker.submit(context.run, asyncio.run, main()).result()
    return box[0]
