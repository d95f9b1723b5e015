"""A worker killed with SIGKILL mid-task: another worker completes the task, and a create is not doubled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.api import run_action
from connector.jobs import submit_action
from connector.sandbox import SandboxConfig, build_app, serving
from tests.jobs.conftest import SECRETS, StartWorkers
from tests.jobs.support import Arrivals, wait_until

CREATE = ("POST", "/ciso_assistant/api/incidents/")
REF_ID = "kill-test-1"


@pytest.fixture
def slow_ciso() -> Iterator[tuple[str, Arrivals]]:
    """CISO Assistant answering each request after a second: long enough to kill a worker mid-request."""
    arrivals = Arrivals(build_app(SandboxConfig(rate_limits=False, vendors=("ciso_assistant",), latency_s=1.0)))
    with serving(arrivals) as url:
        yield url, arrivals


def test_a_killed_workers_task_completes_elsewhere_without_a_duplicate(
    broker: str, workers: StartWorkers, slow_ciso: tuple[str, Arrivals], tmp_path: Path,
) -> None:
    url, arrivals = slow_ciso
    config = tmp_path / "ciso.yaml"
    config.write_text(f"""
connections:
  ciso:
    vendor: ciso_assistant
    base_url: {url}/ciso_assistant
    secret: env:JOBS_CISO_TOKEN
""")
    (first,) = workers(1, concurrency=1, config=config, visibility_timeout="2s")
    job = submit_action("create_incident", {"name": "Killed mid-create", "ref_id": REF_ID}, connection="ciso",
                        broker=broker)
    # The look-up by ref_id came back empty and the create is on its way: the worst moment to die.
    wait_until(lambda: arrivals.count(*CREATE) == 1, "the create reaching the sandbox")
    first.kill()
    assert job.state() == "running", "a killed worker acknowledged nothing"
    workers(1, concurrency=1, config=config, visibility_timeout="2s")
    envelope = job.get(timeout=60)
    assert (envelope.status, envelope.exit_code) == ("success", 0), envelope.errors
    assert envelope.output["ref_id"] == REF_ID
    # The dead worker's create never landed (the sandbox reads a body only after its latency, and
    # the connection was gone by then): the second worker's look-up found nothing and created it.
    assert envelope.output["existed"] is False
    assert arrivals.count(*CREATE) == 2
    # Delivered once more (at least once: a worker dying after the create landed would do this),
    # the task finds the incident instead of opening a second one.
    again = submit_action("create_incident", {"name": "Killed mid-create", "ref_id": REF_ID}, connection="ciso",
                          broker=broker).get(timeout=60)
    assert (again.status, again.output["existed"]) == ("success", True)
    assert arrivals.count(*CREATE) == 2
    listed = run_action("list_incidents", {"include_raw": True}, vendor="ciso_assistant", sandbox=url)
    assert [incident["raw"]["ref_id"] for incident in listed.output["incidents"]].count(REF_ID) == 1
    assert SECRETS["JOBS_CISO_TOKEN"] not in first.text()
