"""Writing to a stream that fails under us: one line, exit 1, and a quiet exit."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from connector.errors import ConnectorError
from connector.streams import writing


class Failing(io.StringIO):
    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (BrokenPipeError(32, "Broken pipe"), 141, "stdout: the reader went away (closed pipe); stopping"),
        (OSError(28, "No space left on device"), 1, "stdout: cannot write: No space left on device"),
    ],
)
def test_a_failing_stream_is_one_line_exit_1_or_141_for_a_closed_pipe(error: OSError, code: int, message: str) -> None:
    stream = Failing(error)
    with pytest.raises(ConnectorError) as caught, writing(stream, "stdout"):
        stream.write("{}")
    assert (caught.value.exit_code, caught.value.message) == (code, message)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
@pytest.mark.parametrize("command", [["list"], ["describe", "get-threats"]])
def test_commands_on_a_full_disk_are_one_line_exit_1(command: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "connector", *command], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60
        )
    assert (result.returncode, result.stderr) == (1, "connector: stdout: cannot write: No space left on device\n")
