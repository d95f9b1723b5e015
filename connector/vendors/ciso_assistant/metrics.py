"""Dashboard reads of the incidents viewset: summary, monthly counts, breakdowns and the choice lists.

The answers are the vendor's own JSON, passed through under ``metrics``: they are counts, not
incidents, so there is no common shape to map them to. Their real shapes (recorded from a real
server) are in the output schema; ``folder`` narrows the five figures to one folder.
"""

from __future__ import annotations

from typing import Any

from connector.context import RunContext
from connector.errors import BadInput
from connector.vendors.ciso_assistant.incidents import INCIDENTS

METRIC_PATHS = {
    "summary": "summary_stats/",
    "monthly": "monthly_metrics/",
    "severity_breakdown": "severity_breakdown/",
    "detection_breakdown": "detection_breakdown/",
    "qualifications_breakdown": "qualifications_breakdown/",
}
CHOICE_PATHS = {"severity": "severity/", "status": "status/", "detection": "detection/"}


async def incident_metrics(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """One dashboard figure, or (``choices``) the severity, status and detection choice lists together."""
    kind = document["kind"]
    if kind == "choices":
        if "folder" in document:
            raise BadInput("input.folder: the choice lists belong to no folder (give folder with a figure kind)")
        choices = {name: await run.request("GET", INCIDENTS + path) for name, path in CHOICE_PATHS.items()}
        return {"kind": kind, "metrics": choices}
    params = {"folder": document["folder"]} if "folder" in document else None
    return {"kind": kind, "metrics": await run.request("GET", INCIDENTS + METRIC_PATHS[kind], params=params)}
