"""connector describe ACTION --format json|markdown|table, and run --format table's failures, through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from connector.docs import action_markdown
from connector.plugins import default_host

CONNECTOR = [sys.executable, "-m", "connector"]
DOCS = Path(__file__).parents[2] / "docs"


def connector(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONNECTOR, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CONNECTOR_CONFIG": "", "NO_COLOR": ""})


def test_json_stays_the_default() -> None:
    result = connector("describe", "get-threats")
    assert result.returncode == 0
    document = orjson.loads(result.stdout)
    assert document["name"] == "get_threats" and "since" in document["input_schema"]["properties"]


def test_markdown_is_the_docs_page_without_its_example() -> None:
    result = connector("describe", "get-threats", "--format", "markdown")
    assert result.returncode == 0
    page = (DOCS / "actions" / "get_threats.md").read_text(encoding="utf-8")
    assert result.stdout == action_markdown(default_host().action("get_threats"), default_host())
    assert page.startswith(result.stdout.rstrip("\n") + "\n\n## Example")


def test_table_shows_the_vendors_and_the_fields() -> None:
    result = connector("describe", "update-threat-status", "--format", "table")
    assert result.returncode == 0
    assert result.stdout.startswith("update-threat-status: ")
    assert "(mutates)" in result.stdout.splitlines()[0]
    for text in ("vendors", "sentinelone", "input (update_threat_status.input.json)", "│ ids ", "│ status "):
        assert text in result.stdout
    assert "\x1b" not in result.stdout  # piped: no colour


def test_an_unknown_format_is_exit_2() -> None:
    result = connector("describe", "get-threats", "--format", "yaml")
    assert result.returncode == 2 and "'yaml' is not one of 'json', 'markdown', 'table'" in result.stderr


def test_run_table_shows_the_whole_failure_reason() -> None:
    long_id = "x" * 30 + "-" + "y" * 200
    result = connector("run", "get-threat", "--sandbox", "--format", "table", "--input", f'{{"id": "{long_id}"}}')
    assert result.returncode == 1
    assert result.stdout.startswith("get_threat (failed)\nvendor error: ")
    assert long_id in "".join(result.stdout.split())
    assert all(len(line) <= 160 for line in result.stdout.splitlines())
