"""The peer row's singer-sdk tap pages through every threat (nothing timed; skipped without the bench extra)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from benchmarks.peer import tap_command
from benchmarks.servers import in_child_process, serve_threat_stream

pytest.importorskip("singer_sdk")


def test_the_tap_reads_every_threat_once_in_order_page_by_page(tmp_path: Path) -> None:
    count = 2500
    with in_child_process(serve_threat_stream) as server:
        command = tap_command(f"{server.url}/{count}", tmp_path / "tap.json")
        done = subprocess.run(command, capture_output=True, check=True, timeout=120)
    messages = [orjson.loads(line) for line in done.stdout.splitlines()]
    records = [message["record"] for message in messages if message["type"] == "RECORD"]
    assert [record["id"] for record in records] == [str(10**17 + index) for index in range(count)]
    assert {"threatInfo", "agentRealtimeInfo"} <= records[0].keys(), "each threat as the vendor sent it"
    assert b'"http_request_count","value":3' in done.stderr, "three pages of 1000 at most"
