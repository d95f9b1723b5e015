"""How connector is installed: its name on the package index, what make install says, what depends on it."""

from __future__ import annotations

import subprocess
import tomllib
from importlib.metadata import distribution
from pathlib import Path

from connector.export import render

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "connector-soar"


def test_the_distribution_is_not_the_bare_name_but_the_command_and_import_are() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"connector": "connector.cli:main"}
    assert distribution(DISTRIBUTION).entry_points.select(group="console_scripts")["connector"].value == (
        "connector.cli:main"
    )


def test_the_soar_exports_require_the_distribution() -> None:
    shuffle = render("shuffle")
    (requirements,) = (text for name, text in shuffle.items() if name.endswith("requirements.txt"))
    assert requirements.splitlines()[0].startswith(f"{DISTRIBUTION} @ file:///wheels/connector_soar-")
    cortex = [text for name, text in render("cortex").items() if name.endswith("requirements.txt")]
    assert cortex and all(text.startswith(f"{DISTRIBUTION}==") for text in cortex)


def test_make_install_says_what_it_installs_with_apt_and_why_before_it_does() -> None:
    # make -n prints the recipe without running it: the message comes before apt-get in it.
    recipe = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), ".venv/.installed"], capture_output=True,
                            text=True, timeout=60, check=True).stdout
    said = recipe.index("installing redis-server with apt-get (Debian's package), because the task-queue tests")
    assert said < recipe.index("apt-get update")
