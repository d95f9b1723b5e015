"""The audit log: one redacted JSON line per event, appended, synced per action; never a secret."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from connector.errors import ConfigError, ConnectorError
from connector.events.audit import AuditLog, audit_log
from connector.plugins import Host
from tests.events.conftest import SECRET
from tests.events.support import THREATS, paged_run, simulator
from tests.plugins.recorder import EventRecorder

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
API_SECRET = "s1-api-secret-51c0e2d8"


def read(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_each_event_is_one_line_in_the_order_fired(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    recorder = EventRecorder()
    host = Host([recorder], entry_points=False)
    with audit_log(path, host) as audit:
        envelope = asyncio.run(paged_run(host, simulator("429@2")))
    assert not host.pm.is_registered(audit)

    lines = read(path)
    assert [line["event"] for line in lines] == [event[0] for event in recorder.events]
    assert {line["run_id"] for line in lines} == {envelope.meta.run_id}
    for line in lines:
        assert RFC3339_UTC.fullmatch(line["ts"]), line["ts"]
        assert datetime.fromisoformat(line["ts"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]

    started, first_request, first_answer = lines[0], lines[1], lines[2]
    assert started["input"] == {"vendor_filters": {"limit": 2}}
    assert (started["action"], started["vendor"], started["connection"]) == ("get_threats", "sentinelone", "sandbox")
    assert (first_request["method"], first_request["path"], first_request["attempt"]) == ("GET", THREATS, 1)
    assert (first_answer["status"], first_answer["attempt"]) == (200, 1)
    assert isinstance(first_answer["elapsed_ms"], float)
    retry = next(line for line in lines if line["event"] == "retry_scheduled")
    assert (retry["attempt"], retry["delay_s"]) == (1, 1.0) and "429" in retry["reason"]
    assert [(line["page"], line["records"]) for line in lines if line["event"] == "page_fetched"] == [
        (1, 2), (2, 2), (3, 1),
    ]
    # Of a record, only its ids.
    records = [line["record"] for line in lines if line["event"] == "record_emitted"]
    assert records == [{"uid": t["uid"], "vendor_id": t["vendor_id"]} for t in envelope.output["threats"]]
    assert lines[-1] == {
        "ts": lines[-1]["ts"], "run_id": envelope.meta.run_id, "event": "action_finished",
        "action": "get_threats", "vendor": "sentinelone", "connection": "sandbox", "status": "success",
        "counts": {"requests": 4, "retries": 1, "pages": 3, "records": 5, "duration_ms": envelope.meta.duration_ms},
        "errors": [],
    }


def test_the_file_is_appended_to_and_synced_when_an_action_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"kept": true}\n')
    synced: list[int] = []
    monkeypatch.setattr("connector.events.audit.os.fsync", synced.append)
    host = Host(entry_points=False)
    with audit_log(path, host):
        asyncio.run(paged_run(host, simulator(), {"limit": 1}))
        assert len(synced) == 1
        asyncio.run(paged_run(host, simulator(), {"limit": 0}))
        assert len(synced) == 2
        # Flushed line by line: everything is in the file before it is closed.
        lines = read(path)
    assert lines[0] == {"kept": True}
    assert [line["event"] for line in lines[1:]] == [
        "action_started", "request_sent", "response_received", "page_fetched", "total_known", "record_emitted",
        "action_finished", "action_failed",
    ]
    assert lines[-1]["errors"] == ["input.limit: 0 is less than the minimum of 1 (rule: minimum)"]


def test_no_secret_in_the_log_even_when_the_input_carries_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    host = Host(entry_points=False)
    document = {"search": f"token={API_SECRET}", "vendor_filters": {"computerName__contains": [API_SECRET]}}
    with audit_log(path, host):
        envelope = asyncio.run(paged_run(host, simulator(token=API_SECRET), document, token=API_SECRET))
    assert envelope.status == "success", envelope.errors
    text = path.read_text()
    assert API_SECRET not in text
    assert read(path)[0]["input"] == {"search": "token=***", "vendor_filters": {"computerName__contains": ["***"]}}


def test_an_unwritable_path_is_a_config_error_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--audit: cannot write .*missing/audit.jsonl: No such file or directory$"):
        AuditLog(tmp_path / "missing" / "audit.jsonl", option="--audit")


def cli(connections_file: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(connections_file), *args],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "S1_EVENTS_TOKEN": SECRET, **(env or {})},
    )


def test_cli_audit_never_holds_the_token_even_at_debug_level(connections_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    document = orjson.dumps({"search": SECRET, "vendor_filters": {"limit": 2}}).decode()
    result = cli(connections_file, "-vv", "--audit", str(path), "run", "get-threats", "-c", "s1", "--input", document)
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr
    assert SECRET not in path.read_text() and SECRET not in result.stderr and SECRET not in result.stdout
    lines = read(path)
    assert (lines[0]["event"], lines[-1]["event"]) == ("action_started", "action_finished")
    assert lines[0]["input"]["search"] == "***"


def test_cli_audit_from_the_environment_appends(connections_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for _ in range(2):
        result = cli(connections_file, "run", "get-threats", "-c", "s1", "--input", '{"limit": 1}',
                     env={"CONNECTOR_AUDIT": str(path)})
        assert result.returncode == 0, result.stderr
    finished = [line for line in read(path) if line["event"] == "action_finished"]
    assert len(finished) == 2 and finished[0]["run_id"] != finished[1]["run_id"]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_cli_unwritable_audit_path_is_one_line_and_exit_2(connections_file: Path, tmp_path: Path, how: str) -> None:
    path = tmp_path / "no-such-folder" / "audit.jsonl"
    options, env = (["--audit", str(path)], {}) if how == "option" else ([], {"CONNECTOR_AUDIT": str(path)})
    result = cli(connections_file, *options, "run", "get-threats", "-c", "s1", env=env)
    assert result.returncode == 2
    assert result.stderr == f"connector: --audit: cannot write {path}: No such file or directory\n"
    assert result.stdout == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
def test_a_full_disk_never_breaks_the_run_and_is_raised_when_the_log_closes() -> None:
    host = Host([], entry_points=False)
    with pytest.raises(ConnectorError) as caught, audit_log("/dev/full", host, option="--audit"):
        envelope = asyncio.run(paged_run(host, simulator()))
        assert envelope.status == "success"
    assert (caught.value.exit_code, caught.value.message) == (
        1, "--audit: cannot write /dev/full: No space left on device"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
def test_cli_audit_on_a_full_disk_is_one_line_and_exit_1(connections_file: Path) -> None:
    result = cli(connections_file, "--audit", "/dev/full", "run", "get-threats", "-c", "s1", "--input", '{"limit": 1}')
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == "connector: --audit: cannot write /dev/full: No space left on device"
    assert orjson.loads(result.stdout)["status"] == "success"
