"""connector: SOAR-style actions against SentinelOne, MySecutec TAM, Nameshield CTI and CISO Assistant.

The Python API::

    from connector import run_action, run_playbook

    envelope = run_action("get_threats", {"severity": ["high"]}, sandbox=True, vendor="sentinelone")
    result = run_playbook("examples/triage.yaml", sandbox=True)

``arun_action`` and ``arun_playbook`` are the same for callers with an event loop;
``stream_action`` and ``astream_action`` hand a read's records out as they come, then give the
envelope. The names are
imported on first use, so ``import connector`` stays cheap.
"""

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

# httpx imports its own command-line client (httpx._main) whenever rich and click are installed, as
# they are here: rich and pygments, a tenth of a one-record run's start, for a program never run in
# this process. A None entry makes that import fail, which httpx expects and answers with a stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None is the documented block

__version__ = "0.1.0"
"""The one place the version is written (pyproject.toml reads it from here)."""

if TYPE_CHECKING:
    from connector.api import arun_action, astream_action, run_action, stream_action
    from connector.envelope import Envelope
    from connector.playbook import PlaybookResult, arun_playbook, run_playbook

_HOMES = {
    "Envelope": "connector.envelope",
    "PlaybookResult": "connector.playbook",
    "arun_action": "connector.api",
    "astream_action": "connector.api",
    "arun_playbook": "connector.playbook",
    "run_action": "connector.api",
    "stream_action": "connector.api",
    "run_playbook": "connector.playbook",
}

__all__ = [
    "Envelope", "PlaybookResult", "__version__", "arun_action", "arun_playbook", "astream_action", "run_action",
    "run_playbook", "stream_action",
]


def __getattr__(name: str) -> Any:
    """The public API, imported from its module the first time it is asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
