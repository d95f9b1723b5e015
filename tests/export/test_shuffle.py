"""The generated Shuffle app, run by shuffle-sdk: standalone, and as the HTTP service Shuffle's worker calls."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connector.sandbox import serving
from tests.export.conftest import BAD_TOKEN, TOKEN, direct, run_program

pytest.importorskip("shuffle_sdk", reason="shuffle-sdk is in the dev extra that `make install` installs")

MARKER = "===== Successful result From the Function (JSON: True) ====="
# Shuffle renders every parameter as a Liquid template: a playbook's ${{ }} expressions are kept raw.
PLAYBOOK = """{% raw %}
name: shuffle-read
inputs: {type: object, properties: {limit: {type: integer, default: 2}}}
steps:
  - id: threats
    action: get_threats
    vendor: mysecutec
    input: {limit: "${{ inputs.limit }}"}
outputs:
  uids: steps.threats.output.threats[].uid
{% endraw %}"""


def app_dir(exported: Path) -> Path:
    return exported / "shuffle" / "connector" / "0.1.0" / "src"


def standalone(exported: Path, action: str, token: str = TOKEN, **params: str) -> dict[str, Any]:
    """``python app.py --standalone --action=...``: the token from $CONNECTOR_TOKEN, never an argument."""
    args = ["app.py", "--standalone", f"--action={action}", *(f"--{name}={value}" for name, value in params.items())]
    done = run_program(args, app_dir(exported), env={"CONNECTOR_TOKEN": token})
    assert token not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert MARKER in done.stdout, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.split(MARKER, 1)[1])
    return result


def test_get_threats_standalone(exported: Path, sandbox_url: str) -> None:
    result = standalone(exported, "get_threats", url=f"{sandbox_url}/sentinelone", vendor="sentinelone",
                        limit="3", severity="high,medium")
    expected = direct("get_threats", {"limit": 3, "severity": ["high", "medium"]}, "sentinelone", sandbox_url)
    assert (result["status"], result["success"], result["exit_code"]) == ("success", True, 0)
    assert (result["vendor"], result["connection"]) == ("sentinelone", "shuffle")
    assert result["output"]["count"] == 3
    assert result["output"]["threats"] == expected["threats"]


def test_update_threat_status_standalone_dry_run_then_real(exported: Path, sandbox_url: str) -> None:
    url = f"{sandbox_url}/sentinelone"
    ids = [threat["vendor_id"] for threat in direct("get_threats", {"limit": 2, "status": ["new"]}, "sentinelone",
                                                      sandbox_url)["threats"]]
    planned = standalone(exported, "update_threat_status", url=url, vendor="sentinelone", ids=",".join(ids),
                         status="resolved", dry_run="true")
    assert (planned["status"], planned["meta"]["dry_run"]) == ("success", True)
    assert planned["output"]["planned_requests"][0]["method"] == "POST"
    assert planned["output"]["planned_requests"][0]["json"]["filter"]["ids"] == ids
    assert direct("get_threats", {"ids": ids}, "sentinelone", sandbox_url)["threats"][0]["status"] == "new"

    done = standalone(exported, "update_threat_status", url=url, vendor="sentinelone", ids=json.dumps(ids),
                      status="resolved")
    assert (done["status"], done["exit_code"]) == ("success", 0)
    assert sorted(done["output"]["succeeded"]) == sorted(ids)
    after = direct("get_threats", {"ids": ids}, "sentinelone", sandbox_url)["threats"]
    assert [threat["status"] for threat in after] == ["resolved", "resolved"]


def test_create_incident_standalone_is_idempotent(exported: Path, sandbox_url: str) -> None:
    params = {"url": f"{sandbox_url}/ciso_assistant", "name": "From Shuffle", "ref_id": "shuffle-standalone-1",
              "severity": "2"}
    first = standalone(exported, "create_incident", **params)
    again = standalone(exported, "create_incident", **params)
    assert (first["status"], first["output"]["existed"], again["output"]["existed"]) == ("success", False, True)
    assert first["output"]["incident"]["title"] == "From Shuffle"
    assert first["output"]["incident"]["severity"] == "high"
    assert again["output"]["incident"]["vendor_id"] == first["output"]["incident"]["vendor_id"]


def test_run_playbook_standalone(exported: Path, sandbox_url: str) -> None:
    result = standalone(exported, "run_playbook", playbook=PLAYBOOK, inputs='{"limit": 2}', sandbox_url=sandbox_url)
    expected = direct("get_threats", {"limit": 2}, "mysecutec", sandbox_url)
    assert (result["status"], result["success"], result["exit_code"]) == ("success", True, 0)
    assert result["outputs"]["uids"] == [threat["uid"] for threat in expected["threats"]]


def test_bad_token_and_bad_input_are_envelopes(exported: Path, sandbox_url: str) -> None:
    refused = standalone(exported, "get_threats", token=BAD_TOKEN, url=f"{sandbox_url}/sentinelone",
                         vendor="sentinelone", limit="1")
    assert (refused["status"], refused["success"], refused["exit_code"]) == ("failed", False, 1)
    assert refused["errors"][0]["type"] == "auth"
    assert refused["errors"][0]["message"].startswith("sentinelone: GET /web/api/v2.1/threats: 401")
    bad = standalone(exported, "get_threats", url=f"{sandbox_url}/sentinelone", vendor="sentinelone", limit="many")
    assert (bad["exit_code"], bad["errors"][0]["message"]) == (2, "input.limit: 'many' is not an integer")
    unknown = standalone(exported, "get_threats", url=f"{sandbox_url}/sentinelone", vendor="", limit="1")
    assert unknown["errors"][0]["message"] == "vendor: missing (one of sentinelone, mysecutec)"


class ShuffleBackend:
    """What the app talks to in Shuffle's HTTP mode: the execution it asks for, and where it posts the result."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.execution: dict[str, Any] = {}
        self.app = Starlette(routes=[
            Route("/api/v1/streams/results", self._full_execution, methods=["POST"]),
            Route("/api/v1/streams", self._stream, methods=["POST"]),
        ])

    async def _full_execution(self, request: Request) -> JSONResponse:
        return JSONResponse(self.execution)

    async def _stream(self, request: Request) -> JSONResponse:
        self.results.append(await request.json())
        return JSONResponse({"success": True})


@pytest.fixture(scope="module")
def shuffle_worker(exported: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """The app served as Shuffle runs it (SHUFFLE_SWARM_CONFIG=run), and a call posting as Shuffle's worker does."""
    backend = ShuffleBackend()
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if key != "CONNECTOR_TOKEN"}
    environment.update(SHUFFLE_SWARM_CONFIG="run", SHUFFLE_APP_EXPOSED_PORT=str(port))
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=app_dir(exported), env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    app_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(app_url, server)
        with serving(backend.app) as backend_url, httpx.Client(base_url=app_url, timeout=120) as client:
            def execute(action: str, **params: str) -> dict[str, Any]:
                """Post one execution request to /api/v1/run and read the result the app posted back."""
                step = {
                    "app_name": "connector", "app_version": "0.1.0", "name": action, "label": action,
                    "id": f"step-{action}", "environment": "Shuffle",
                    "parameters": [{"name": name, "value": value} for name, value in params.items()],
                }
                backend.execution = {
                    "execution_id": f"exec-{action}", "authorization": "exec-auth", "status": "EXECUTING",
                    "workflow": {"id": "wf", "actions": [step], "branches": [], "execution_org": {"id": "org"}},
                    "results": [], "execution_argument": "", "start": step["id"],
                }
                answer = client.post("/api/v1/run", json={
                    "action": step, "authorization": "exec-auth", "execution_id": f"exec-{action}",
                    "url": backend_url, "base_url": backend_url, "workflow_execution": backend.execution,
                })
                assert answer.json()["success"] is True, answer.text
                posted = backend.results.pop()
                assert posted["execution_id"] == f"exec-{action}"
                assert posted["status"] == "SUCCESS"
                logs = next(param["value"] for param in posted["action"]["parameters"]
                            if param["name"] == "shuffle_action_logs")
                for secret in (TOKEN, BAD_TOKEN):
                    assert secret not in posted["result"] and secret not in logs
                result: dict[str, Any] = json.loads(posted["result"])
                return result

            yield execute
    finally:
        server.terminate()
        errors = server.communicate(timeout=30)[1]
    assert TOKEN not in errors and BAD_TOKEN not in errors


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[str]) -> None:
    """Until the app's server answers its health check (or the process has died)."""
    for _ in range(600):
        if server.poll() is not None:
            pytest.fail(f"the Shuffle app exited: {server.stderr.read() if server.stderr else ''}")
        try:
            if httpx.get(f"{url}/api/v1/health").text == "OK":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail("the Shuffle app's server never answered /api/v1/health")


def test_http_mode_runs_actions_and_a_playbook(shuffle_worker: Callable[..., dict[str, Any]], sandbox_url: str) -> None:
    s1 = {"url": f"{sandbox_url}/sentinelone", "apikey": TOKEN, "verify_tls": "true"}
    threats = shuffle_worker("get_threats", **s1, vendor="sentinelone", limit="2", status="new")
    expected = direct("get_threats", {"limit": 2, "status": ["new"]}, "sentinelone", sandbox_url)
    assert (threats["status"], threats["exit_code"]) == ("success", 0)
    assert threats["output"]["threats"] == expected["threats"]

    ids = ",".join(threat["vendor_id"] for threat in expected["threats"])
    planned = shuffle_worker("update_threat_status", **s1, vendor="sentinelone", ids=ids, status="in_progress",
                             dry_run="true")
    assert (planned["meta"]["dry_run"], len(planned["output"]["planned_requests"])) == (True, 1)
    changed = shuffle_worker("update_threat_status", **s1, vendor="sentinelone", ids=ids, status="in_progress",
                             note="From Shuffle")
    assert changed["output"]["summary"]["total_successful"] == 2
    after = direct("get_threats", {"ids": ids.split(",")}, "sentinelone", sandbox_url)["threats"]
    assert {threat["status"] for threat in after} == {"in_progress"}

    incident = shuffle_worker("create_incident", url=f"{sandbox_url}/ciso_assistant", apikey=TOKEN,
                              name="From the worker", ref_id="shuffle-http-1", status="in_progress")
    assert (incident["output"]["existed"], incident["output"]["incident"]["status"]) == (False, "in_progress")

    result = shuffle_worker("run_playbook", **s1, playbook=PLAYBOOK, inputs='{"limit": 1}', sandbox_url=sandbox_url)
    assert (result["status"], len(result["outputs"]["uids"])) == ("success", 1)

    refused = shuffle_worker("get_threats", **{**s1, "apikey": BAD_TOKEN}, vendor="sentinelone", limit="1")
    assert (refused["status"], refused["exit_code"], refused["errors"][0]["type"]) == ("failed", 1, "auth")
