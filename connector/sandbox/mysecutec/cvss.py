"""CVSS 3.1 vectors drawn like published CVEs' and their base scores, so seeded scores match their vectors.

``common.fake_cvss`` draws each metric uniformly and the score independently; a scanner's findings instead
lean to network-reachable, low-complexity flaws with high impact, and the score follows from the vector.
"""

from __future__ import annotations

import math
import random

# Metric weights of the CVSS v3.1 specification, section 7.4 (scope unchanged).
_WEIGHTS = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "PR": {"N": 0.85, "L": 0.62, "H": 0.27},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}


# Roughly how often each metric value appears in published CVSS 3.1 vectors (approximate NVD shares),
# which yields about 14% critical, 48% high, 34% medium and 4% low or none.
_FREQUENCIES = {
    "AV": {"N": 72, "A": 4, "L": 22, "P": 2},
    "AC": {"L": 88, "H": 12},
    "PR": {"N": 58, "L": 32, "H": 10},
    "UI": {"N": 66, "R": 34},
    "C": {"H": 62, "L": 16, "N": 22},
    "I": {"H": 55, "L": 18, "N": 27},
    "A": {"H": 52, "L": 6, "N": 42},
}


def realistic_vector(rng: random.Random) -> str:
    """A scope-unchanged CVSS 3.1 vector with metric values as frequent as in published CVEs."""
    values = {name: rng.choices(tuple(counts), weights=tuple(counts.values()))[0]
              for name, counts in _FREQUENCIES.items()}
    av, ac, pr, ui, c, i, a = (values[name] for name in ("AV", "AC", "PR", "UI", "C", "I", "A"))
    return f"CVSS:3.1/AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:U/C:{c}/I:{i}/A:{a}"


def base_score(vector: str) -> float:
    """The base score of a scope-unchanged ``CVSS:3.1/AV:../AC:../PR:../UI:../S:U/C:../I:../A:..`` vector."""
    metrics = dict(part.split(":") for part in vector.split("/")[1:])
    weight = {name: _WEIGHTS[name][metrics[name]] for name in _WEIGHTS}
    impact_subscore = 1 - (1 - weight["C"]) * (1 - weight["I"]) * (1 - weight["A"])
    impact = 6.42 * impact_subscore
    exploitability = 8.22 * weight["AV"] * weight["AC"] * weight["PR"] * weight["UI"]
    if impact <= 0:
        return 0.0
    return _round_up(min(impact + exploitability, 10.0))


def _round_up(value: float) -> float:
    """The specification's Roundup (Appendix A): up to one decimal, immune to float noise."""
    scaled = round(value * 100_000)
    if scaled % 10_000 == 0:
        return scaled / 100_000
    return (math.floor(scaled / 10_000) + 1) / 10.0
