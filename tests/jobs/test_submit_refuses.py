"""`submit` refuses at once, with exit 2, what `run` refuses: nothing reaches the broker (issue 22 item 6).

The broker named here cannot be reached: a submit that tried to queue would end with exit 1 saying
so. Each case must end with exit 2 and `run`'s own line instead.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

NOWHERE = "redis://127.0.0.1:1/0"


def submit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "submit", *args, "--broker", NOWHERE],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["get-threatz"], "connector: action 'get-threatz' is not known (see `connector list`); "
                          "did you mean 'get-threats'?"),
        (["get-threats", "--connection", "s1", "--sandbox-url", "http://127.0.0.1:9"],
         "connector: --connection and --sandbox-url: give only one of them (each says where to run)"),
        (["get-threats", "--sandbox-url", "http://127.0.0.1:9", "--input", '{"limit": 0}'],
         "connector: input.limit: 0 is less than the minimum of 1 (rule: minimum)"),
        (["get-threats", "--sandbox-url", "http://127.0.0.1:9", "--format", "xml"],
         "connector: Invalid value for '--format': 'xml' is not a known format (known: csv, json, ndjson, ocsf"),
        (["get-threats", "--sandbox"],
         "connector: --sandbox: the simulators live as long as this process: give --wait (or --sandbox-url)"),
    ],
)
def test_submit_refuses_what_run_refuses_before_the_broker(args: list[str], line: str) -> None:
    done = submit(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0].startswith(line), done.stderr
    assert "unreachable" not in done.stderr and "Traceback" not in done.stderr
