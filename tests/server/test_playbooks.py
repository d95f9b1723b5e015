"""Running playbooks over HTTP: by name from the playbooks folder, or inline; never from elsewhere."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from connector.server.app import NO_SANDBOX
from tests.server.conftest import S1_READ, S1_SECRET, TOKEN


def _check_read(answer: httpx.Response, count: int) -> None:
    assert answer.status_code == 200
    assert answer.headers["X-Connector-Exit-Code"] == "0"
    result = answer.json()
    assert (result["playbook"], result["status"]) == ("s1-read", "success")
    assert result["outputs"]["read"] == count
    assert len(result["outputs"]["uids"]) == count
    assert all(uid.startswith("sentinelone:") for uid in result["outputs"]["uids"])
    assert [step["id"] for step in result["steps"]] == ["threats"]
    assert result["steps"][0]["envelopes"][0]["connection"] == "sandbox"
    assert result["summary"]["runs"] == 1


def test_playbook_by_name(api: httpx.Client) -> None:
    _check_read(api.post("/v1/playbooks/run", json={"playbook": "s1-read", "input": {"limit": 3}}), 3)


def test_playbook_inline_answers_as_by_name(api: httpx.Client) -> None:
    inline = api.post("/v1/playbooks/run", json={"playbook": yaml.safe_load(S1_READ)})
    _check_read(inline, 2)
    by_name = api.post("/v1/playbooks/run", json={"playbook": "s1-read"})
    assert by_name.json()["outputs"] == inline.json()["outputs"]


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "sub/s1-read", "s1-read.yaml", ".hidden", ""])
def test_names_cannot_leave_the_playbooks_folder(api: httpx.Client, playbooks: Path, name: str) -> None:
    assert (playbooks.parent / "outside.yaml").is_file()
    answer = api.post("/v1/playbooks/run", json={"playbook": name})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "type": "bad_input",
            "message": f"body.playbook: {name!r} does not match '^[A-Za-z0-9][A-Za-z0-9_-]*$' (rule: pattern)",
        }
    }


def test_unknown_playbook_names_the_known_ones(api: httpx.Client, plain_api: httpx.Client) -> None:
    answer = api.post("/v1/playbooks/run", json={"playbook": "triage"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "body.playbook: no playbook 'triage' in the playbooks folder (known: s1-read)"
    )
    unserved = plain_api.post("/v1/playbooks/run", json={"playbook": "s1-read"})
    assert unserved.json()["error"]["message"] == (
        "body.playbook: no playbooks folder is served (connector serve --playbooks DIR); send it inline"
    )


def test_invalid_playbook_is_one_line_listing_each_problem(api: httpx.Client) -> None:
    document = yaml.safe_load(S1_READ)
    document["steps"][0]["action"] = "get-threatz"
    document["outputs"]["later"] = "steps.nowhere.output"
    answer = api.post("/v1/playbooks/run", json={"playbook": document, "input": {"limit": 0}})
    assert answer.status_code == 400
    assert answer.headers["X-Connector-Exit-Code"] == "2"
    assert answer.json()["error"] == {
        "type": "bad_input",
        "message": "step threats: action: 'get-threatz' is not known (see `connector list`); "
        "did you mean 'get-threats'?; "
        "outputs.later: steps.nowhere: no step 'nowhere' (steps: threats)",
    }


def test_playbook_inputs_are_checked(api: httpx.Client) -> None:
    answer = api.post("/v1/playbooks/run", json={"playbook": "s1-read", "input": {"limit": 0}})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "inputs.limit: 0 is less than the minimum of 1 (rule: minimum)"


def test_playbook_with_a_named_connection(plain_api: httpx.Client) -> None:
    document = yaml.safe_load(S1_READ)
    document["steps"][0]["connection"] = "s1"
    answer = plain_api.post("/v1/playbooks/run", json={"playbook": document})
    assert answer.status_code == 200
    assert answer.json()["steps"][0]["envelopes"][0]["connection"] == "s1"
    assert answer.json()["outputs"]["read"] == 2
    assert S1_SECRET not in answer.text and TOKEN not in answer.text


def test_sandbox_steps_need_a_served_sandbox(plain_api: httpx.Client) -> None:
    document = yaml.safe_load(S1_READ)
    document["steps"][0]["connection"] = "sandbox"
    answer = plain_api.post("/v1/playbooks/run", json={"playbook": document})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == NO_SANDBOX


def test_a_very_long_name_is_one_short_line(api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    name = "p" * 10_000
    answer = api.post("/v1/playbooks/run", json={"playbook": name})
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert message.startswith("body.playbook: 'ppppp") and message.endswith(
        "… (a string of 10000 characters) is too long (rule: maxLength)"
    )
    assert len(message) < 200
    assert name not in caplog.text


def test_a_deeply_nested_expression_is_a_400_naming_the_limit(api: httpx.Client) -> None:
    document = yaml.safe_load(S1_READ)
    document["outputs"]["deep"] = "(" * 3000 + "steps" + ")" * 3000
    answer = api.post("/v1/playbooks/run", json={"playbook": document})
    assert (answer.status_code, answer.headers["X-Connector-Exit-Code"]) == (400, "2")
    message = answer.json()["error"]["message"]
    assert message.startswith("outputs.deep: '((((") and message.endswith(": nested deeper than 64 levels")
