"""The compiled modules (hatch_build.COMPILED) as pure Python, read from their ``.py`` files.

An editable install may have compiled them with mypyc; these load the source beside the extension
module, so a test can run the very code a platform without a compiler runs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from hatch_build import COMPILED

ROOT = Path(__file__).resolve().parents[1]
MODULES = tuple(path.removesuffix(".py").replace("/", ".") for path in COMPILED)
"""The compiled modules' names."""


def is_compiled(module: ModuleType) -> bool:
    """Whether ``module`` was imported from an extension module rather than its ``.py``."""
    return not str(module.__file__).endswith(".py")


def from_source(name: str) -> ModuleType:
    """Module ``name`` run from its ``.py`` as a module of its own (``_pure.<name>``); what it imports
    is the usual (perhaps compiled) modules."""
    spec = importlib.util.spec_from_file_location(f"_pure.{name}", ROOT / (name.replace(".", "/") + ".py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SourceOnly(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' ``.py`` files before their extension modules (install it first thing)."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> (
            importlib.machinery.ModuleSpec | None):
        """The spec of ``name``'s source file, for a compiled module; None (look further) for the others."""
        if name not in MODULES:
            return None
        return importlib.util.spec_from_file_location(name, ROOT / (name.replace(".", "/") + ".py"))


def pure_python_only() -> None:
    """From now on, this process imports the compiled modules from their ``.py`` files."""
    assert not any(name in sys.modules for name in MODULES), "call it before any compiled module is imported"
    sys.meta_path.insert(0, SourceOnly())
