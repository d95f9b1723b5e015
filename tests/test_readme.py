"""The README's examples run as written (issue 13 item 9, issue 21 item 10).

Every code block is used: python blocks are executed (the task-queue one by
``tests/jobs/test_submit.py::test_the_readme_job_example_runs``, which has a broker and workers), the
connections file is loaded, the envelope is a valid envelope, and every ``connector`` command line
parses; those that can run against the embedded sandbox are run as written, in a shell.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import click
import pytest

from connector.cli import cli
from connector.connections import load_connections
from connector.envelope import Envelope
from connector.playbook import load_checked
from connector.plugins import default_host
from connector.sandbox import SandboxConfig, build_app
from connector.testing import RecordingTransport

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    """The README's code blocks in ``language``, dedented (a block inside a list item is indented)."""
    blocks = re.findall(rf"^( *)```{language}\n(.*?)^\1```", README, re.DOTALL | re.MULTILINE)
    return [textwrap.dedent(text) for _, text in blocks]


def shell_lines() -> list[str]:
    """Each line of the README's sh blocks, continuation lines joined, comments cut."""
    return [
        line.split("  #", 1)[0].strip()
        for block in code_blocks("sh")
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip()
    ]


RUN_ALONE = ("connector list", "connector describe ", "connector export ")


def runnable(line: str) -> bool:
    """Whether a shell line runs to its end against the embedded sandbox, with nothing set up first.

    Not run (parsed only): what serves until stopped (``sandbox``, ``serve``, ``watch``, ``&``),
    what needs a connections file, a broker or the network (``--connection``, ``--broker``,
    ``curl``), and what is not connector (``make``, ``apt-get``, ``export``).
    """
    commands = [part.strip() for part in line.split("|")]
    return "&" not in line and all(
        command.startswith(RUN_ALONE)
        or (command.startswith(("connector run ", "connector playbook ")) and " --sandbox" in command
            and "--broker" not in command)
        for command in commands
    )


def test_every_code_block_is_of_a_kind_the_tests_use() -> None:
    languages = re.findall(r"^ *```(\w*)$", README, re.MULTILINE)[::2]
    assert set(languages) == {"sh", "python", "json", "yaml"}
    assert len(code_blocks("python")) == 4 and len(code_blocks("json")) == len(code_blocks("yaml")) == 1


PYTHON_HERE = [block for block in code_blocks("python") if "broker=" not in block]


@pytest.mark.parametrize("block", PYTHON_HERE, ids=[f"python{n}" for n in range(len(PYTHON_HERE))])
def test_every_python_block_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # the README's own example, run as a reader runs it
    for name, test in list(namespace.items()):
        if name.startswith("test_"):  # a test as a plugin author writes it: run it, as pytest would
            test(RecordingTransport(build_app(SandboxConfig(rate_limits=False, vendors=("mysecutec",)))))
    printed = capsys.readouterr().out
    if "print(" in block:
        assert printed.startswith("success ") and "\nsuccess " in printed
    if "audit_log" in block:
        events = (tmp_path / "audit.jsonl").read_text().splitlines()
        assert '"event":"action_started"' in events[0] and '"event":"action_finished"' in events[-1]


def test_the_connections_file_loads(tmp_path: Path) -> None:
    (path := tmp_path / "connections.yaml").write_text(code_blocks("yaml")[0])
    s1 = load_connections(path)["s1"]
    assert (s1.vendor, s1.secret) == ("sentinelone", "env:S1_TOKEN")


def test_the_envelope_is_an_envelope() -> None:
    envelope = Envelope.model_validate_json(code_blocks("json")[0].replace("[...]", "[]"))
    assert (envelope.status, envelope.exit_code, envelope.meta.records) == ("success", 0, 5)


def test_what_runs_against_the_sandbox_is_most_of_the_tour() -> None:
    assert len([line for line in shell_lines() if runnable(line)]) >= 9


@pytest.mark.parametrize("line", [line for line in shell_lines() if runnable(line)])
def test_every_sandbox_line_runs_as_written(line: str, tmp_path: Path) -> None:
    # `connector` on the PATH is this checkout's, as after `. .venv/bin/activate`.
    (bin_dir := tmp_path / "bin").mkdir()
    (script := bin_dir / "connector").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m connector "$@"\n')
    script.chmod(0o755)
    for folder in ("examples",):
        (tmp_path / folder).symlink_to(ROOT / folder)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CONNECTOR_CONFIG": ""}
    result = subprocess.run(["bash", "-o", "pipefail", "-c", line], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout


def command_lines() -> list[str]:
    """Each `connector ...` command in the README's sh blocks, continuation lines joined, comments cut."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            code = line.split("  #", 1)[0].strip()
            for part in re.split(r"\s*(?:\||&)\s*", code):
                if part.startswith("connector "):
                    lines.append(part)
    return lines


def parse(line: str) -> click.Context:
    """Parse the command line as click would, down to the leaf command, without running it."""
    args = shlex.split(line)[1:]
    ctx = cli.make_context("connector", args)
    command: click.Command = cli
    while isinstance(command, click.Group):
        with warnings.catch_warnings():
            # Click 8.2 deprecates protected_args for 9.0, where args will hold them: both work here.
            warnings.simplefilter("ignore", DeprecationWarning)
            name, sub, rest = command.resolve_command(ctx, [*ctx.protected_args, *ctx.args])
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return ctx


def test_the_readme_has_examples() -> None:
    assert len(command_lines()) >= 15


@pytest.mark.parametrize("line", command_lines())
def test_every_command_line_parses(line: str) -> None:
    ctx = parse(line)
    for name in ("playbooks", "file"):
        value = ctx.params.get(name)
        if isinstance(value, Path):
            assert (ROOT / value).exists(), f"{line}: {value} does not exist"


@pytest.mark.parametrize("line", [line for line in command_lines() if line.startswith("connector playbook check")])
def test_every_playbook_check_passes_as_written(line: str) -> None:
    ctx = parse(line)
    load_checked(ROOT / ctx.params["file"], default_host(), sandbox=ctx.params["sandbox"])


def test_every_test_reliability_md_cites_exists() -> None:
    text = (ROOT / "RELIABILITY.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert len(cited) > 15
    for path, name in cited:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert not name or f"def {name}(" in source, f"{path}::{name} is not a test"
    names = re.findall(r"`::(\w+)`", text)
    assert all(any(f"def {name}(" in path.read_text() for path in (ROOT / "tests").rglob("*.py")) for name in names)
