"""One line of BENCHMARKS.md: a measure beside its baseline from the same run, and its target if any."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """A measured value, its baseline, and (for the issue's targets) the target and whether it is met.

    ``cpu`` and ``baseline_cpu`` are the same figures over the child's CPU time instead of the wall
    clock, when the row is measured that way. ``reliable`` says, for a row measured alternately
    (:mod:`benchmarks.method`), whether its figures can be trusted (:meth:`benchmarks.method.Block.mark`).
    """

    name: str
    value: float
    baseline: str
    baseline_value: float
    target: str = ""
    met: bool | None = None
    cpu: float | None = None
    baseline_cpu: float | None = None
    reliable: str = ""

    def line(self) -> str:
        """The Markdown table row."""
        verdict = {True: "met", False: "**not met**", None: ""}[self.met]
        return (f"| {self.name} | {_number(self.value)} | {_optional(self.cpu)} | {self.baseline} | "
                f"{_number(self.baseline_value)} | {_optional(self.baseline_cpu)} | "
                f"{_optional(_ratio(self.value, self.baseline_value), 2)} | "
                f"{_optional(_ratio(self.cpu, self.baseline_cpu), 2)} | {self.target} | {verdict} | {self.reliable} |")


HEADER = [
    "| measure | value | CPU | baseline | baseline value | baseline CPU | ratio | CPU ratio | target | | reliable |",
    "|---|---:|---:|---|---:|---:|---:|---:|---|---|---|",
]


def _ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or baseline is None:
        return None
    return value / baseline if baseline else math.nan


def _optional(value: float | None, digits: int = 1) -> str:
    return "" if value is None else _number(value, digits)


def _number(value: float, digits: int = 1) -> str:
    return "failed" if math.isnan(value) else f"{value:,.{digits}f}"
