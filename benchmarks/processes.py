"""Commands run as child processes, timed, with the peak resident memory of that one child.

The peak is the child's own high-water mark (``VmHWM`` in /proc, read while it runs), not
``ru_maxrss``: that one also counts the copy of this process the child was forked from, and
``getrusage(RUSAGE_CHILDREN)`` would report the largest of every child, servers included.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONNECTOR = str(Path(sys.executable).with_name("connector"))
"""The console script of the environment running the benchmarks."""


@dataclass(frozen=True)
class Measured:
    """One finished child: wall time, CPU time (user + system), peak RSS and exit code."""

    seconds: float
    cpu_seconds: float
    peak_mib: float
    exit_code: int


class CommandFailed(RuntimeError):
    """A measured command exited with a code the benchmark did not expect."""


def run_measured(command: Sequence[str], *, expect: Sequence[int] = (0,)) -> Measured:
    """Run ``command`` (stdout to /dev/null, as ``> /dev/null`` would) and measure it.

    The peak RSS is the child's own high-water mark after it started its program (``VmHWM`` of
    /proc, read while it runs; it only grows): ``ru_maxrss`` would also count the copy of this
    process the child was forked from, however large the benchmark itself has grown by then.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, cwd=ROOT)
        peak_kib = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in expect:
            errors.seek(0)
            tail = errors.read()[-2000:].decode(errors="replace")
            raise CommandFailed(f"{' '.join(command)} exited {process.returncode}: {tail}")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, peak_kib / 1024, process.returncode)


def _high_water_kib(pid: int) -> int:
    """The process's peak resident memory so far (KiB), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def measured_or_failed(command: Sequence[str]) -> Measured:
    """The run, or NaN figures when it failed (its row then reads "failed" and the reason is printed)."""
    try:
        return run_measured(command)
    except CommandFailed as failure:
        print(f"benchmark command failed: {failure}")
        return Measured(math.nan, math.nan, math.nan, -1)


def python(*arguments: str) -> list[str]:
    """A command running this environment's Python."""
    return [sys.executable, *arguments]


def sandbox_start(sizes: Mapping[str, int], port: int) -> Measured:
    """Start ``connector sandbox --size ...`` and time it until ``GET /`` answers; then stop it.

    The CPU time and the peak resident memory are the sandbox's own up to that answer.
    """
    command = [CONNECTOR, "sandbox", "--port", str(port), "--no-rate-limits"]
    for vendor, size in sizes.items():
        command += ["--size", f"{vendor}={size}"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.perf_counter() - started > 300:
                    raise CommandFailed(f"{' '.join(command)} did not start") from None
                time.sleep(0.02)
        seconds = time.perf_counter() - started
        return Measured(seconds, _cpu_seconds(process.pid), _rss_mib(process.pid), 0)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    """The peak resident memory so far (VmHWM) of a running process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
