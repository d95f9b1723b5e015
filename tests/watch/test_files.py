"""Issue 21 item 5: state, output and secret files that are not regular files, links, long paths, odd dates."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from connector.connections import load_connections
from connector.errors import BadInput, ConfigError
from connector.files import MAX_PATH, check_file
from connector.watch.checkpoint import CheckpointStore, new_checkpoint
from tests.watch.support import T0, connector, write_connections

SANDBOX_URL = "http://127.0.0.1:9"  # never reached: every case is refused before a request


def odd_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """One path per kind of file that is not a regular file, with how it is named in the error."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "folder").mkdir()
    return {
        "fifo": (fifo, "a FIFO (named pipe)"),
        "device": (Path("/dev/null"), "a character device"),
        "directory": (tmp_path / "folder", "a directory"),
    }


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_check_file_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    path, named = odd_files(tmp_path)[kind]
    with pytest.raises(BadInput) as caught:
        check_file(path, "--state", must_exist=False)
    assert caught.value.message == f"--state: {path} is {named}, not a regular file"


def test_check_file_takes_a_regular_file_or_none_and_refuses_a_long_path(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("abc")
    assert check_file(tmp_path / "a", "x") == 3
    assert check_file(tmp_path / "missing", "x", must_exist=False) == 0
    long = tmp_path / ("d" * 5000)
    with pytest.raises(BadInput) as caught:
        check_file(long, "--state", must_exist=False)
    assert caught.value.message.endswith(f"(a path of {len(str(long)):,} characters) is longer than "
                                         f"the {MAX_PATH:,} bytes a path may have")


@pytest.mark.parametrize("option", ["--state", "--output"])
@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_watch_refuses_a_state_or_output_that_is_not_a_regular_file(tmp_path: Path, option: str, kind: str) -> None:
    path, named = odd_files(tmp_path)[kind]
    files = {"--state": str(tmp_path / "s.json"), "--output": str(tmp_path / "out.ndjson"), option: str(path)}
    result = connector("watch", "get-threats", "--sandbox-url", SANDBOX_URL, "--once", "--since", "2h",
                       "--state", files["--state"], "--output", files["--output"], timeout=30)
    # click itself refuses a directory for a file option, in its own words; the rest are connector's.
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert option in result.stderr and f"{path}" in result.stderr and f"is {named}" in result.stderr


def test_a_five_thousand_character_state_path_is_exit_2(tmp_path: Path) -> None:
    state = tmp_path / ("s" * 5000)
    result = connector("watch", "get-threats", "--sandbox-url", SANDBOX_URL, "--once", "--state", str(state))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("connector: --state: ") and "is longer than the 4,096 bytes" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_secret_file_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path, named = odd_files(tmp_path)[kind]
    config = tmp_path / "connections.yaml"
    config.write_text(f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {SANDBOX_URL}\n"
                      f"    secret: file:{path}\n")
    connection = load_connections(config)["s1"]
    with pytest.raises(ConfigError) as caught:
        connection.token()
    assert caught.value.message == f"connection 's1': secret: {path} is {named}, not a regular file"


def test_a_symlinked_state_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "real" / "state.json"
    target.parent.mkdir()
    link = tmp_path / "state.json"
    link.symlink_to(target)
    store = CheckpointStore(link)
    checkpoint = new_checkpoint("get_threats", "s1", T0)
    store.save(checkpoint)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert CheckpointStore(link).load() == checkpoint == CheckpointStore(target).load()


def test_a_checkpoint_in_year_1_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    write_connections(tmp_path, SANDBOX_URL)
    checkpoint = new_checkpoint("get_threats", "s1", T0).model_dump(mode="json")
    state.write_bytes(orjson.dumps({**checkpoint, "bookmark": "0001-01-01T00:00:00Z"}))
    result = connector("watch", "get-threats", "--connection", "s1", "--once", "--state", str(state),
                       env={"CONNECTOR_CONFIG": str(tmp_path / "connections.yaml")})
    assert (result.returncode, result.stderr) == (
        2,
        f"connector: --state: {state} is not a watch checkpoint (bookmark: Value error, 0001-01-01T00:00:00+00:00 "
        "is not between 1970 and 9000); move it away to start over\n",
    )
