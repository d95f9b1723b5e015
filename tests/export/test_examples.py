"""The committed exports in examples/soar are exactly what the generator writes, and the CLI writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.export import PLATFORMS, render
from tests.cli.test_cli import connector, one_line

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "soar"


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_committed_example_matches_the_generator(platform: str) -> None:
    folder = EXAMPLES / platform
    expected = render(platform)
    committed = {str(path.relative_to(folder)): path.read_text() for path in folder.rglob("*") if path.is_file()}
    fix = f"run `connector export {platform} examples/soar/{platform}` and commit the result"
    assert sorted(committed) == sorted(expected), fix
    for relative, text in expected.items():
        assert committed[relative] == text, f"examples/soar/{platform}/{relative} differs: {fix}"


def test_the_command_writes_every_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "cortex", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(result.stdout.split())
    assert written == sorted(str(tmp_path / "out" / relative) for relative in render("cortex"))
    program = tmp_path / "out" / "analyzers" / "Connector" / "connector_analyzer.py"
    assert program.stat().st_mode & 0o111
    assert result.stderr.strip() == f"connector: cortex: 22 files written under {tmp_path / 'out'}"


def test_an_unknown_platform_or_unwritable_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    unknown = connector("export", "splunk", str(tmp_path))
    assert (unknown.returncode, one_line(unknown)) == (
        2, "connector: Invalid value for 'PLATFORM': 'splunk' is not one of 'cortex', 'shuffle', 'xsoar'."
    )
    blocked = connector("export", "shuffle", str(blocker / "x"))
    assert blocked.returncode == 2
    assert one_line(blocked).startswith(f"connector: DIRECTORY: cannot write {blocker}")
