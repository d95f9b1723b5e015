"""The benchmarks' method: alternated runs, medians, and the mark on unreliable figures (nothing timed)."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.method import Block, Samples, alternate, order
from benchmarks.pipeline import mysecutec_bound
from benchmarks.processes import ROOT, Measured
from benchmarks.report import Row
from benchmarks.served import p99_ms
from benchmarks.servers import SERVER_CORE


def _runs(*seconds: float) -> Samples:
    return Samples(tuple(Measured(wall, wall / 2, 10.0 + wall, 0) for wall in seconds))


def test_each_round_reverses_the_one_before() -> None:
    assert order(["a", "b"], 3) == ["a", "b", "b", "a", "a", "b"]
    assert order(["a", "b", "c"], 2) == ["a", "b", "c", "c", "b", "a"]


def test_alternate_runs_the_members_in_turn_after_one_warm_run_each_and_keeps_medians() -> None:
    calls: list[str] = []
    walls = {"a": iter([9.0, 1.0, 3.0, 2.0]), "b": iter([9.0, 5.0, 4.0, 6.0])}

    def measure(name: str) -> Callable[[], Measured]:
        def run() -> Measured:
            calls.append(name)
            wall = next(walls[name])
            return Measured(wall, wall / 2, wall, 0)
        return run

    block = alternate({"a": measure("a"), "b": measure("b")}, 3)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert (block["a"].seconds, block["a"].cpu_seconds, block["a"].peak_mib) == (2.0, 1.0, 3.0)
    assert (block["b"].seconds, block["b"].cpu_seconds) == (5.0, 2.5)


def test_a_quiet_block_with_close_samples_is_reliable() -> None:
    block = Block({"a": _runs(1.0, 1.01, 0.99, 1.0), "b": _runs(2.0, 2.0, 2.02)}, 0.6, 0.9)
    assert block.doubt() == ""
    assert block.mark() == "yes (load 0.6 to 0.9)"


def test_a_moving_load_or_a_wide_spread_is_named() -> None:
    block = Block({"a": _runs(1.0, 1.5, 0.7, 1.0), "b": _runs(2.0, 2.0, 2.02)}, 0.4, 1.5)
    assert block.doubt("b") == "load moved 0.4 to 1.5"
    assert block.mark("a", "b") == "**no**: load moved 0.4 to 1.5, a spread 20%"


def test_a_failed_run_makes_the_median_fail_rather_than_hide() -> None:
    samples = Samples((Measured(1.0, 0.5, 3.0, 0), Measured(math.nan, math.nan, math.nan, -1)))
    assert math.isnan(samples.seconds) and math.isnan(samples.peak_mib) and samples.spread == 0.0


def test_a_row_gives_cpu_beside_wall_and_its_reliable_mark() -> None:
    row = Row("run (ms)", 300.0, "imports", 200.0, "<= 1.3x", False, cpu=240.0, baseline_cpu=160.0,
              reliable="yes (load 0.6 to 0.9)")
    assert row.line() == ("| run (ms) | 300.0 | 240.0 | imports | 200.0 | 160.0 | 1.50 | 1.50 | <= 1.3x | "
                          "**not met** | yes (load 0.6 to 0.9) |")
    plain = Row("pages / s", 10.0, "static", 20.0)
    assert plain.line() == "| pages / s | 10.0 |  | static | 20.0 |  | 0.50 |  |  |  |  |"


def test_the_serve_rows_take_the_99th_percentile_of_the_request_times() -> None:
    assert p99_ms(_runs(*[0.001] * 99, 0.101)) == pytest.approx(2.0)  # inclusive: 99% of the way to the slowest
    assert p99_ms(_runs(0.002, 0.004)) == pytest.approx(3.98)


def test_the_mysecutec_bound_says_what_start_the_target_leaves() -> None:
    # The read takes 600 ms, the naive loop 500, the read beyond a one-record run 200.
    speed = Row("speed", 10_000 / 0.6, "naive", 10_000 / 0.5)
    less = Row("less", 10_000 / 0.2, "naive", 10_000 / 0.5)
    (line,) = mysecutec_bound(speed, less)
    assert line.endswith("whole read takes 500 ms. 0.9x, start included, leaves a one-record run 356 ms, "
                         "where it takes 400.")


SPAWNED_AFFINITY = """
import multiprocessing, os
from benchmarks.servers import keep_off_first_core, pin_to_server_core

def server(queue):
    pin_to_server_core()
    queue.put(sorted(os.sched_getaffinity(0)))

if __name__ == "__main__":
    keep_off_first_core()
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    child = spawn.Process(target=server, args=(queue,))
    child.start()
    print(sorted(os.sched_getaffinity(0)), queue.get(timeout=60))
    child.join()
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="one core")
def test_a_server_spawned_by_the_client_runs_on_a_core_of_its_own(tmp_path: Path) -> None:
    # The child inherits the client's cores: it must still pin itself to the one the client left.
    script = tmp_path / "affinity.py"
    script.write_text(SPAWNED_AFFINITY)
    env = {key: value for key, value in os.environ.items() if key != SERVER_CORE}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=ROOT,
                          env={**env, "PYTHONPATH": str(ROOT)})
    client, server = (set(cores) for cores in ast.literal_eval(done.stdout.strip().replace("] [", "], [")))
    assert len(server) == 1
    assert not server & client
