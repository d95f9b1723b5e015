"""The modules an editable install compiles with mypyc (hatch_build.py) map exactly as their pure
Python source does, are built from the current source, and are left out where nothing can compile them.

Where the install compiled nothing (no compiler), the first test compares the source with itself,
and still maps every record both ways.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from connector import hygiene
from connector.errors import BadVendorAnswer
from connector.sandbox import SandboxConfig
from connector.vendors.sentinelone import threats
from connector.vendors.sentinelone.pages import threat_page
from connector.vendors.sentinelone.threats import FLAT_INFO
from hatch_build import COMPILED, compile_in_place, compiled_files
from tests.conftest import REAL
from tests.pure_python import MODULES, ROOT, is_compiled
from tests.records_support import served_records

MAP_EVERY_RECORD = """
import sys
from tests.pure_python import pure_python_only
pure_python_only()
from tests.test_compiled import mapped_pages
from connector.vendors.sentinelone import threats
assert threats.__file__.endswith(".py"), threats.__file__
sys.stdout.buffer.write(mapped_pages(open(sys.argv[1], "rb").read()))
"""


def mapped_pages(pages: bytes) -> bytes:
    """Every record of ``pages`` (a JSON list of SentinelOne pages) read whole and read with the
    mapper's fields, mapped: each record's JSON bytes (or its refusal) and its dropped values."""
    out = []
    for page in orjson.loads(pages):
        body = orjson.dumps(page)
        for record in [*orjson.loads(body)["data"], *threat_page(body)["data"]]:
            with hygiene.recording() as drops:
                try:
                    mapped = orjson.dumps(threats.normalize_threat(record)).decode()
                except BadVendorAnswer as exc:
                    mapped = exc.message
            out.append([mapped, [[dropped.field, dropped.rule] for dropped in drops]])
    return orjson.dumps(out)


def _pages() -> list[object]:
    found: list[object] = [json.loads(path.read_text()) for path in sorted((REAL / "sentinelone").glob("*.json"))]
    for rate in (0.0, 0.3, 1.0):
        config = SandboxConfig(sizes={"sentinelone": 300, "mysecutec": 5, "nameshield": 5, "ciso_assistant": 5},
                               rate_limits=False, messy=rate)
        found.append({"data": asyncio.run(served_records(config))["sentinelone"]})
    flat = {old: f"value of {old}" for old in FLAT_INFO} | {"id": "1234567890", "agentIp": "10.1.2.3",
                                                              "resolved": True, "rank": 7}
    found.append({"data": [flat, {**flat, "resolved": "no"}, [1], {"id": "x"}]})
    return found


def test_the_pure_python_source_maps_every_record_byte_for_byte_as_the_install(tmp_path: Path) -> None:
    pages = tmp_path / "pages.json"
    pages.write_bytes(orjson.dumps(_pages()))
    done = subprocess.run([sys.executable, "-c", MAP_EVERY_RECORD, str(pages)], capture_output=True, cwd=ROOT,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    installed = mapped_pages(pages.read_bytes())
    assert len(orjson.loads(installed)) > 1500
    built = ROOT / COMPILED[-1].replace(".py", importlib.machinery.EXTENSION_SUFFIXES[0])
    assert is_compiled(threats) == built.exists()
    assert done.stdout == installed


def test_the_compiled_modules_are_built_from_the_current_source() -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for path, name in zip(COMPILED, MODULES, strict=True):
        module = importlib.import_module(name)
        built = ROOT / path.replace(".py", suffix)
        if not is_compiled(module):
            assert not built.exists(), f"{built} is there but was not imported"
            continue
        assert built.stat().st_mtime >= (ROOT / path).stat().st_mtime, (
            f"{path} changed since it was compiled: run `make install` (or CONNECTOR_PURE_PYTHON=1 make install)")


def test_make_install_installs_again_when_a_compiled_module_changes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    listed = makefile.split("COMPILED := ", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ").split()
    assert tuple(listed) == COMPILED
    assert "$(STAMP): pyproject.toml hatch_build.py $(COMPILED)" in makefile


@pytest.mark.skipif(shutil.which("false") is None, reason="needs a command that always fails, as the compiler")
def test_where_nothing_compiles_the_modules_stay_pure_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "connector", tmp_path / "connector", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    monkeypatch.setenv("CC", "false")  # what setuptools compiles with: here a compiler that always fails
    problem = compile_in_place(tmp_path)
    assert problem, "the compile must have failed"
    assert "\n" not in problem
    assert not [path for path in compiled_files(tmp_path) if path.exists()], "nothing is left behind"
