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
