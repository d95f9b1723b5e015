"""Reading documents people write, and quoting values back short."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.documents import MAX_ALIAS_NODES, MAX_DEPTH, MAX_YAML_BYTES, check_depth, load_yaml, quoted, read_text
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


def bomb(levels: int = 9) -> str:
    """A "billion laughs": each anchor is ten aliases of the one before, 10**levels nodes once expanded."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_anything_walks_it() -> None:
    # 10**9 nodes once expanded: walking it (the depth check, a JSON dump) would never end, so this
    # test finishing at all shows the refusal comes from the composed graph, which is small.
    with pytest.raises(BadInput) as caught:
        load_yaml(bomb(), "config: c.yaml")
    assert caught.value.message == (
        f"config: c.yaml line 4: aliases expand the document by more than {MAX_ALIAS_NODES:,} nodes"
    )


def test_aliases_within_the_bound_and_merge_keys_still_load() -> None:
    assert load_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\nlist: [*b, *b]\n", "c") == {
        "base": {"x": 1, "y": 2}, "other": {"x": 3, "y": 2}, "list": [{"x": 1, "y": 2}] * 2,
    }
    assert len(load_yaml(bomb(2), "c")["l2"]) == 10  # about 1,100 nodes through aliases: fine


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: *a}", "- &a [1, [2, *a]]"])
def test_an_alias_that_refers_to_itself_is_refused(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        load_yaml(text, "playbook p.yaml")
    assert caught.value.message == (
        "playbook p.yaml line 1: an alias refers to the node that holds it (a document without end)"
    )


def test_a_key_given_twice_is_refused_naming_it() -> None:
    with pytest.raises(BadInput) as caught:
        load_yaml("connections:\n  s1: {vendor: a}\n  s1: {vendor: b}\n", "config: c.yaml")
    assert caught.value.message == "config: c.yaml line 3: key 's1' given twice"


def test_an_oversized_file_is_refused_reading_no_more_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as stream:
        stream.truncate(MAX_YAML_BYTES + 1)  # sparse: 1 MiB of nothing, costs no disk
    with pytest.raises(BadInput) as caught:
        read_text(path, "config", limit=MAX_YAML_BYTES)
    assert caught.value.message == f"config: {path} is more than the 262,144 bytes allowed"
    with pytest.raises(BadInput, match="262,145 characters, more than the 262,144 allowed"):
        load_yaml("a" * (MAX_YAML_BYTES + 1), "config")


CONNECTOR = [sys.executable, "-m", "connector"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (bomb(), f"line 4: aliases expand the document by more than {MAX_ALIAS_NODES:,} nodes"),
        ("connections: &c\n  s1: *c\n", "line 1: an alias refers to the node that holds it (a document without end)"),
        ("connections: {}\nconnections: {}\n", "line 2: key 'connections' given twice"),
    ],
)
@pytest.mark.parametrize("where", ["connections", "playbook"])
def test_hostile_yaml_is_exit_2_in_connections_files_and_playbooks(
    tmp_path: Path, text: str, problem: str, where: str
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    env = {**os.environ, "CONNECTOR_CONFIG": str(path) if where == "connections" else ""}
    args = ["run", "get-threats", "--connection", "s1"] if where == "connections" else ["playbook", "check", str(path)]
    result = subprocess.run([*CONNECTOR, *args], capture_output=True, text=True, timeout=60, env=env)
    label = f"config: {path}" if where == "connections" else "playbook f.yaml"
    # `run` adds its summary line ("get_threats: failed; 0 requests ..."): the first line is the reason.
    assert (result.returncode, result.stderr.splitlines()[0]) == (2, f"connector: {label} {problem}")
