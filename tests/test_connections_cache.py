"""A connections file is parsed once while it stays the same; an edit is picked up, secrets are read per use."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from connector import connections
from connector.connections import find_connection, read_connections

BODY = "connections:\n  a:\n    vendor: sentinelone\n    base_url: https://{host}\n    secret: {secret}\n"
SETTLED = 3_600_000_000_000  # an hour before now, in ns: long past the racy window


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The label of each YAML document connections.py parses, in order."""
    seen: list[str] = []
    real = connections.load_yaml

    def counting(text: str, label: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(label)
        return real(text, label, *args, **kwargs)

    monkeypatch.setattr(connections, "load_yaml", counting)
    return seen


def settled(path: Path, host: str, secret: str = "env:A", age_ns: int = SETTLED) -> Path:
    path.write_text(BODY.format(host=host, secret=secret))
    then = time.time_ns() - age_ns
    os.utime(path, ns=(then, then))
    return path


def test_an_unchanged_file_is_parsed_once(tmp_path: Path, parses: list[str]) -> None:
    path = settled(tmp_path / "c.yaml", "one.example")
    urls = [find_connection("a", path).base_url for _ in range(3)]
    assert urls == ["https://one.example"] * 3
    assert read_connections(path).path == path
    assert parses == [f"config: {path}"]


def test_an_edited_file_is_read_again(tmp_path: Path, parses: list[str]) -> None:
    path = settled(tmp_path / "c.yaml", "one.example")
    assert find_connection("a", path).base_url == "https://one.example"
    # The same size, only the mtime differs: still picked up.
    settled(path, "two.example", age_ns=SETTLED // 2)
    assert find_connection("a", path).base_url == "https://two.example"
    assert find_connection("a", path).base_url == "https://two.example"
    assert len(parses) == 2


def test_a_replaced_file_is_read_again_even_with_the_same_mtime_and_size(tmp_path: Path, parses: list[str]) -> None:
    path = settled(tmp_path / "c.yaml", "one.example")
    assert find_connection("a", path).base_url == "https://one.example"
    status = path.stat()
    replacement = settled(tmp_path / "new.yaml", "two.example")
    os.utime(replacement, ns=(status.st_atime_ns, status.st_mtime_ns))
    os.replace(replacement, path)  # as an editor or a deployment tool saves: a new inode
    assert find_connection("a", path).base_url == "https://two.example"
    assert len(parses) == 2


def test_a_file_written_just_now_is_not_kept(tmp_path: Path, parses: list[str]) -> None:
    path = settled(tmp_path / "c.yaml", "one.example", age_ns=0)
    for _ in range(2):
        assert find_connection("a", path).base_url == "https://one.example"
    assert len(parses) == 2


def test_the_secret_is_read_on_each_use(tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "token"
    secret.write_text("first-token\n")
    by_file = settled(tmp_path / "f.yaml", "one.example", secret=f"file:{secret}")
    by_env = settled(tmp_path / "e.yaml", "one.example", secret="env:CACHE_TEST_TOKEN")
    monkeypatch.setenv("CACHE_TEST_TOKEN", "env-first")
    assert (find_connection("a", by_file).token(), find_connection("a", by_env).token()) == ("first-token", "env-first")
    secret.write_text("second-token\n")
    monkeypatch.setenv("CACHE_TEST_TOKEN", "env-second")
    assert (find_connection("a", by_file).token(), find_connection("a", by_env).token()) == (
        "second-token",
        "env-second",
    )
    assert len(parses) == 2
