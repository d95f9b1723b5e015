"""The reliability suite (issue 13, RELIABILITY.md): its counts are printed at the end of the run."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from _pytest.terminal import TerminalReporter

import connector
from connector.sandbox import SandboxConfig, running_sandbox
from tests.reliability.support import COUNTS

SMALL = {"sentinelone": 40, "mysecutec": 40, "nameshield": 40, "ciso_assistant": 20}
"""Records per simulator for the fuzzing runs: enough for every action to find something."""


@pytest.fixture(scope="session", autouse=True)
def every_module_loaded() -> None:
    """Hypothesis draws some values from constants it finds in the project's loaded modules: every
    module is loaded before the first case, so the cases drawn do not depend on which tests ran first."""
    for module in pkgutil.walk_packages(connector.__path__, "connector."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """One small sandbox for a module's cases (actions that change it may: no case depends on another)."""
    with running_sandbox(SandboxConfig(sizes=SMALL, rate_limits=False)) as url:
        yield url


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """The counts of this run, one line each (with -n, each worker's counts are its own share)."""
    if COUNTS:
        terminalreporter.section("reliability counts")
        for name, count in sorted(COUNTS.items()):
            terminalreporter.write_line(f"{name}: {count}")
