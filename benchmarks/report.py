"""One line of BENCHMARKS.md: a measure beside its baseline from the same run, and its target if any."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """A measured value, its baseline, and (for the issue's targets) the target and whether it is met."""

    name: str
    value: float
    baseline: str
    baseline_value: float
    target: str = ""
    met: bool | None = None

    def line(self) -> str:
        """The Markdown table row."""
        ratio = self.value / self.baseline_value if self.baseline_value else math.nan
        verdict = {True: "met", False: "**not met**", None: ""}[self.met]
        return (f"| {self.name} | {_number(self.value)} | {self.baseline} | {_number(self.baseline_value)} | "
                f"{_number(ratio, 2)} | {self.target} | {verdict} |")


HEADER = [
    "| measure | value | baseline | baseline value | ratio | target | |",
    "|---|---:|---|---:|---:|---|---|",
]


def _number(value: float, digits: int = 1) -> str:
    return "failed" if math.isnan(value) else f"{value:,.{digits}f}"
