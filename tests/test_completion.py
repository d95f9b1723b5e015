"""Shell completion, as a shell asks for it: commands, options, actions, connections and vendors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONNECTOR = [sys.executable, "-m", "connector"]


def complete(shell: str, words: str, cword: str, config: Path | None = None) -> list[str]:
    """The values the completion script of ``shell`` would offer for ``words`` (click's protocol)."""
    env = {**os.environ, "_CONNECTOR_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword,
           "CONNECTOR_CONFIG": str(config or "")}
    shown = subprocess.run([*CONNECTOR], capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    if shell == "bash":
        return [line.split(",", 1)[1] for line in shown.splitlines()]
    if shell == "zsh":  # type, value, help: three lines each
        lines = shown.splitlines()
        return lines[1::3]
    return [line.split("\t")[0].split(",", 1)[-1] for line in shown.splitlines()]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text("connections:\n  s1prod: {vendor: sentinelone, base_url: 'https://x.example', secret: 'env:A'}\n"
                    "  s1broken: {vendor: sentinelone, base_url: 'ftp://x'}\n")
    return path


def test_commands_and_options_complete() -> None:
    assert complete("bash", "connector ru", "1") == ["run"]
    assert complete("bash", "connector co", "1") == ["completion", "connections"]
    assert "--dry-run" in complete("bash", "connector run get-threats --d", "3")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_action_names_complete(shell: str) -> None:
    assert complete(shell, "connector run get-threat", "2") == [
        "get-threat", "get-threat-filters", "get-threat-logs", "get-threat-notes", "get-threats",
    ]
    assert complete(shell, "connector describe list-inc", "2") == ["list-incidents"]


def test_connection_names_complete_from_the_file_in_force(config: Path) -> None:
    # Every connection the file names, the invalid one too (running it says what is wrong), and sandbox.
    assert complete("bash", "connector run get-threats --connection ", "4", config) == [
        "s1broken", "s1prod", "sandbox",
    ]
    given = f"connector --config {config} watch get-threats -c s1p"
    assert complete("bash", given, "6") == ["s1prod"]


def test_vendor_names_complete_in_fish() -> None:
    assert complete("fish", "connector run get-threats --vendor ", "") == [
        "ciso_assistant", "mysecutec", "nameshield", "sentinelone",
    ]


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nosort -F _connector_completion connector"),
                                               ("zsh", "compdef _connector_completion connector"),
                                               ("fish", "complete --no-files --command connector")])
def test_completion_prints_the_script(shell: str, marker: str) -> None:
    printed = subprocess.run([*CONNECTOR, "completion", shell], capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and printed.stderr == ""
    assert marker in printed.stdout and "_CONNECTOR_COMPLETE" in printed.stdout
    refused = subprocess.run([*CONNECTOR, "completion", "tcsh"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stderr.startswith("connector: Invalid value for '{bash|zsh|fish}'")
