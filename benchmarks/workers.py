"""Workers: actions per second through the task queue with 1, 2 and 4 `connector worker`s, as ratios to one.

The load is I/O-bound, as a SOAR's is: a sandbox answering each request after 50 ms, the vendors'
documented rate limits off (at the sandbox, and a connection limit far above the load), each
task one get_threats of one record. Each worker runs one task at a time (``--concurrency 1``), so
the ratio measures what adding workers adds. Redis, the sandbox and the workers are real child
processes on this machine, sharing its cores with the submitting process.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.servers import in_child_process
from connector.jobs import submit_action
from connector.jobs.local import RedisServer, start_workers
from connector.sandbox import SandboxConfig, serve

LATENCY_S = 0.05
COUNTS = (1, 2, 4)
TASKS = int(os.environ.get("BENCH_TASKS", "160"))
TARGET = 3.0
"""Four workers at least three times one worker's throughput."""
TOKEN_ENV = "BENCH_S1_TOKEN"


def serve_slow_sandbox(port: int) -> None:
    """The SentinelOne simulator answering each request after 50 ms, its rate limits off."""
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": 200}, latency_s=LATENCY_S)
    serve(config, port=port, access_log=False)


def actions_per_second(workers: int, broker: str, config: Path, folder: Path) -> float:
    """Actions per second of ``workers`` workers draining TASKS queued actions (from first submit to last result)."""
    started_workers = start_workers(workers, broker, folder, config=config, concurrency=1,
                                    env={TOKEN_ENV: SandboxConfig().token}, prefix=f"bench{workers}-")
    try:
        submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker).get(timeout=60)
        started = time.perf_counter()
        jobs = [submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker) for _ in range(TASKS)]
        failed = [envelope for envelope in (job.get(timeout=600) for job in jobs) if envelope.status != "success"]
        elapsed = time.perf_counter() - started
    finally:
        for worker in started_workers:
            worker.stop()
    if failed:
        raise RuntimeError(f"{len(failed)} benchmark actions failed: {failed[0].errors}")
    return TASKS / elapsed


@contextmanager
def every_core() -> Iterator[None]:
    """Let this process, and so the workers it starts, use every core (``make bench`` keeps its client off one)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def section() -> list[str]:
    """The workers' part of BENCHMARKS.md: a table of rates and ratios, and the verdict on the target."""
    with every_core(), tempfile.TemporaryDirectory() as temporary, in_child_process(serve_slow_sandbox) as sandbox:
        folder = Path(temporary)
        config = folder / "connections.yaml"
        config.write_text(
            "connections:\n  s1:\n    vendor: sentinelone\n"
            f"    base_url: {sandbox.url}/sentinelone\n    secret: env:{TOKEN_ENV}\n"
            "    rate_limit: {requests: 100000, per_seconds: 1}\n"
        )
        server = RedisServer(folder)
        try:
            rates = {count: actions_per_second(count, server.url(count), config, folder) for count in COUNTS}
        finally:
            server.stop()
    intro = (f"Workers: {TASKS} queued get_threats actions (one request each, the sandbox answering after "
             f"{LATENCY_S * 1000:.0f} ms, rate limits off), each worker running one at a time; ratio to one worker.")
    return ratio_lines(intro, "actions / s", rates, f"{COUNTS[-1]} workers at least {TARGET:g}x one worker", TARGET)


def ratio_lines(intro: str, unit: str, rates: dict[int, float], target: str, at_least: float) -> list[str]:
    """A section of rates by number of workers, their ratios to one worker, and the verdict on ``target``."""
    lines = [intro, "", f"| workers | {unit} | ratio to 1 worker |", "|---:|---:|---:|"]
    lines += [f"| {count} | {rate:,.2f} | {rate / rates[1]:.2f} |" for count, rate in rates.items()]
    ratio = rates[max(rates)] / rates[1]
    verdict = "met" if ratio >= at_least else "NOT met"
    return [*lines, "", f"The target, {target}, is {verdict}: {ratio:.2f}x."]
