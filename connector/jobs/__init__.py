"""Actions, playbooks and watches as Celery tasks on Redis: many workers instead of one event loop.

    app.py       the Celery app for a broker URL (acks late, time-outs, result TTL)
    tasks.py     what a worker runs: one action, or one whole playbook
    handles.py   submit_action / submit_playbook / job: a Job with state() and get(timeout)
    markers.py   a job's marker: its kind and owner, expiring with its result
    limits.py    a connection's rate limit shared by every process through Redis
    reserved.py  a worker's tasks kept invisible to other workers while they run
    refused.py   messages a worker cannot run, kept in a dead-letter list instead of stopping it
    playbook.py  a playbook's steps (a for_each as a Celery group) sent to the workers
    watch.py     a watch's items handed to the workers, each committed once its task succeeded
    local.py     a redis-server and workers as child processes (trying it out, tests, benchmarks)

Names are imported from their module when first asked for: the HTTP layer reaches the limiter
without loading Celery.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.errors import BrokerUnavailable, JobTimeout
    from connector.jobs.app import BROKER_ENV, broker_url
    from connector.jobs.handles import Job, job, submit_action, submit_playbook

_HOMES = {
    "BROKER_ENV": "connector.jobs.app",
    "broker_url": "connector.jobs.app",
    "BrokerUnavailable": "connector.errors",
    "Job": "connector.jobs.handles",
    "JobTimeout": "connector.errors",
    "job": "connector.jobs.handles",
    "submit_action": "connector.jobs.handles",
    "submit_playbook": "connector.jobs.handles",
}

__all__ = ["BROKER_ENV", "BrokerUnavailable", "Job", "JobTimeout", "broker_url", "job", "submit_action",
           "submit_playbook"]


def __getattr__(name: str) -> Any:
    """The package's names, imported from their module when first asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module 'connector.jobs' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
