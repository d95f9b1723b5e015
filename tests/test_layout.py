"""The layout of the repository: the tests need nothing beside the clone; modules and functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MODULE_LINES = 400
FUNCTION_LINES = 60
MODULES = sorted(
    path.relative_to(ROOT).as_posix()
    for folder in ("connector", "benchmarks", "tests")
    for path in (ROOT / folder).rglob("*.py")
)
DATA_BUILDERS = {path for path in MODULES if path.startswith("connector/sandbox/") and path.endswith("/data.py")}
"""The sandbox's seeded-data builders: long tables of generated values, exempt from the limits."""
OUTSIDE = "/" + "shared"
"""The folder beside the clone that held the vendor documents and real payloads (spelled apart: not in this file)."""


def test_no_test_file_refers_to_the_folder_beside_the_clone() -> None:
    offenders = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and OUTSIDE.encode() in path.read_bytes()
    ]
    assert offenders == [], f"tests read their data from tests/fixtures, never from ..{OUTSIDE}"


@pytest.mark.parametrize("module", [path for path in MODULES if path not in DATA_BUILDERS])
def test_module_and_its_functions_are_small(module: str) -> None:
    source = (ROOT / module).read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= MODULE_LINES, f"{module} has {lines} lines, over {MODULE_LINES}"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, from line {node.lineno})"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > FUNCTION_LINES
    ]
    assert long == [], f"{module}: functions over {FUNCTION_LINES} lines"


def test_the_exemption_names_only_data_builders() -> None:
    vendors = ("mysecutec", "nameshield", "sentinelone")
    assert {f"connector/sandbox/{vendor}/data.py" for vendor in vendors} == DATA_BUILDERS
