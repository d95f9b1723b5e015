"""What used to end a watch in a traceback: durations and instants off the calendar, a state file
that cannot be written, a full disk under --output or stdout. Each is one line and its exit code."""

from __future__ import annotations

import asyncio
import io
import resource
import subprocess
from pathlib import Path

import pytest

from connector.cli.common import seconds
from connector.cli.watch import starting_point
from connector.errors import BadInput, ConnectorError, InternalError
from connector.sandbox import SandboxConfig, running_sandbox
from connector.watch import awatch, source
from connector.watch.checkpoint import CheckpointStore, new_checkpoint
from connector.watch.items import ItemKey
from connector.watch.sinks import StdoutSink
from tests.watch.support import CONNECTOR, T0, FakeClock, cli_env, connector

SANDBOX_URL = "http://127.0.0.1:9"  # never reached: every case fails before a request


@pytest.mark.parametrize("text", ["1e12s", "infs", "nans", "-1s", "1e400ms", "3000000000m"])
def test_durations_off_the_calendar_are_refused(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        seconds(text, "--lookback")
    assert caught.value.message == (
        f"--lookback: {text!r} is not a duration like 20ms, 1.5s, 5m or 1h (at most ten years)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0001-01-01T00:00:00Z", "is before 1970-01-01T00:00:00Z (no vendor holds older items)"),
        ("9999-12-31T23:59:59Z", "is in the future (the watch reads what happened up to now)"),
        ("1e12s", "--since: '1e12s' is not an RFC 3339 instant like 2026-10-01T00:00:00Z or a duration like 2h"),
    ],
)
def test_starting_points_off_the_calendar_are_refused(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        starting_point(text)
    assert caught.value.message in (f"--since: {text} {message}", message)


def test_a_state_file_that_cannot_be_written_is_one_line_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    CheckpointStore(state).save(new_checkpoint("get_threats", "sandbox-sentinelone", T0))
    # What a read-only folder does to a process that may write anywhere (root): the temporary file cannot be made.
    (tmp_path / ".state.json.tmp").mkdir()
    polled = source("get_threats", sandbox_url=SANDBOX_URL)
    with pytest.raises(BadInput) as caught:
        asyncio.run(awatch(polled, state=state, once=True, signals=False, clock=FakeClock(T0)))
    assert caught.value.message == f"--state: cannot write {state}: Is a directory"
    assert CheckpointStore(state).load() == new_checkpoint("get_threats", "sandbox-sentinelone", T0)


def test_a_checkpoint_that_fails_during_a_poll_is_exit_1(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state.json")
    (tmp_path / ".state.json.tmp").mkdir()
    with pytest.raises(ConnectorError) as caught:
        store.save(new_checkpoint("get_threats", "x", T0))
    assert (caught.value.exit_code, caught.value.message) == (1, f"--state: cannot write {store.path}: Is a directory")


class FullStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_stdout_on_a_full_disk_is_one_line() -> None:
    key = ItemKey(stamp=T0, uid="sentinelone:1")
    with pytest.raises(ConnectorError) as caught:
        asyncio.run(StdoutSink(FullStream()).handle({"uid": "sentinelone:1"}, key))
    assert caught.value.message == "stdout: item sentinelone:1: cannot write: No space left on device"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
@pytest.mark.parametrize("where", ["--output", "stdout"])
def test_watch_cli_on_a_full_disk_is_one_line_exit_1(tmp_path: Path, where: str) -> None:
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": 5})
    with running_sandbox(config) as url:
        args = ["watch", "get-threats", "--sandbox-url", url, "--once", "--state", str(tmp_path / "s.json")]
        if where == "--output":
            # --output refuses a device (issue 21), so the disk fills by a file size limit instead:
            # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG as on a full disk.
            limit = (1500, 1500)
            result = subprocess.run(
                [*CONNECTOR, *args, "--since", "2020-01-01T00:00:00Z", "--output", str(tmp_path / "out.ndjson")],
                capture_output=True, text=True, timeout=60, env=cli_env(),
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, limit),
            )
        else:
            with open("/dev/full", "w") as full:
                result = subprocess.run(
                    [*CONNECTOR, *args, "--since", "2020-01-01T00:00:00Z"],
                    stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, env=cli_env(),
                )
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    too_large = f"--output: cannot write {tmp_path / 'out.ndjson'}: File too large"
    expected = too_large if where == "--output" else "cannot write"
    assert expected in lines[0] and len(lines) == 1


def test_watch_cli_refuses_a_duration_off_the_calendar(tmp_path: Path) -> None:
    args = ["watch", "get-threats", "--sandbox-url", SANDBOX_URL, "--once", "--state", str(tmp_path / "s.json")]
    result = connector(*args, "--lookback", "infs")
    assert (result.returncode, result.stderr) == (
        2, "connector: --lookback: 'infs' is not a duration like 20ms, 1.5s, 5m or 1h (at most ten years)\n"
    )


def test_a_bug_in_the_watch_loop_is_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: object, **options: object) -> int:
        raise TypeError("unsupported operand")

    monkeypatch.setattr("connector.watch.poller.Watcher.run", broken)
    polled = source("get_threats", sandbox_url=SANDBOX_URL)
    with pytest.raises(InternalError) as caught:
        asyncio.run(awatch(polled, state=tmp_path / "s.json", once=True, signals=False, clock=FakeClock(T0)))
    assert caught.value.message == (
        "internal error: TypeError: unsupported operand (please report; -vv shows the traceback)"
    )
