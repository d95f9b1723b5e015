"""`connector watch` end to end against a sandbox: new items, nothing twice, exactly the changed ones;
vendor faults; an update during a poll; playbooks; the lock and SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from connector.api import run_action
from connector.hookspecs import hookimpl
from connector.plugins import Host
from connector.sandbox import SandboxConfig, running_sandbox
from connector.sandbox.faults import FaultPlan
from connector.watch import awatch, source
from connector.watch.checkpoint import CheckpointStore
from connector.watch.items import parse_instant
from tests.watch.support import CONNECTOR, TOKEN_ENV, cli_env, connector, ndjson, versions, write_connections

SIZE = 40
SINCE = "2020-01-01T00:00:00Z"
PAGES_OF_7 = '{"vendor_filters": {"limit": 7}}'


def sandbox_config(faults: str | None = None) -> SandboxConfig:
    return SandboxConfig(
        rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": SIZE},
        faults=FaultPlan.parse(faults) if faults else None,
    )


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    # One sandbox per test: the tests change threats.
    with running_sandbox(sandbox_config()) as url:
        yield url


def watch_args(config: Path, state: Path, *more: str) -> list[str]:
    return ["--config", str(config), "watch", "get_threats", "-c", "s1", "--state", str(state), *more]


def summary(handled: int, state: Path) -> str:
    return rf"connector: watch get_threats \(s1\): {handled} items handled; checkpoint {re.escape(str(state))} at \S+Z"


def by_stamp_then_uid(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (parse_instant(item["updated_at"]), item["uid"]))


def test_once_prints_the_new_items_then_nothing_then_exactly_the_changed_ones(tmp_path: Path, sandbox_url: str) -> None:
    config, state = write_connections(tmp_path, sandbox_url), tmp_path / "state.json"
    args = watch_args(config, state, "--once", "--input", PAGES_OF_7)

    first = connector(*args, "--since", SINCE)
    assert first.returncode == 0, first.stderr
    items = ndjson(first.stdout)
    assert len(items) == SIZE and len({item["uid"] for item in items}) == SIZE
    assert items == by_stamp_then_uid(items)
    assert re.fullmatch(summary(SIZE, state) + "\n", first.stderr)

    second = connector(*args)
    assert (second.returncode, second.stdout) == (0, "")
    assert re.fullmatch(summary(0, state) + "\n", second.stderr)

    # Five threats changed in one call share one stamp, and lie across pages of seven.
    changed = sorted(items[index]["vendor_id"] for index in (3, 6, 7, 20, 39))
    update = run_action(
        "update_threat_status", {"ids": changed, "status": "in_progress"}, sandbox=sandbox_url, vendor="sentinelone"
    )
    assert update.status == "success"
    third = connector(*args)
    assert third.returncode == 0, third.stderr
    again = ndjson(third.stdout)
    assert [item["vendor_id"] for item in again] == changed  # one stamp: in uid order
    assert len({item["updated_at"] for item in again}) == 1
    assert min(item["updated_at"] for item in again) > max(item["updated_at"] for item in items)
    assert connector(*args).stdout == ""


def test_a_vendor_fault_during_a_poll_keeps_what_was_handled_and_the_next_poll_reads_the_rest(tmp_path: Path) -> None:
    # The third request (the third page of ten) fails, and the connection does not retry.
    with running_sandbox(sandbox_config("500@3")) as url:
        config, state = write_connections(tmp_path, url, retries=0), tmp_path / "state.json"
        args = watch_args(config, state, "--once", "--input", '{"vendor_filters": {"limit": 10}}')
        failed = connector(*args, "--since", SINCE)
        assert failed.returncode == 1
        handled = ndjson(failed.stdout)
        assert len(handled) == 20  # the two pages read before the fault, handled as they came
        lines = failed.stderr.splitlines()
        assert len(lines) == 2 and re.fullmatch(r"connector: get_threats failed: .*\b500\b.*", lines[0]), lines
        assert re.fullmatch(summary(20, state), lines[1])
        checkpoint = CheckpointStore(state).load()
        assert checkpoint is not None
        assert (set(checkpoint.seen), checkpoint.bookmark) == ({item["uid"] for item in handled}, parse_instant(SINCE))

        recovered = connector(*args)
        assert recovered.returncode == 0, recovered.stderr
        rest = ndjson(recovered.stdout)
        assert len(rest) == SIZE - 20
        assert len({item["uid"] for item in handled + rest}) == SIZE


class UpdateOnFirstPage:
    """A plugin that changes threats while the watch reads: right after the first page arrives."""

    def __init__(self, sandbox_url: str, ids: list[str]) -> None:
        self.sandbox_url, self.ids, self.done = sandbox_url, ids, False

    @hookimpl
    def page_fetched(self, vendor: str, path: str, page: int, records: int) -> None:
        if page != 1 or self.done:
            return
        self.done = True
        # run_action has its own event loop: give it a thread, as another client of the vendor would be.
        with ThreadPoolExecutor(1) as pool:
            envelope = pool.submit(
                run_action, "update_threat_status", {"ids": self.ids, "status": "resolved"},
                sandbox=self.sandbox_url, vendor="sentinelone",
            ).result()
        assert envelope.status == "success"


def test_a_threat_changed_while_a_poll_runs_is_read_by_the_next_poll(tmp_path: Path, sandbox_url: str) -> None:
    pages_of_5 = {"vendor_filters": {"limit": 5}}
    listed = run_action("get_threats", {**pages_of_5, "since": SINCE}, sandbox=sandbox_url, vendor="sentinelone")
    order = [threat["vendor_id"] for threat in listed.output["threats"]]
    on_first_page, on_a_later_page = order[0], order[30]
    plugin = UpdateOnFirstPage(sandbox_url, [on_first_page, on_a_later_page])
    polled = source("get_threats", pages_of_5, sandbox_url=sandbox_url, host=Host([plugin]))
    output, state = tmp_path / "out.ndjson", tmp_path / "state.json"

    def once(**options: Any) -> int:
        return asyncio.run(awatch(polled, output=output, state=state, once=True, signals=False, **options))

    assert once(since=parse_instant(SINCE)) == 0 and plugin.done
    first = ndjson(output.read_bytes())
    # The first page was read before the change: its old version is handled. The later page was read
    # after it: the change is stamped after the poll started, outside the window, so not yet.
    assert len(first) == SIZE - 1
    assert {item["vendor_id"] for item in first} == set(order) - {on_a_later_page}
    assert once() == 0
    second = ndjson(output.read_bytes())[len(first):]
    assert sorted(item["vendor_id"] for item in second) == sorted([on_first_page, on_a_later_page])
    assert min(item["updated_at"] for item in second) > max(item["updated_at"] for item in first)
    everything = versions(first + second)
    assert len(everything) == len(set(everything))


NOTE_PLAYBOOK = """
name: note-each
inputs:
  type: object
  required: [item]
  properties:
    item: {{$ref: threat.json}}
steps:
  - id: note
    action: add_threat_note
    vendor: sentinelone
{connection}    input:
      ids: ["${{{{ inputs.item.vendor_id }}}}"]
      text: "watched ${{{{ inputs.item.updated_at }}}}"
"""


def notes_of(sandbox_url: str, vendor_id: str) -> list[str]:
    envelope = run_action("get_threat_notes", {"id": vendor_id}, sandbox=sandbox_url, vendor="sentinelone")
    return [note["text"] for note in envelope.output["notes"]]


def test_a_playbook_runs_once_per_item_with_the_item_as_input(tmp_path: Path, sandbox_url: str) -> None:
    playbook = tmp_path / "note-each.yaml"
    playbook.write_text(NOTE_PLAYBOOK.format(connection=""))
    listed = run_action("get_threats", {"limit": 3}, sandbox=sandbox_url, vendor="sentinelone")
    threats = listed.output["threats"]
    args = [
        "watch", "get_threats", "--sandbox-url", sandbox_url, "--state", str(tmp_path / "state.json"), "--once",
        "--playbook", str(playbook), "--input", orjson.dumps({"ids": [t["vendor_id"] for t in threats]}).decode(),
    ]
    first = connector(*args, "--since", SINCE)
    assert (first.returncode, first.stdout) == (0, ""), first.stderr
    assert connector(*args).returncode == 0
    for threat in threats:
        assert notes_of(sandbox_url, threat["vendor_id"]) == [f"watched {threat['updated_at']}"]


def test_a_failed_playbook_leaves_its_item_for_the_next_poll(tmp_path: Path, sandbox_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    flaky = "  flaky:\n    vendor: sentinelone\n    base_url: http://127.0.0.1:{port}/sentinelone\n" \
            f"    secret: env:{TOKEN_ENV}\n    retries: 0\n"
    config = write_connections(tmp_path, sandbox_url, extra=flaky.format(port=closed_port))
    playbook = tmp_path / "note-each.yaml"
    playbook.write_text(NOTE_PLAYBOOK.format(connection="    connection: flaky\n"))
    threats = run_action("get_threats", {"limit": 2}, sandbox=sandbox_url, vendor="sentinelone").output["threats"]
    first_uid = by_stamp_then_uid(threats)[0]["uid"]
    state = tmp_path / "state.json"
    args = watch_args(
        config, state, "--once", "--playbook", str(playbook),
        "--input", orjson.dumps({"ids": [t["vendor_id"] for t in threats]}).decode(),
    )
    failed = connector(*args, "--since", SINCE)
    assert failed.returncode == 1
    lines = failed.stderr.splitlines()
    assert lines[0].startswith(f"connector: playbook note-each failed on {first_uid}: step note: "), lines
    assert re.fullmatch(summary(0, state), lines[1]) and len(lines) == 2
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None and checkpoint.seen == {}

    write_connections(tmp_path, sandbox_url, extra=flaky.format(port=sandbox_url.rsplit(":", 1)[1]))
    recovered = connector(*args)
    assert recovered.returncode == 0, recovered.stderr
    assert [len(notes_of(sandbox_url, t["vendor_id"])) for t in threats] == [1, 1]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = connector("watch", "update_threat_status", "--sandbox-url", "http://127.0.0.1:9", "--once")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "connector: watch: action 'update_threat_status' cannot be watched "
        "(watchable: get_threats, list_events, list_incidents)\n"
    )
    playbook = tmp_path / "no-item.yaml"
    playbook.write_text("name: no-item\nsteps:\n  - {id: t, action: get_threats}\n")
    result = connector(
        "watch", "get_threats", "--sandbox-url", "http://127.0.0.1:9", "--playbook", str(playbook),
        "--state", str(tmp_path / "state.json"), "--once",
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("connector: playbook no-item.yaml: inputs.properties.item: missing")
    assert len(result.stderr.splitlines()) == 1


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_one_watch_per_state_and_sigterm_stops_cleanly(tmp_path: Path, sandbox_url: str) -> None:
    config, state, output = write_connections(tmp_path, sandbox_url), tmp_path / "state.json", tmp_path / "out"
    process = subprocess.Popen(
        [*CONNECTOR, *watch_args(config, state, "--every", "1h", "--since", SINCE, "--output", str(output))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
    )
    try:
        def first_poll_done() -> bool:
            checkpoint = CheckpointStore(state).load() if state.exists() else None
            return checkpoint is not None and checkpoint.bookmark != parse_instant(SINCE)

        wait_for(first_poll_done, "the first poll")
        other = connector(*watch_args(config, state, "--once"))
        assert (other.returncode, other.stdout) == (2, "")
        assert other.stderr == (
            f"connector: --state: {state} is in use by another watch (it holds {state}.lock)\n"
        )
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert (process.returncode, stdout) == (0, "")
    assert re.fullmatch("connector: stopped by SIGTERM: " + summary(SIZE, state).removeprefix("connector: ") + "\n",
                        stderr)
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None
    # Every seeded threat is older than the look-back window: seen was pruned when the poll completed.
    assert (checkpoint.seen, checkpoint.bookmark - checkpoint.seen_since) == ({}, timedelta(minutes=5))
    assert (checkpoint.output, checkpoint.output_length) == (str(output.resolve()), output.stat().st_size)
    assert len(ndjson(output.read_bytes())) == SIZE


def test_the_example_playbook_opens_one_incident_per_watched_threat(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "threat-to-incident.yaml"
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone", "ciso_assistant"), sizes={"sentinelone": SIZE})
    with running_sandbox(config) as url:
        threats = run_action("get_threats", {"limit": 3}, sandbox=url, vendor="sentinelone").output["threats"]
        polled = source("get_threats", {"ids": [t["vendor_id"] for t in threats]}, sandbox_url=url)
        code = asyncio.run(
            awatch(polled, once=True, since=parse_instant(SINCE), playbook=example, state=tmp_path / "state.json",
                   signals=False)
        )
        assert code == 0
        # Each threat's incident is there: creating it again finds it (idempotent by the threat's uid).
        again = [
            run_action("create_incident", {"from_threat": threat}, sandbox=url, vendor="ciso_assistant")
            for threat in threats
        ]
    assert [(envelope.status, envelope.output["existed"]) for envelope in again] == [("success", True)] * 3
    assert [envelope.output["ref_id"] for envelope in again] == [threat["uid"] for threat in threats]
