"""Reading documents people write, and quoting values back short."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.documents import MAX_DEPTH, check_depth, load_yaml, quoted, read_text
from connector.errors import BadInput
from connector.schemas import load_object


def test_read_text_names_the_file_when_it_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(BadInput) as caught:
        read_text(path, "--input")
    assert caught.value.message == f"--input: {path} is not UTF-8 text (byte 7)"


def test_nesting_is_bounded_in_json_and_yaml() -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(BadInput, match=f"input: nested deeper than {MAX_DEPTH} levels"):
        load_object('{"a": ' + deep + "}", "input")
    with pytest.raises(BadInput, match=f"playbook: nested deeper than {MAX_DEPTH} levels"):
        load_yaml("a: " + "[" * 5000 + "]" * 5000, "playbook")
    check_depth({"a": [[1]]}, "fine")


def test_quoted_keeps_short_values_and_cuts_long_ones() -> None:
    assert quoted("high") == "'high'"
    assert quoted(3) == "3"
    long = quoted("x" * 10_000)
    assert long.endswith("… (a string of 10000 characters)") and len(long) < 120
    threats = [{"uid": f"sentinelone:{n}", "raw": {"blob": "y" * 3000}} for n in range(2)]
    line = quoted(threats)
    assert line.endswith("(a list of 2 objects)") and len(line) < 120
    assert quoted({"k": "v" * 200}).endswith("(an object of 1 key)")
