"""The README's examples run as written: every command line parses, every playbook it checks passes,
every folder it names exists (issue 13, item 9)."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from connector.cli import cli
from connector.playbook import load_checked
from connector.plugins import default_host

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


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
