"""The generated reference: docs/ and the README's last table are what the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.docs import TABLE_START, generate, readme_with_table, type_of
from connector.plugins import Host
from connector.sandbox import SandboxConfig, running_sandbox

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("actions", "vendors")


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    with running_sandbox(SandboxConfig(rate_limits=False)) as url:
        return generate(Host(entry_points=False), url)


def test_docs_folder_is_what_the_code_generates(pages: dict[str, str]) -> None:
    on_disk = {str(path.relative_to(ROOT / "docs")): path.read_text(encoding="utf-8")
               for kind in GENERATED for path in (ROOT / "docs" / kind).glob("*.md")}
    on_disk["index.md"] = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    stale = sorted(name for name in set(pages) | set(on_disk) if pages.get(name) != on_disk.get(name))
    assert stale == [], f"docs/ differs from the code in {stale}: run `make docs`"


def test_readme_ends_with_the_generated_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert TABLE_START in readme
    assert readme == readme_with_table(readme, Host(entry_points=False)), "run `make docs`"


def test_an_action_page_has_its_tables_example_and_simulated_output(pages: dict[str, str]) -> None:
    page = pages["actions/get_threats.md"]
    assert page.startswith("# get-threats: Get Threats\n")
    assert "| [sentinelone](../vendors/sentinelone.md) | `GET /web/api/v2.1/threats` | Viewer" in page
    assert "| `severity` | array of \"unknown\" or \"informational\" or \"low\"" in page
    assert "| `threats` | array of `threat.json` | yes |  |" in page
    assert "connector run get-threats --sandbox --input '{\"severity\": [\"high\"], \"limit\": 1}'" in page
    assert "(simulated data)" in page and '"status": "success"' in page
    assert "--dry-run" in pages["actions/mitigate_threat.md"] and '"planned_requests"' in pages[
        "actions/mitigate_threat.md"]


def test_a_vendor_page_has_auth_limits_mappings_lossy_spots_and_roles(pages: dict[str, str]) -> None:
    page = pages["vendors/ciso_assistant.md"]
    assert "- Auth: `Authorization: Token <token>`" in page and "- Rate limit: none documented." in page
    assert "| `2 (Major)` | `high` |" in page
    assert "- status: `closed`, `dismissed` all become `closed`" in page
    assert "| [create-incident](../actions/create_incident.md) | yes | Analyst or above" in page
    assert "| `secret` | string | yes | Where the token is read: env:NAME, file:PATH or keyring:SERVICE/NAME |" in page
    assert "- Rate limit: 600 requests per 300 s" in pages["vendors/nameshield.md"]


@pytest.mark.parametrize(
    ("field", "expected"),
    [({"type": ["string", "null"]}, "string or null"), ({"enum": ["csv", "xlsx"]}, '"csv" or "xlsx"'),
     ({"type": "array", "items": {"$ref": "threat.json"}}, "array of `threat.json`"),
     ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "string or integer"), (True, "any")],
)
def test_field_types_read_plainly(field: object, expected: str) -> None:
    assert type_of(field) == expected


def test_docs_command_writes_pages_and_removes_stale_ones(tmp_path: Path) -> None:
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "removed_action.md").write_text("old")
    result = CliRunner().invoke(cli, ["docs", str(tmp_path)], env={"CONNECTOR_LOAD_PLUGINS": ""})
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "actions" / "removed_action.md").exists()
    assert len(list((tmp_path / "actions").glob("*.md"))) == 21 and (tmp_path / "vendors" / "nameshield.md").exists()
