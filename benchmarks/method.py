"""How the rows that form a ratio are measured: alternately, in one time block, as medians.

Measuring a value in one block of time and its baseline in the next lets a change in the machine's
load (other work on the same cores) show up as a ratio. :func:`alternate` instead runs the members
of a comparison in turn, reversing the order every round (A, B, B, A, A, B, ...; with more members
A, B, C, C, B, A, ...), so slow and fast moments fall on every member alike, and keeps the median
of each member's wall time and of its CPU time (the child's user + system), which waiting for a
core does not inflate.

A block records the 1-minute load average when it starts and when it ends. Its figures are marked
unreliable when that load moved by more than :data:`LOAD_MOVED`, or when a member's wall times
spread widely: their interquartile range above :data:`SPREAD` of their median.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from benchmarks.processes import Measured

LOAD_MOVED = 0.5
"""How far the 1-minute load average may move during a block before its figures are unreliable."""
SPREAD = 0.10
"""How wide a member's wall times may spread (interquartile range over median) before it is unreliable."""


@dataclass(frozen=True)
class Samples:
    """The runs of one member of a block, in the order they were taken."""

    runs: tuple[Measured, ...]

    @property
    def seconds(self) -> float:
        """The median wall time (NaN when a run failed)."""
        return _median([run.seconds for run in self.runs])

    @property
    def cpu_seconds(self) -> float:
        """The median CPU time (user + system) of the child (NaN when a run failed)."""
        return _median([run.cpu_seconds for run in self.runs])

    @property
    def peak_mib(self) -> float:
        """The highest peak resident memory of any run (NaN when a run failed)."""
        peaks = [run.peak_mib for run in self.runs]
        return math.nan if any(map(math.isnan, peaks)) else max(peaks)

    @property
    def spread(self) -> float:
        """The interquartile range of the wall times over their median (0 with fewer than two runs)."""
        walls = [run.seconds for run in self.runs]
        if len(walls) < 2 or any(map(math.isnan, walls)):
            return 0.0
        low, _, high = statistics.quantiles(walls, n=4, method="inclusive")
        return (high - low) / statistics.median(walls)


@dataclass(frozen=True)
class Block:
    """Every member's samples from one time block, with the load average when it started and ended."""

    members: Mapping[str, Samples]
    load_before: float
    load_after: float

    def __getitem__(self, name: str) -> Samples:
        return self.members[name]

    def doubt(self, *names: str) -> str:
        """Why the figures of ``names`` (every member when none is named) are unreliable, or "" when they are not."""
        reasons = []
        if abs(self.load_after - self.load_before) > LOAD_MOVED:
            reasons.append(f"load moved {self.load_before:.1f} to {self.load_after:.1f}")
        for name in names or tuple(self.members):
            if self.members[name].spread > SPREAD:
                reasons.append(f"{name} spread {self.members[name].spread:.0%}")
        return ", ".join(reasons)

    def mark(self, *names: str) -> str:
        """The "reliable" cell of a row comparing ``names``: yes with the block's load, or no and why."""
        doubt = self.doubt(*names)
        if doubt:
            return f"**no**: {doubt}"
        return f"yes (load {self.load_before:.1f} to {self.load_after:.1f})"


def order(names: Sequence[str], rounds: int) -> list[str]:
    """The order of the runs: every name once per round, each round reversing the one before."""
    return [name for index in range(rounds) for name in (names if index % 2 == 0 else list(reversed(names)))]


def alternate(measures: Mapping[str, Callable[[], Measured]], rounds: int, *, warm: bool = True) -> Block:
    """Run every measure ``rounds`` times, alternately, after one untimed run of each when ``warm``.

    The untimed run warms the file cache (and a simulator's first walk), which would otherwise fall
    on whichever member runs first.
    """
    if warm:
        for measure in measures.values():
            measure()
    load_before = os.getloadavg()[0]
    runs: dict[str, list[Measured]] = {name: [] for name in measures}
    for name in order(list(measures), rounds):
        runs[name].append(measures[name]())
    members = {name: Samples(tuple(taken)) for name, taken in runs.items()}
    return Block(members, load_before, os.getloadavg()[0])


def _median(values: list[float]) -> float:
    """The median, or NaN when a value is NaN (a failed run: sorting NaN would hide it)."""
    return math.nan if any(map(math.isnan, values)) else statistics.median(values)
