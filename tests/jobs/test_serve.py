"""`connector serve --broker`: POST answers 202 and a job id, GET /v1/jobs/ID the answer, same auth."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.jobs.executor import Workers
from connector.sandbox import serving
from connector.server import ServerSettings, create_app
from connector.server.answers import EXIT_CODE_HEADER
from tests.jobs.conftest import StartWorkers

TOKEN = "jobs-serve-test-token-0123456789"
ONE_STEP = {
    "name": "one-read",
    "steps": [{"id": "threats", "action": "get_threats", "connection": "s1", "input": {"limit": 2}}],
    "outputs": {"read": "steps.threats.output.count"},
}


@pytest.fixture
def api(broker: str, connections: Path) -> Iterator[httpx.Client]:
    settings = ServerSettings(token=TOKEN, executor=Workers(broker), config=connections)
    with serving(create_app(settings)) as url, httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as client:
        yield client


def _done(api: httpx.Client, href: str) -> httpx.Response:
    """GET the job until it is no longer 202 (the test's own deadline bounds a job that never ends)."""
    deadline = time.monotonic() + 60
    while (answer := api.get(href)).status_code == 202:
        assert answer.json()["state"] in ("pending", "running")
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.05)
    return answer


def test_an_action_is_queued_then_read_back(api: httpx.Client, workers: StartWorkers) -> None:
    workers(1, concurrency=2)
    accepted = api.post("/v1/actions/get_threats/run", json={"connection": "s1", "input": {"limit": 3}})
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["state"] == "pending"
    assert body["href"] == accepted.headers["Location"] == f"/v1/jobs/{body['job']}"
    answer = _done(api, body["href"])
    assert answer.status_code == 200
    assert answer.headers[EXIT_CODE_HEADER] == "0"
    envelope = answer.json()
    assert (envelope["status"], envelope["connection"], envelope["output"]["count"]) == ("success", "s1", 3)


def test_a_failed_run_keeps_its_http_status(api: httpx.Client, workers: StartWorkers) -> None:
    workers(1, concurrency=1)
    accepted = api.post("/v1/actions/get_threats/run", json={"connection": "nowhere"})
    answer = _done(api, accepted.json()["href"])
    assert (answer.status_code, answer.headers[EXIT_CODE_HEADER]) == (400, "2")
    assert "connection 'nowhere' is not defined" in answer.json()["errors"][0]["message"]


def test_a_playbook_is_queued_then_read_back(api: httpx.Client, workers: StartWorkers) -> None:
    workers(1, concurrency=1)
    accepted = api.post("/v1/playbooks/run", json={"playbook": ONE_STEP})
    assert accepted.status_code == 202
    answer = _done(api, accepted.json()["href"])
    assert answer.status_code == 200
    result = answer.json()
    assert (result["playbook"], result["status"], result["outputs"]) == ("one-read", "success", {"read": 2})


def test_what_cannot_run_is_refused_before_queueing(api: httpx.Client) -> None:
    invalid = {**ONE_STEP, "steps": [{"id": "x", "action": "no_such_action", "connection": "s1"}]}
    refused = api.post("/v1/playbooks/run", json={"playbook": invalid})
    assert refused.status_code == 400
    assert "no_such_action" in refused.json()["error"]["message"]
    bad_body = api.post("/v1/actions/get_threats/run", json={"input": {}})
    assert bad_body.status_code == 400


def test_jobs_need_the_token_and_unknown_ones_are_404(api: httpx.Client) -> None:
    assert httpx.get(f"{api.base_url}/v1/jobs/anything").status_code == 401
    unknown = api.get("/v1/jobs/no-such-job")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"


def test_a_job_answers_only_the_token_that_queued_it(
    api: httpx.Client, broker: str, connections: Path, workers: StartWorkers,
) -> None:
    workers(1, concurrency=1)
    href = api.post("/v1/actions/get_threats/run", json={"connection": "s1", "input": {"limit": 1}}).json()["href"]
    assert _done(api, href).status_code == 200
    other = "jobs-serve-other-token-0123456789"
    with serving(create_app(ServerSettings(token=other, executor=Workers(broker), config=connections))) as url:
        answer = httpx.get(f"{url}{href}", headers={"Authorization": f"Bearer {other}"}, timeout=60)
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "not_found"
    assert _done(api, href).status_code == 200


def test_without_a_broker_there_are_no_jobs(connections: Path) -> None:
    with serving(create_app(ServerSettings(token=TOKEN, config=connections))) as url:
        answer = httpx.get(f"{url}/v1/jobs/x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 404
    assert "no --broker" in answer.json()["error"]["message"]
