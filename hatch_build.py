"""The build hook of an editable install (``make install``): the hot modules compiled with mypyc, if it can.

Mapping a record calls the hygiene cleaners some sixty times, and in pure Python that is most of
what a long read costs; compiled, the same code runs in about half the time. The ``.py`` modules
stay the source: an editable install compiles them next to themselves (the extension module is
imported before the ``.py`` of the same name), and anything that stops the compile (no C compiler,
no Python headers, CONNECTOR_PURE_PYTHON=1) leaves them pure Python, with one line saying why. A
regular wheel (the SOAR images' ``pip wheel``) stays pure Python and platform-independent.

What an earlier build compiled is removed first, so a failed compile never leaves a stale one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

COMPILED = (
    "connector/hygiene/drops.py",
    "connector/hygiene/values.py",
    "connector/hygiene/network.py",
    "connector/hygiene/times.py",
    "connector/records.py",
    "connector/vendors/sentinelone/threats.py",
)
"""The modules compiled, as paths from the project's root (tests/test_compiled.py reads this list)."""
SHARED_SUFFIX = "__mypyc" + str(sysconfig.get_config_var("EXT_SUFFIX"))
"""The end of the name of mypyc's shared library, which it writes at the root."""
_SETUP = (
    "import sys\n"
    "from mypyc.build import mypycify\n"
    "from setuptools import setup\n"
    "flags = ['--ignore-missing-imports', '--follow-imports=silent']\n"
    "setup(name='connector-compiled', ext_modules=mypycify([*flags, *sys.argv[1:]]),\n"
    "      script_args=['build_ext', '--inplace'])\n"
)


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles :data:`COMPILED` in place for an editable install (see the module docstring)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Remove what an earlier build compiled; compile again for an editable install."""
        root = Path(self.root)
        remove_compiled(root)
        if version != "editable":
            return
        if os.environ.get("CONNECTOR_PURE_PYTHON") == "1":
            self.app.display_info("connector: CONNECTOR_PURE_PYTHON=1: the hot modules stay pure Python")
            return
        problem = compile_in_place(root)
        if problem:
            self.app.display_warning(f"connector: the hot modules stay pure Python: {problem}")
        else:
            self.app.display_info(f"connector: {len(COMPILED)} hot modules compiled with mypyc")


def compiled_files(root: Path) -> list[Path]:
    """The extension modules an earlier compile left beside the sources, and its shared library."""
    suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
    found = [root / path.removesuffix(".py") for path in COMPILED]
    return [*(module.with_name(module.name + suffix) for module in found), *root.glob("*" + SHARED_SUFFIX)]


def remove_compiled(root: Path) -> None:
    """Remove the extension modules and shared library of an earlier compile."""
    for path in compiled_files(root):
        path.unlink(missing_ok=True)


def compile_in_place(root: Path) -> str:
    """Compile :data:`COMPILED` beside their sources; "" when done, else why not (nothing is left behind).

    The compile runs on a copy of the package, so that setuptools reads no project file of ours.
    """
    with tempfile.TemporaryDirectory(prefix="connector-mypyc-") as folder:
        work = Path(folder)
        shutil.copytree(root / "connector", work / "connector", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        try:
            done = subprocess.run([sys.executable, "-c", _SETUP, *COMPILED], cwd=work, capture_output=True,
                                  text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"mypyc did not run ({exc})"
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return lines[-1][:300] if lines else f"mypyc exited with {done.returncode}"
        built = compiled_files(work)
        if not all(path.exists() for path in built[: len(COMPILED)]) or len(built) != len(COMPILED) + 1:
            return "mypyc left no extension module for every compiled module"
        for path in built:
            shutil.copy2(path, root / path.relative_to(work))
    return ""
