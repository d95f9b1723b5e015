"""The generated Shuffle app, run by shuffle-sdk: standalone, and as the HTTP service Shuffle's worker calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
