"""One sandbox and one export of each platform for the export tests; the generated programs run as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector import run_action
from connector.export import export
from connector.sandbox import SandboxConfig, running_sandbox

TOKEN = SandboxConfig().token
BAD_TOKEN = "bad-token-0123456789-never-shown"
SIZES = {"sentinelone": 40, "mysecutec": 40, "nameshield": 40, "ciso_assistant": 5}


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """One sandbox for every export test, small and without rate limits."""
    with running_sandbox(SandboxConfig(sizes=SIZES, rate_limits=False)) as url:
        yield url


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both exports, written as `connector export` writes them."""
    root = tmp_path_factory.mktemp("exports")
    export("shuffle", root / "shuffle")
    export("cortex", root / "cortex")
    return root


def direct(action: str, document: dict[str, Any], vendor: str, sandbox_url: str) -> dict[str, Any]:
    """The same action through the Python API, to compare the generated programs' answers with."""
    envelope = run_action(action, document, vendor=vendor, sandbox=sandbox_url)
    assert envelope.status == "success", envelope.errors
    return envelope.output


def run_program(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a generated program with this interpreter; no token in the environment unless ``env`` gives one."""
    environment = {key: value for key, value in os.environ.items() if key != "CONNECTOR_TOKEN"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
