"""Everything a watch refuses before its first request: one line each, exit 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connector.errors import BadInput
from connector.playbook import PlaybookInvalid
from connector.watch import awatch, source
from connector.watch.checkpoint import CheckpointStore, new_checkpoint
from tests.watch.support import T0, FakeClock, at

SANDBOX_URL = "http://127.0.0.1:9"  # never reached: every case is refused before a request


def refusal(action: str, input: dict[str, object] | None = None, **where: object) -> str:
    options = where or {"sandbox_url": SANDBOX_URL}
    with pytest.raises(BadInput) as caught:
        source(action, input, **options)  # type: ignore[arg-type]
    assert "\n" not in caught.value.message and caught.value.exit_code == 2
    return caught.value.message


def test_only_the_three_watchable_actions() -> None:
    assert source("get-threats", sandbox_url=SANDBOX_URL).watched.records == "threats"
    assert source("list_events", sandbox_url=SANDBOX_URL, vendor="nameshield").label == "sandbox-nameshield"
    assert source("list_incidents", sandbox_url=SANDBOX_URL).watched.stamp == "updated_at"
    assert refusal("update_threat_status") == (
        "watch: action 'update_threat_status' cannot be watched (watchable: get_threats, list_events, list_incidents)"
    )
    assert refusal("get_threatz") == (
        "action 'get_threatz' is not known (see `connector list`); did you mean 'get_threats'?"
    )


def test_the_input_is_the_actions_without_the_window() -> None:
    assert refusal("get_threats", {"until": "2026-11-01T00:00:00Z"}) == (
        "input.until: set by the watch (use --since for the starting point)"
    )
    assert refusal("get_threats", {"severity": ["severe"]}).startswith("input.severity[0]: 'severe' is not one of")
    assert refusal("list_events", {"limit": 10}) == (
        "input.limit: the watch reads every item of each window (a limit would lose the rest)"
    )
    assert refusal("get_threats", {"vendor_filters": {"skip": 5, "updatedAt__gt": "2026-01-01T00:00:00Z"}}) == (
        "input.vendor_filters.skip: the watch sets the window and reads all of it"
    )


def test_exactly_one_place_to_run(tmp_path: Path) -> None:
    both = "watch: give --connection NAME or --sandbox-url URL (exactly one)"
    assert refusal("get_threats", connection="s1", sandbox_url=SANDBOX_URL) == both
    with pytest.raises(BadInput, match="exactly one"):
        source("get_threats")
    assert refusal("get_threats", connection="sandbox").startswith(
        "--connection: the embedded sandbox forgets everything when a poll ends"
    )
    absent = tmp_path / "connections.yaml"
    absent.write_text("connections: {}\n")
    assert refusal("get_threats", connection="s1", config=absent) == (
        f"connection 's1' is not defined in {absent} (known: none)"
    )


def watch_once(state: Path, **options: object) -> int:
    polled = source("get_threats", sandbox_url=SANDBOX_URL)
    return asyncio.run(awatch(polled, state=state, once=True, signals=False, **options))  # type: ignore[arg-type]


def test_since_beside_a_checkpoint_and_a_checkpoint_of_another_watch(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    CheckpointStore(state).save(new_checkpoint("get_threats", "sandbox-sentinelone", T0))
    with pytest.raises(BadInput) as caught:
        watch_once(state, since=at(-3600))
    assert caught.value.message == (
        f"--since: {state} already has a checkpoint (bookmark 2026-11-20T12:00:00.000000Z); drop --since to go on "
        "from it, or give another --state"
    )
    CheckpointStore(state).save(new_checkpoint("list_incidents", "prod", T0))
    with pytest.raises(BadInput) as caught:
        watch_once(state)
    assert caught.value.message == (
        f"--state: {state} is the checkpoint of watch list_incidents on prod, not get_threats on sandbox-sentinelone"
    )


def test_playbook_and_output_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^--output: items go to the playbook, not to a file"):
        watch_once(tmp_path / "state.json", playbook=tmp_path / "p.yaml", output=tmp_path / "out")
    assert not (tmp_path / "state.json").exists()


def test_a_playbook_must_declare_inputs_item(tmp_path: Path) -> None:
    playbook = tmp_path / "notes.yaml"
    playbook.write_text(
        "name: notes\n"
        "steps:\n"
        "  - id: note\n"
        "    action: add_threat_note\n"
        "    input: {ids: [\"1\"], text: seen}\n"
    )
    with pytest.raises(PlaybookInvalid) as caught:
        watch_once(tmp_path / "state.json", playbook=playbook, clock=FakeClock(T0))
    assert caught.value.problems == [
        "playbook notes.yaml: inputs.properties.item: missing (the watch passes each item as inputs.item; "
        "declare it, e.g. item: {$ref: threat.json})"
    ]
    assert not (tmp_path / "state.json").exists()
