"""The package's imports: no cycle, counting imports inside functions; the layers are import-linter's.

``make lint`` runs ``lint-imports`` on the layers contract of pyproject.toml (a module never imports
one above it). A cycle inside one layer would slip past it, so this test looks for any at all, on
the same graph (grimp's, which import-linter is built on). Imports for type checking only
(``if TYPE_CHECKING:``) are left out: they do not run.
"""

from __future__ import annotations

import graphlib
import importlib.util
import subprocess
import sys

import grimp


def test_the_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("connector", exclude_type_checking_imports=True)
    order = graphlib.TopologicalSorter({module: graph.find_modules_directly_imported_by(module)
                                        for module in graph.modules})
    try:
        order.prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(f"an import cycle: {' -> '.join(exc.args[1])}") from None


def test_the_http_layer_knows_nothing_above_it() -> None:
    graph = grimp.build_graph("connector", exclude_type_checking_imports=True)
    above = {"connector.jobs", "connector.runner", "connector.context", "connector.playbook", "connector.server",
             "connector.cli", "connector.vendors", "connector.formats", "connector.execute"}
    reached = graph.find_upstream_modules("connector.http")
    assert not {module for module in reached if any(module == name or module.startswith(f"{name}.") for name in above)}


def test_httpx_does_not_bring_its_command_line_client() -> None:
    # httpx imports its CLI (rich, pygments: a tenth of a run's start) when they are installed;
    # connector blocks that one import, and httpx answers it with its own stub.
    probe = "import sys, connector, httpx; print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'pygments'}))"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"
    assert importlib.util.find_spec("rich") is not None  # installed, so the test can fail
