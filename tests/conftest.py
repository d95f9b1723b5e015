"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder beside the clone (vendor specs and real payloads); skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(
            f"../shared is not beside the clone (looked in {SHARED}); vendor specs and real payloads unavailable"
        )
    return SHARED


MESSY_RATE = 0.35
"""The share of damaged records in the messy sandbox of the tests (seeded: the same records every run)."""


@pytest.fixture(params=[0.0, MESSY_RATE], ids=["clean", "messy"])
def messy_rate(request: pytest.FixtureRequest) -> float:
    """Run the test on clean sandbox data, then on messy data (``SandboxConfig(messy=messy_rate)``)."""
    rate: float = request.param
    return rate
