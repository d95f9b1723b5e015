"""Input conveniences on the command line: --ids from a file or stdin, --input @FILE.yaml, relative times."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

CONNECTOR = [sys.executable, "-m", "connector"]


def connector(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONNECTOR, *args], capture_output=True, text=True, input=stdin, timeout=120,
                          env={**os.environ, "CONNECTOR_CONFIG": "", "NO_COLOR": "1"})


def planned_ids(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    envelope = orjson.loads(result.stdout)
    return envelope["output"]["planned_requests"][0]["json"]["filter"]["ids"]


DRY_UPDATE = ("run", "update-threat-status", "--sandbox", "--dry-run", "--input", '{"status": "resolved"}')


def test_ids_from_a_file_skip_blank_lines_and_comments(tmp_path: Path) -> None:
    (tmp_path / "ids.txt").write_text("# threats to close\n1001\n\n  1002  \n# done\n", encoding="utf-8")
    assert planned_ids(connector(*DRY_UPDATE, "--ids", f"@{tmp_path / 'ids.txt'}")) == ["1001", "1002"]


def test_ids_from_stdin() -> None:
    assert planned_ids(connector(*DRY_UPDATE, "--ids", "-", stdin="7\n8\n")) == ["7", "8"]


def test_ids_for_an_action_without_ids_is_exit_2_naming_it() -> None:
    result = connector("run", "list-events", "--sandbox", "--ids", "-", stdin="7\n")
    assert result.returncode == 2
    assert "connector: --ids: action list_events takes no ids (its input has no 'ids' field)" in result.stderr


def test_ids_refused_beside_input_ids_and_from_an_empty_file(tmp_path: Path) -> None:
    both = connector("run", "update-threat-status", "--sandbox", "--dry-run", "--ids", "-",
                     "--input", '{"ids": ["1"], "status": "resolved"}', stdin="2\n")
    assert both.returncode == 2 and "connector: --ids and input.ids: give only one of them" in both.stderr
    (tmp_path / "none.txt").write_text("# nothing\n\n", encoding="utf-8")
    empty = connector(*DRY_UPDATE, "--ids", f"@{tmp_path / 'none.txt'}")
    assert empty.returncode == 2 and f"connector: --ids: {tmp_path / 'none.txt'} holds no id" in empty.stderr
    stdin_twice = connector("run", "get-threats", "--sandbox", "--ids", "-", "--input", "-", stdin="1\n")
    assert stdin_twice.returncode == 2
    assert "connector: --input - and --ids -: only one of them can read stdin" in stdin_twice.stderr


def test_input_from_a_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "input.yaml").write_text("# the ones to close\nids: ['1001', '1002']\nstatus: resolved\n",
                                         encoding="utf-8")
    result = connector("run", "update-threat-status", "--sandbox", "--dry-run", "--input",
                       f"@{tmp_path / 'input.yaml'}")
    assert planned_ids(result) == ["1001", "1002"]


def test_an_unquoted_yaml_time_is_rfc3339_text(tmp_path: Path) -> None:
    (tmp_path / "input.yml").write_text("since: 2024-01-31T00:00:00Z\nlimit: 1\n", encoding="utf-8")
    result = connector("run", "get-threats", "--sandbox", "--input", f"@{tmp_path / 'input.yml'}")
    assert result.returncode == 0, result.stderr


def test_a_yaml_input_that_is_not_a_mapping_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "input.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    result = connector("run", "get-threats", "--sandbox", "--input", f"@{tmp_path / 'input.yaml'}")
    assert result.returncode == 2
    assert f"connector: input ({tmp_path / 'input.yaml'}): expected a mapping, got list" in result.stderr
    (tmp_path / "bad.yaml").write_text("a: [1\n", encoding="utf-8")
    broken = connector("run", "get-threats", "--sandbox", "--input", f"@{tmp_path / 'bad.yaml'}")
    assert broken.returncode == 2 and "not valid YAML" in broken.stderr and "Traceback" not in broken.stderr


def test_relative_times_on_the_command_line() -> None:
    result = connector("run", "get-threats", "--sandbox", "--input", '{"since": "-7d", "limit": 1}')
    assert result.returncode == 0, result.stderr
    bad = connector("run", "get-threats", "--sandbox", "--input", '{"until": "tomorrow"}')
    assert bad.returncode == 2
