"""The package's imports: no cycle, counting imports inside functions; the layers are import-linter's.

``make lint`` runs ``lint-imports`` on the layers contract of pyproject.toml (a module never imports
one above it). A cycle inside one layer would slip past it, so this test looks for any at all, on
the same graph (grimp's, which import-linter is built on). Imports for type checking only
(``if TYPE_CHECKING:``) are left out: they do not run.
"""

from __future__ import annotations

import graphlib

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
