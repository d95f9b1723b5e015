"""A reader that goes away (``| head -1``) or a stdout that fails (/dev/full) stops the run at once, quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from connector.sandbox import SandboxConfig, build_app, serving
from connector.sandbox.faults import FaultInjector
from connector.streams import CLOSED_PIPE_EXIT

THREATS = 20_000
PAGES = THREATS // 1000
"""SentinelOne's pages hold 1,000 threats: a whole read is 20 requests."""

RUN = [sys.executable, "-m", "connector", "run", "get-threats"]
ENV = {**os.environ, "CONNECTOR_CONFIG": ""}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[FaultInjector, str]]:
    app = build_app(SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": THREATS}))
    with serving(app) as url:
        yield app, url


@pytest.mark.parametrize("format_name", ["ndjson", "json"])
def test_a_reader_that_goes_away_stops_the_run_with_141(
    sandbox: tuple[FaultInjector, str], format_name: str
) -> None:
    app, url = sandbox
    before = app.requests_seen
    run = subprocess.Popen(
        [*RUN, "--sandbox-url", url, "--format", format_name, "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )
    assert run.stdout is not None and run.stderr is not None
    head = subprocess.run(["head", "-1"], stdin=run.stdout, capture_output=True, timeout=120)
    run.stdout.close()  # head holds the only reading end now, and it has exited
    stderr = run.stderr.read().decode()
    assert run.wait(timeout=120) == CLOSED_PIPE_EXIT
    assert head.stdout.count(b"\n") == 1
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) <= 1, stderr
    # The run stopped with its reader: a page or two was read, never the whole listing.
    assert 1 <= app.requests_seen - before < 3 < PAGES, app.requests_seen - before


def test_stdout_on_a_full_device_is_exit_1_with_one_line(sandbox: tuple[FaultInjector, str]) -> None:
    app, url = sandbox
    before = app.requests_seen
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*RUN, "--sandbox-url", url, "--format", "ndjson", "--no-progress"],
            stdout=full, stderr=subprocess.PIPE, text=True, env=ENV, timeout=120,
        )
    assert result.returncode == 1
    assert result.stderr == "connector: stdout: cannot write: No space left on device\n"
    assert app.requests_seen - before < 3
