"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ("connector.testing",)
"""The recording sandbox transport and its fixtures, as a plugin author loads them."""

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = FIXTURES / "real"
"""Real payloads captured by others (see its SOURCES.md)."""
DOCS = FIXTURES / "docs"
"""Data taken from the vendors' API documents: examples, parameter names, endpoints (see its SOURCES.md)."""


def doc(name: str) -> Any:
    """The JSON file ``name`` of tests/fixtures/docs, decoded."""
    return json.loads((DOCS / name).read_text(encoding="utf-8"))


def real_payload(name: str) -> Any:
    """The JSON file ``name`` of tests/fixtures/real, decoded."""
    return json.loads((REAL / name).read_text(encoding="utf-8"))


MESSY_RATE = 0.35
"""The share of damaged records in the messy sandbox of the tests (seeded: the same records every run)."""


@pytest.fixture(params=[0.0, MESSY_RATE], ids=["clean", "messy"])
def messy_rate(request: pytest.FixtureRequest) -> float:
    """Run the test on clean sandbox data, then on messy data (``SandboxConfig(messy=messy_rate)``)."""
    rate: float = request.param
    return rate
