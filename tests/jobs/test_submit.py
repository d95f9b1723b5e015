"""Submitting actions to real workers: 200 come back right, and the handles' and commands' edges."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from connector.api import run_action
from connector.errors import VendorError
from connector.jobs import job, submit_action, submit_playbook
from connector.jobs.app import celery_app
from connector.jobs.handles import Job, decode_envelope
from connector.jobs.tasks import RUN_ACTION
from tests.jobs.conftest import StartWorkers
from tests.test_readme import code_blocks

RUNS = 200


def test_200_actions_on_2_workers_all_come_back_right(broker: str, sandbox_url: str, workers: StartWorkers) -> None:
    pair = workers(2, concurrency=4)
    listed = run_action("get_threats", {"limit": RUNS}, vendor="sentinelone", sandbox=sandbox_url)
    threats = listed.output["threats"]
    assert len(threats) == RUNS
    jobs = [
        submit_action("get_threats", {"ids": [threat["vendor_id"]]}, connection="s1", broker=broker)
        for threat in threats
    ]
    assert len({handle.id for handle in jobs}) == RUNS
    for threat, handle in zip(threats, jobs, strict=True):
        envelope = handle.get(timeout=120)
        assert envelope.status == "success", envelope.errors
        assert (envelope.action, envelope.vendor, envelope.connection) == ("get_threats", "sentinelone", "s1")
        assert envelope.output["threats"] == [threat]
        assert envelope.exit_code == 0
    stats = celery_app(broker).control.inspect(destination=[w.name for w in pair], timeout=5).stats()
    ran = {name: info["total"].get("connector.run_action", 0) for name, info in stats.items()}
    assert sum(ran.values()) == RUNS
    assert all(count > 0 for count in ran.values()), ran


def _cli(*args: str, broker: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", *args], capture_output=True, text=True, timeout=120,
        env={"CONNECTOR_BROKER": broker, "PATH": "/usr/bin:/bin"},
    )


def test_submit_then_result_on_the_command_line(broker: str, sandbox_url: str, workers: StartWorkers) -> None:
    workers(1, concurrency=2)
    queued = _cli("submit", "get-threats", "--sandbox-url", sandbox_url, "--vendor", "sentinelone",
                  "--input", '{"limit": 3}', broker=broker)
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    assert len(job_id) == 36
    done = _cli("result", job_id, "--wait", broker=broker)
    assert done.returncode == 0, done.stderr
    envelope = orjson.loads(done.stdout)
    assert envelope["status"] == "success"
    assert envelope["output"]["count"] == 3
    assert "get_threats via sentinelone (sandbox): success" in done.stderr
    # Done: the result stays readable (until its time to live) without --wait.
    again = _cli("result", job_id, broker=broker)
    assert (again.returncode, orjson.loads(again.stdout)) == (0, envelope)


def test_a_failed_action_keeps_its_exit_code(broker: str, sandbox_url: str, workers: StartWorkers) -> None:
    workers(1, concurrency=1)
    bad = submit_action("get_threats", {"limit": 0}, vendor="sentinelone", sandbox=sandbox_url, broker=broker)
    envelope = bad.get(timeout=60)
    assert (envelope.status, envelope.exit_code) == ("failed", 2)
    assert envelope.errors[0].message.startswith("input.limit")
    unknown = submit_action("get_threats", {}, connection="nowhere", broker=broker).get(timeout=60)
    assert unknown.exit_code == 2
    assert "connection 'nowhere' is not defined" in unknown.errors[0].message


def test_a_pending_job_says_so_and_an_unknown_one_is_bad_input(broker: str) -> None:
    # No worker: the job stays queued.
    queued = _cli("submit", "get-threats", "--connection", "s1", broker=broker)
    assert queued.returncode == 0, queued.stderr
    pending = _cli("result", queued.stdout.strip(), broker=broker)
    assert (pending.returncode, orjson.loads(pending.stdout)["state"]) == (0, "pending")
    timed_out = _cli("result", queued.stdout.strip(), "--wait", "--timeout", "300ms", broker=broker)
    assert timed_out.returncode == 1
    assert timed_out.stderr.strip().endswith("no result after 0.3s (still pending)")
    unknown = _cli("result", "no-such-job", broker=broker)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "connector: job no-such-job: unknown here (never submitted to this broker, or expired after 24h)"
    ]
    with pytest.raises(Exception, match="unknown here"):
        job("no-such-job", broker=broker)


def test_too_large_is_refused_never_truncated(broker: str, sandbox_url: str, workers: StartWorkers) -> None:
    workers(1, concurrency=1)
    big = submit_action("get_threats", {"limit": 50}, vendor="sentinelone", sandbox=sandbox_url, broker=broker,
                        max_result=20_000).get(timeout=60)
    assert (big.status, big.exit_code, big.output) == ("failed", 1, {})
    assert [error.type for error in big.errors] == ["too_large"]
    assert "over the result limit of 20000 bytes" in big.errors[0].message
    with pytest.raises(Exception, match=r"input: \d+ bytes, over the task limit of 100 bytes"):
        submit_action("get_threats", {"search": "x" * 200}, connection="s1", broker=broker, max_result=100)


def test_a_password_never_goes_on_the_command_line() -> None:
    refused = _cli("submit", "get-threats", "--broker", "redis://:hunter2-secret@127.0.0.1:1/0", broker="")
    assert refused.returncode == 2
    assert "hunter2" not in refused.stderr + refused.stdout
    assert "put it in $CONNECTOR_BROKER" in refused.stderr


def test_a_task_that_raises_is_a_failed_envelope_and_a_too_large_playbook_a_vendor_error(
    broker: str, sandbox_url: str, workers: StartWorkers,
) -> None:
    workers(1, concurrency=1)
    app = celery_app(broker)
    # A task the worker cannot even call (an unknown keyword): Celery records the exception.
    sent = app.send_task(RUN_ACTION, kwargs={"action": "get_threats", "no_such_option": 1})
    broken = Job(app, broker, sent.id, "action", partial(decode_envelope, action="get_threats"))
    envelope = broken.get(timeout=60)
    assert (envelope.action, envelope.status, envelope.exit_code) == ("get_threats", "failed", 1)
    assert envelope.errors[0].type == "worker"
    assert envelope.errors[0].message.startswith(f"job {sent.id}: the worker failed (TypeError: ")
    book = {"name": "big", "steps": [{"id": "t", "action": "get_threats", "vendor": "sentinelone",
                                      "input": {"limit": 20}}]}
    with pytest.raises(VendorError, match=r"playbook big: the result is \d+ bytes, over the result limit of 5000"):
        submit_playbook(book, sandbox=sandbox_url, broker=broker, max_result=5000).get(timeout=60)


def test_a_large_read_streams_its_records_to_a_file_in_the_workers_folder(
    broker: str, workers: StartWorkers, tmp_path: Path,
) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    workers(1, concurrency=1, output_dir=folder)
    records = (folder / "threats.ndjson").resolve()
    envelope = submit_action("get_threats", {"limit": 50}, connection="s1", broker=broker, max_result=20_000,
                             output_file=str(records)).get(timeout=60)
    assert (envelope.status, envelope.output["threats"], envelope.output["count"]) == ("success", [], 50)
    extra = dict(envelope.meta.model_extra or {})
    extra.pop("dropped_values", None)  # the seeded endpoints' link-local addresses, left out of the observables
    assert extra == {"output_file": str(records)}
    *lines, last = [orjson.loads(line) for line in records.read_text().splitlines()]
    assert last["output"]["count"] == 50  # NDJSON, the envelope last
    assert len(lines) == 50
    assert len({line["uid"] for line in lines}) == 50
    relative = submit_action("get_threats", {"limit": 2}, connection="s1", broker=broker,
                             output_file="two.ndjson").get(timeout=60)
    # two records, then the envelope (NDJSON)
    assert (relative.status, len((folder / "two.ndjson").read_text().splitlines())) == ("success", 3)
    unwritable = submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker,
                               output_file="missing/x.ndjson").get(timeout=60)
    assert (unwritable.status, unwritable.exit_code) == ("failed", 2)
    assert unwritable.errors[0].message.startswith(f"output_file: cannot write {folder.resolve()}/missing/x.ndjson: ")
    (folder / "out").symlink_to(tmp_path)
    for outside in (str(tmp_path / "x.ndjson"), "../x.ndjson", "out/x.ndjson", "/etc/passwd"):
        refused = submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker,
                                output_file=outside).get(timeout=60)
        assert (refused.status, refused.exit_code) == ("failed", 2)
        assert [error.message for error in refused.errors] == [
            f"output_file: {outside!r} is not inside this worker's --output-dir"]
    assert not (tmp_path / "x.ndjson").exists()


def test_a_worker_without_an_output_folder_writes_no_file(broker: str, workers: StartWorkers, tmp_path: Path) -> None:
    workers(1, concurrency=1)
    refused = submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker,
                            output_file=str(tmp_path / "x.ndjson")).get(timeout=60)
    assert [error.message for error in refused.errors] == [
        "output_file: this worker writes no files (start it with --output-dir)"]
    assert not (tmp_path / "x.ndjson").exists()


def test_broker_urls_are_checked() -> None:
    for url, message in (
        ("http://127.0.0.1:6379", "is not a Redis URL like redis://127.0.0.1:6379/0"),
        ("rediss://127.0.0.1:1/0", "a rediss:// URL needs ?ssl_cert_reqs=required"),
    ):
        refused = _cli("submit", "get-threats", "--broker", url, broker="")
        assert refused.returncode == 2
        assert message in refused.stderr


def test_the_readme_job_example_runs(broker: str, workers: StartWorkers) -> None:
    (block,) = [block for block in code_blocks("python") if "broker=" in block]
    workers(1)
    scope: dict[str, Any] = {}
    exec(compile(block.replace("redis://127.0.0.1:6379/0", broker), "README.md", "exec"), scope)
    assert (scope["envelope"].status, scope["envelope"].output["count"]) == ("success", 5)
