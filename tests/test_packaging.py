"""The declared dependency floors (issue 21 item 11): `make test-lowest` runs the suite on them."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
REQUIREMENTS = [Requirement(text) for text in PROJECT["dependencies"]]


def floor(name: str) -> Version:
    """The lowest version pyproject.toml allows for ``name``."""
    (requirement,) = [found for found in REQUIREMENTS if found.name == name]
    (lowest,) = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    return lowest


def test_the_floors_below_which_connector_breaks_are_excluded() -> None:
    # tenacity before 9.2 has no `multiplier` on wait_exponential_jitter (every action fails);
    # kombu 5.7 needs redis 6.4, and celery before 5.7 writes a traceback when the broker goes away.
    assert floor("tenacity") >= Version("9.2.1")
    assert floor("redis") >= Version("6.4")
    assert floor("celery") >= Version("5.7")


def test_every_installed_dependency_is_at_or_above_its_floor() -> None:
    for requirement in REQUIREMENTS:
        assert Version(version(requirement.name)) >= floor(requirement.name), requirement


def test_make_test_lowest_resolves_the_lowest_direct_versions() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^test-lowest:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert target is not None and "--resolution lowest-direct" in target.group(1)
    assert "$(LOWEST)/bin/pytest" in target.group(1)
