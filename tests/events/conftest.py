"""Fixtures of the event tests: a SentinelOne simulator on loopback, and a connections file naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.sandbox import SandboxConfig, running_sandbox

SECRET = "s1-audit-secret-7f3a9c"
"""The simulator's token: the audit and progress tests check it never shows."""


@pytest.fixture(scope="session")
def connections_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A connections file whose ``s1`` reaches a running simulator with the token in ``$S1_EVENTS_TOKEN``."""
    config = SandboxConfig(token=SECRET, vendors=("sentinelone",), sizes={"sentinelone": 5}, rate_limits=False)
    with running_sandbox(config) as url:
        path = tmp_path_factory.mktemp("events") / "connections.yaml"
        path.write_text(
            f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {url}/sentinelone\n"
            "    secret: env:S1_EVENTS_TOKEN\n"
        )
        yield path
