"""A watch on workers: items per second of `connector watch --broker` with 1 and 4 `connector worker`s.

Each watched threat runs examples/threat-to-incident.yaml (a CISO Assistant incident made from it,
three requests) on the workers, the sandbox answering each request after 50 ms. The watch hands
out its default number of items at once (`--concurrency`, 8 with a broker); each worker runs one
task at a time, so the ratio measures what adding workers adds. Every count gets a fresh sandbox,
broker database and checkpoint, so each run creates every incident (none is found already there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.servers import in_child_process
from benchmarks.workers import LATENCY_S, TOKEN_ENV, every_core, ratio_lines
from connector.jobs.local import RedisServer, start_workers
from connector.sandbox import SandboxConfig, serve

ITEMS = int(os.environ.get("BENCH_WATCH_ITEMS", "100"))
COUNTS = (1, 4)
TARGET = 3.0
"""Four workers at least three times one worker's items per second."""
PLAYBOOK = Path(__file__).resolve().parents[1] / "examples" / "threat-to-incident.yaml"


def serve_slow_pair(port: int) -> None:
    """SentinelOne (the watched threats) and CISO Assistant (the incidents), answering after 50 ms."""
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone", "ciso_assistant"),
                           sizes={"sentinelone": ITEMS, "ciso_assistant": 5}, latency_s=LATENCY_S)
    serve(config, port=port, access_log=False)


def items_per_second(workers: int, folder: Path, redis: RedisServer) -> float:
    """Items per second of one `watch --once` over every threat, its playbooks on ``workers`` workers."""
    with in_child_process(serve_slow_pair) as sandbox:
        config = folder / f"connections-{workers}.yaml"
        limit = "    rate_limit: {requests: 100000, per_seconds: 1}\n"
        config.write_text(
            "connections:\n"
            f"  s1:\n    vendor: sentinelone\n    base_url: {sandbox.url}/sentinelone\n"
            f"    secret: env:{TOKEN_ENV}\n{limit}"
            f"  ciso:\n    vendor: ciso_assistant\n    base_url: {sandbox.url}/ciso_assistant\n"
            f"    secret: env:{TOKEN_ENV}\n{limit}"
        )
        broker = redis.url(10 + workers)
        env = {TOKEN_ENV: SandboxConfig().token}
        started_workers = start_workers(workers, broker, folder, config=config, concurrency=1, env=env,
                                        prefix=f"watch{workers}-")
        try:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "connector", "--config", str(config), "watch", "get-threats",
                 "-c", "s1", "-c", "ciso_assistant=ciso", "--playbook", str(PLAYBOOK), "--broker", broker,
                 "--since", "2000-01-01T00:00:00Z", "--state", str(folder / f"state-{workers}.json"), "--once"],
                capture_output=True, text=True, timeout=900, env={**os.environ, **env},
            )
            elapsed = time.perf_counter() - started
        finally:
            for worker in started_workers:
                worker.stop()
    if done.returncode != 0 or f"{ITEMS} items handled" not in done.stderr:
        raise RuntimeError(f"the benchmark watch failed ({done.returncode}): {done.stderr[-300:]}")
    return ITEMS / elapsed


def section() -> list[str]:
    """The watch-on-workers part of BENCHMARKS.md: a table of rates and ratios, and the verdict on the target."""
    with every_core(), tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        redis = RedisServer(folder)
        try:
            rates = {count: items_per_second(count, folder, redis) for count in COUNTS}
        finally:
            redis.stop()
    intro = (f"A watch on workers: {ITEMS} watched threats, each made a CISO Assistant incident by "
             f"`examples/threat-to-incident.yaml` on the workers (three requests, the sandbox answering after "
             f"{LATENCY_S * 1000:.0f} ms), the watch start included; each worker running one task at a time.")
    target = f"{COUNTS[-1]} workers at least {TARGET:g}x one worker on a watch's items"
    return ratio_lines(intro, "items / s", rates, target, TARGET)
