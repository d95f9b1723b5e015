"""The progress line: what it shows on a terminal, and that it stays silent everywhere else."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from connector.api import arun_action
from connector.connections import sandbox_connection
from connector.envelope import Envelope
from connector.events.progress import Progress, showing_progress
from connector.hookspecs import hookimpl
from connector.plugins import Host
from tests.events.conftest import SECRET
from tests.events.support import TOKEN, paged_run, simulator
from tests.plugins.recorder import EventRecorder

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Clock:
    """A clock for the progress plugin that ticks one second per record emitted, and never otherwise."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    @hookimpl(tryfirst=True)
    def record_emitted(self) -> None:
        """Tick before anyone draws the record."""
        self.now += 1.0


def terminal() -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, width=100), screen


def frames(screen: io.StringIO) -> list[str]:
    """What the terminal showed, one string per redraw (lines joined by newlines), escape codes removed."""
    drawn = (ANSI.sub("", chunk).strip("\r\n") for chunk in screen.getvalue().split("\r\x1b[2K"))
    return [frame for frame in drawn if frame]


def test_a_paged_read_shows_records_pages_rate_and_retries() -> None:
    console, screen = terminal()
    clock = Clock()
    progress = Progress(console, clock=clock)
    envelope = asyncio.run(paged_run(Host([progress, clock], entry_points=False), simulator("429@2")))
    assert envelope.status == "success"
    line = "get_threats  {} · {} pages · {} records/s · {} requests · {} retries".format
    # The first page tells the total (5): from the next draw on, the line shows it and the share read.
    assert frames(screen) == [
        "get_threats  0 requests · 0 retries",
        line("0 records", 1, "0.0", 1, 0),
        line("1/5 records (20%)", 1, "1.0", 1, 0),
        line("2/5 records (40%)", 1, "1.0", 1, 0),
        # The second request is drawn with the retry: requests redraw at most every 0.1 s of the clock.
        line("2/5 records (40%)", 1, "1.0", 2, 1),
        line("2/5 records (40%)", 2, "1.0", 3, 1),
        line("3/5 records (60%)", 2, "1.0", 3, 1),
        line("4/5 records (80%)", 2, "1.0", 3, 1),
        line("4/5 records (80%)", 3, "1.0", 4, 1),
        line("5/5 records (100%)", 3, "1.0", 4, 1),
    ]
    # The line is erased when the action ends, and the cursor given back.
    assert screen.getvalue().endswith("\x1b[?25h\r")


def test_actions_running_at_once_have_a_line_each() -> None:
    console, screen = terminal()
    clock = Clock()
    host = Host([Progress(console, clock=clock), clock], entry_points=False)

    async def together() -> None:
        await asyncio.gather(paged_run(host, simulator()), paged_run(host, simulator(), {"limit": 3}))

    asyncio.run(together())
    shown = frames(screen)
    assert any(frame.count("get_threats") == 2 for frame in shown)
    assert shown[-1] == "get_threats  5/5 records (100%) · 3 pages · 0.6 records/s · 3 requests · 0 retries"


def test_records_arriving_at_once_are_drawn_once() -> None:
    console, screen = terminal()
    progress = Progress(console, clock=lambda: 5.0)
    asyncio.run(paged_run(Host([progress], entry_points=False), simulator(), {"limit": 3}))
    # Start, then the page; the three records and the request come within the same instant.
    assert frames(screen) == [
        "get_threats  0 requests · 0 retries",
        "get_threats  0 records · 1 pages · 0.0 records/s · 1 requests · 0 retries",
    ]


def test_silent_when_stderr_is_not_a_terminal_or_progress_is_off() -> None:
    host = Host(entry_points=False)
    piped = io.StringIO()
    with showing_progress(host, console=Console(file=piped)) as progress:
        assert progress is None
        asyncio.run(paged_run(host, simulator()))
    assert piped.getvalue() == ""

    console, screen = terminal()
    with showing_progress(host, enabled=False, console=console) as progress:
        assert progress is None
        asyncio.run(paged_run(host, simulator()))
    assert screen.getvalue() == ""


def test_shown_only_inside_the_block() -> None:
    host = Host(entry_points=False)
    console, screen = terminal()
    with showing_progress(host, console=console) as progress:
        assert progress is not None and host.pm.is_registered(progress)
        asyncio.run(paged_run(host, simulator()))
    assert not host.pm.is_registered(progress)
    assert "get_threats" in screen.getvalue() and "3 pages" in screen.getvalue()


def cli(connections_file: Path, *args: str) -> list[str]:
    """The command line running ``args`` against the simulator of ``connections_file``."""
    return [sys.executable, "-m", "connector", "--config", str(connections_file), *args]


ENV = {**os.environ, "S1_EVENTS_TOKEN": SECRET, "TERM": "xterm", "COLUMNS": "120"}
READ = ("run", "get-threats", "--connection", "s1", "--input", '{"vendor_filters": {"limit": 2}}')


def on_terminal(command: list[str], env: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """Run ``command`` with stderr on a pseudo-terminal (stdout piped): what each received."""
    controller, terminal_end = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal_end, env={**ENV, **(env or {})})
    os.close(terminal_end)
    received = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal's other end closed: the process is gone
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    stdout, _ = process.communicate(timeout=120)
    return stdout, received


def test_the_cli_run_draws_on_a_terminal_and_never_on_stdout(connections_file: Path) -> None:
    stdout, stderr = on_terminal(cli(connections_file, *READ, "--format", "ndjson"))
    assert b"get_threats" in stderr and b"3 pages" in stderr and b"records/s" in stderr
    assert b"records/s" not in stdout and b"\x1b" not in stdout
    assert len(stdout.splitlines()) == 6  # five records, then the envelope
    assert SECRET.encode() not in stderr + stdout

    stdout, stderr = on_terminal(cli(connections_file, *READ, "--no-progress"))
    assert b"records/s" not in stderr and b"\x1b" not in stderr
    assert b'"status": "success"' in stdout


def test_the_cli_is_silent_when_stderr_is_piped(connections_file: Path) -> None:
    result = subprocess.run(cli(connections_file, *READ), capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0
    # The summary line alone: no progress, no escape code.
    summary = (
        r"connector: get_threats via sentinelone \(s1\): success, 5 threats; "
        r"3 requests, 3 pages, 0 retries, \d+ ms"
    )
    assert re.fullmatch(summary, result.stderr.strip())


def test_the_cli_playbook_run_draws_each_step(connections_file: Path, tmp_path: Path) -> None:
    book = tmp_path / "read.yaml"
    book.write_text(
        "name: read\nsteps:\n"
        "  - id: first\n    action: get_threats\n    connection: s1\n    input: {limit: 1}\n"
        "  - id: paged\n    action: get_threats\n    connection: s1\n    input: {vendor_filters: {limit: 2}}\n"
    )
    stdout, stderr = on_terminal(cli(connections_file, "playbook", "run", str(book)))
    # Each step starts its own line: two starts, and the second step's third page.
    assert stderr.count("get_threats\x1b[0m  0 requests · 0 retries".encode()) == 2
    assert b"3 pages" in stderr
    assert b"records/s" not in stdout and b"\x1b" not in stdout

    stdout, stderr = on_terminal(cli(connections_file, "playbook", "run", str(book), "--no-progress"))
    assert b"records/s" not in stderr


def test_a_bulk_change_shows_the_ids_updated_and_failed() -> None:
    console, screen = terminal()
    ticks = iter(range(1_000_000))
    host = Host([Progress(console, clock=lambda: float(next(ticks)))], entry_points=False)
    transport = simulator()
    listed = asyncio.run(paged_run(host, transport, {}))
    ids = [threat["vendor_id"] for threat in listed.output["threats"]][:3]
    screen.seek(0)
    screen.truncate()
    connection = sandbox_connection("sentinelone", "http://127.0.0.1:9", TOKEN)
    asyncio.run(
        arun_action(
            "update_threat_status", {"ids": [*ids, "404"], "status": "resolved"},
            connection=connection, host=host, transport=transport,
        )
    )
    # The lookup reads one page (not the bulk's progress, so not shown once ids settle); the unknown
    # id fails after it, and the three known ones are updated by the POST.
    assert frames(screen) == [
        "update_threat_status  0 requests · 0 retries",
        "update_threat_status  1 requests · 0 retries",
        "update_threat_status  0 records · 1 pages · 0.0 records/s · 1 requests · 0 retries",
        "update_threat_status  0 updated · 1 failed · 1 requests · 0 retries",
        "update_threat_status  0 updated · 1 failed · 2 requests · 0 retries",
        "update_threat_status  3 updated · 1 failed · 2 requests · 0 retries",
    ]


def test_the_total_is_what_the_limit_leaves_of_the_vendors_total() -> None:
    recorder = EventRecorder()
    asyncio.run(paged_run(Host([recorder], entry_points=False), simulator(), {"limit": 3}))
    assert [event for event in recorder.events if event[0] == "total_known"] == [("total_known", 3)]


def test_no_color_means_no_live_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    host = Host(entry_points=False)
    console, screen = terminal()
    with showing_progress(host, console=console) as progress:
        assert progress is None
        asyncio.run(paged_run(host, simulator()))
    assert screen.getvalue() == ""


def test_the_cli_writes_no_escape_code_under_no_color(connections_file: Path) -> None:
    stdout, stderr = on_terminal(cli(connections_file, *READ, "--format", "table"), {"NO_COLOR": "1"})
    assert b"\x1b" not in stderr and b"\x1b" not in stdout
    assert b"get_threats: 5 threats (success)" in stdout


def totals_told(vendor: str) -> tuple[Callable[..., Envelope], EventRecorder]:
    """A runner of actions on a fresh simulator of ``vendor``, and the recorder of their events."""
    from connector.sandbox import SandboxConfig, build_app
    from connector.testing import RecordingTransport, run_in_sandbox

    recorder = EventRecorder()
    host = Host([recorder], entry_points=False)
    transport = RecordingTransport(build_app(SandboxConfig(rate_limits=False, vendors=(vendor,), sizes={vendor: 40})))

    def run(action: str, document: dict[str, Any]) -> Envelope:
        return run_in_sandbox(action, document, vendor=vendor, transport=transport, host=host)

    return run, recorder


def told(recorder: EventRecorder) -> list[Any]:
    """The total_known events recorded."""
    return [event for event in recorder.events if event[0] == "total_known"]


def test_the_mysecutec_total_is_announced_when_the_vendor_applies_every_filter() -> None:
    run, recorder = totals_told("mysecutec")
    listed = run("get_threats", {"limit": 5})
    assert listed.status == "success" and told(recorder) == [("total_known", 5)]
    recorder.events.clear()
    # A filter the vendor does not apply: its count is not the answer's, so no total is told.
    run("get_threats", {"ids": [listed.output["threats"][0]["vendor_id"]], "search": "a"})
    assert told(recorder) == []


def test_the_nameshield_total_is_announced_from_the_first_v2_page() -> None:
    run, recorder = totals_told("nameshield")
    listed = run("list_events", {"since": "2000-01-01T00:00:00Z", "limit": 4})
    assert listed.status == "success" and listed.output["count"] == 4
    assert told(recorder) == [("total_known", 4)]
