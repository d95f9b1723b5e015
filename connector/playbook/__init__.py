"""Playbooks: named steps, each an action with its input, chained by JMESPath expressions.

::

    name: triage
    inputs: {type: object, properties: {limit: {type: integer, default: 10}}}
    steps:
      - id: threats
        action: get_threats
        vendor: sentinelone
        input: {severity: [high], limit: "${{ inputs.limit }}"}
      - id: incidents
        action: create_incident
        for_each: steps.threats.output.threats
        input: {from_threat: "${{ item }}"}
      - id: progress
        action: update_threat_status
        when: steps.threats.output.threats
        on_error: continue
        input: {ids: "${{ steps.threats.output.threats[].vendor_id }}", status: in_progress}
    outputs:
      incidents: steps.incidents.output.items[].ref_id

Expressions see ``inputs``, ``steps.<id>.output``, ``steps.<id>.status`` and, in a for_each step's
input, ``item``; a for_each step's output is ``{"items": [each run's output, in order]}`` (``{}``
for a run that failed). ``when`` and ``for_each`` take a bare expression or ``${{ }}``; they are
evaluated once per step, before its runs, and ``when`` follows JMESPath truth (an empty list is
false, ``0`` is true). The file format is schemas/playbook.json. Everything is checked before a
request is sent (:mod:`connector.playbook.check`); expressions are evaluated only where the author
wrote them (:mod:`connector.playbook.expressions`).
"""


from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.playbook.check import load_checked
    from connector.playbook.model import PlaybookInvalid
    from connector.playbook.report import PlaybookResult, StepReport
    from connector.playbook.run import arun_playbook, run_playbook

_HOMES = {
    "PlaybookInvalid": "connector.playbook.model",
    "PlaybookResult": "connector.playbook.report",
    "StepReport": "connector.playbook.report",
    "arun_playbook": "connector.playbook.run",
    "load_checked": "connector.playbook.check",
    "run_playbook": "connector.playbook.run",
}

__all__ = ["PlaybookInvalid", "PlaybookResult", "StepReport", "arun_playbook", "load_checked", "run_playbook"]


def __getattr__(name: str) -> Any:
    """The package's names, imported from their module when first asked for (pipes need none of them)."""
    if name not in _HOMES:
        raise AttributeError(f"module 'connector.playbook' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
