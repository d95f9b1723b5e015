"""The checkpoint store: atomic writes, a corrupt file named in one line, one watch per state file;
and the output file cut back to its committed length."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import platformdirs
import pytest

from connector.errors import BadInput
from connector.watch.checkpoint import CheckpointStore, default_state_path, new_checkpoint
from connector.watch.sinks import FileSink
from tests.watch.support import T0, at


def test_save_then_load_round_trips_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state.json")
    assert store.load() is None
    checkpoint = new_checkpoint("get_threats", "s1", T0)
    checkpoint.seen = {"sentinelone:1": at(5), "sentinelone:2": at(7.25)}
    checkpoint.output, checkpoint.output_length = "/tmp/out.ndjson", 120
    store.save(checkpoint)
    assert store.load() == checkpoint
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state.json"]
    document = orjson.loads((tmp_path / "state.json").read_bytes())
    assert document["bookmark"] == "2026-11-20T12:00:00Z"
    assert document["seen"] == {"sentinelone:1": "2026-11-20T12:00:05Z", "sentinelone:2": "2026-11-20T12:00:07.250000Z"}
    assert (document["version"], document["action"], document["connection"]) == (1, "get_threats", "s1")


def test_a_save_that_dies_before_the_rename_leaves_the_old_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CheckpointStore(tmp_path / "state.json")
    old = new_checkpoint("get_threats", "s1", T0)
    store.save(old)
    newer = old.model_copy(update={"bookmark": at(60)})

    def killed(source: object, target: object) -> None:
        raise KeyboardInterrupt  # stands for a kill between the fsync and the rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.save(newer)
    monkeypatch.undo()
    assert store.load() == old
    # The next save overwrites the half-done temporary file.
    store.save(newer)
    assert store.load() == newer
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state.json"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{\"version\": 1, \"action\": \"get_thr", "not valid JSON"),
        (b"[]", "(root): Input should be a valid dictionary or instance of Checkpoint"),
        (
            b'{"version": 1, "action": "get_threats", "connection": "s1", "bookmark": "yesterday",'
            b' "seen_since": "2026-11-20T12:00:00Z"}',
            "bookmark: Input should be a valid datetime",
        ),
        (
            b'{"version": 2, "action": "get_threats", "connection": "s1", "bookmark": "2026-11-20T12:00:00Z",'
            b' "seen_since": "2026-11-20T12:00:00Z"}',
            "version: Input should be 1",
        ),
    ],
)
def test_a_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(BadInput) as caught:
        CheckpointStore(path).load()
    assert caught.value.message.startswith(f"--state: {path} is not a watch checkpoint ({problem}")
    assert caught.value.message.endswith("); move it away to start over")
    assert "\n" not in caught.value.message


def test_one_watch_per_state_file(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "state.json"
    first, second = CheckpointStore(path), CheckpointStore(path)
    with first.locked():
        with pytest.raises(BadInput) as caught, second.locked():
            pass
        assert caught.value.message == (
            f"--state: {path} is in use by another watch (it holds {path.parent / 'state.json.lock'})"
        )
    with second.locked():
        pass


def test_default_state_path_is_per_action_and_connection() -> None:
    path = default_state_path("get_threats", "prod/s1 eu")
    assert path == Path(platformdirs.user_state_dir("connector")) / "watch-get_threats-prod_s1_eu.json"


def test_output_file_is_cut_back_to_its_committed_length(tmp_path: Path) -> None:
    output = tmp_path / "out.ndjson"
    output.write_bytes(b'{"uid": "a"}\n{"uid": "b"}\n{"uid": "c", "tit')
    checkpoint = new_checkpoint("get_threats", "s1", T0)
    checkpoint.output, checkpoint.output_length = str(output.resolve()), 26
    sink = FileSink(output, checkpoint)
    sink.close()
    assert output.read_bytes() == b'{"uid": "a"}\n{"uid": "b"}\n'
    assert sink.length == 26


def test_output_file_shorter_than_committed_is_refused_and_a_missing_one_starts_empty(tmp_path: Path) -> None:
    output = tmp_path / "out.ndjson"
    output.write_bytes(b'{"uid": "a"}\n')
    checkpoint = new_checkpoint("get_threats", "s1", T0)
    checkpoint.output, checkpoint.output_length = str(output.resolve()), 26
    with pytest.raises(BadInput) as caught:
        FileSink(output, checkpoint)
    assert caught.value.message == (
        f"--output: {output} holds 13 bytes but the checkpoint committed 26: it was changed outside the watch "
        "(move it away to start a new file)"
    )
    output.unlink()
    sink = FileSink(output, checkpoint)
    sink.close()
    assert (sink.length, output.read_bytes()) == (0, b"")


def test_another_output_file_keeps_what_it_holds(tmp_path: Path) -> None:
    output = tmp_path / "other.ndjson"
    output.write_bytes(b"kept\n")
    checkpoint = new_checkpoint("get_threats", "s1", T0)
    checkpoint.output, checkpoint.output_length = str(tmp_path / "out.ndjson"), 2
    sink = FileSink(output, checkpoint)
    sink.close()
    assert (sink.output, sink.length, output.read_bytes()) == (str(output.resolve()), 5, b"kept\n")


def test_one_watch_per_output_file(tmp_path: Path) -> None:
    output = tmp_path / "out.ndjson"
    first = FileSink(output, new_checkpoint("get_threats", "s1", T0))
    try:
        with pytest.raises(BadInput) as caught:
            FileSink(output, new_checkpoint("get_threats", "s2", T0))
        assert caught.value.message == f"--output: {output} is in use by another watch"
    finally:
        first.close()
    FileSink(output, new_checkpoint("get_threats", "s2", T0)).close()
