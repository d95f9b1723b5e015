"""Running actions over HTTP: the envelope as the CLI prints it, statuses from exit codes, bodies checked."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import httpx
import orjson
import pytest
import yaml

from connector.api import run_action
from connector.catalog import manifest_path
from connector.server import app
from connector.server.app import NO_SANDBOX
from tests.server.conftest import S1_SECRET, TOKEN, WRONG_SECRET


def test_manifest_is_served_as_json(api: httpx.Client) -> None:
    answer = api.get("/v1/actions")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == yaml.safe_load(manifest_path().read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["get-threats", "get_threats"])
def test_get_threats_against_the_served_sandbox(api: httpx.Client, sandbox_url: str, name: str) -> None:
    wanted = {"severity": ["high"], "limit": 3}
    answer = api.post(f"/v1/actions/{name}/run", json={"connection": "sandbox", "input": wanted})
    assert answer.status_code == 200
    assert answer.headers["X-Connector-Exit-Code"] == "0"
    envelope = answer.json()
    assert (envelope["action"], envelope["vendor"], envelope["connection"]) == ("get_threats", "sentinelone", "sandbox")
    assert envelope["status"] == "success" and envelope["errors"] == []
    assert envelope["output"]["count"] == 3
    assert [threat["severity"] for threat in envelope["output"]["threats"]] == ["high", "high", "high"]
    assert envelope["meta"]["requests"] == 1
    direct = run_action("get_threats", wanted, connection="sandbox", sandbox=sandbox_url)
    assert envelope["output"] == direct.model_dump(mode="json")["output"]


def test_dry_run_and_partial_success(api: httpx.Client) -> None:
    threats = api.post("/v1/actions/get-threats/run", json={"connection": "sandbox", "input": {"limit": 1}}).json()
    real = threats["output"]["threats"][0]["vendor_id"]
    body = {"connection": "sandbox", "input": {"ids": [real, "123"], "status": "in_progress"}}
    planned = api.post("/v1/actions/update-threat-status/run", json={**body, "dry_run": True})
    assert planned.status_code == 200
    assert planned.json()["meta"]["dry_run"] is True
    assert planned.json()["output"]["planned_requests"][0]["method"] == "POST"
    partial = api.post("/v1/actions/update-threat-status/run", json=body)
    # Partial success is 200: the work was done; the status and the exit-code header say some items failed.
    assert partial.status_code == 200
    assert partial.headers["X-Connector-Exit-Code"] == "3"
    assert partial.json()["status"] == "partial"
    assert partial.json()["output"]["succeeded"] == [real]
    assert partial.json()["errors"] == [{"type": "not_found", "message": "no threat with this id", "item": "123"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # orjson's own words in the middle vary by release.
        (b"{bad", "body: not valid JSON: unexpected character.*: line 1 column 2 \\(char 1\\)"),
        *((body, re.escape(message)) for body, message in [
            (b"[1]", "body: expected a JSON object, got list"),
            (b"", "body: 'connection' is a required property (rule: required)"),
            (
                b'{"connection": "sandbox", "inputs": {}}',
                "body: Additional properties are not allowed ('inputs' was unexpected) (rule: additionalProperties); "
                "did you mean 'input'?",
            ),
            (b'{"connection": "sandbox", "dry_run": "yes"}',
             "body.dry_run: 'yes' is not of type 'boolean' (rule: type)"),
            (b'{"connection": "sandbox", "input": [1]}', "body.input: [1] is not of type 'object' (rule: type)"),
            (b'{"connection": ""}', "body.connection: '' should be non-empty (rule: minLength)"),
        ]),
    ],
)
def test_bad_bodies_are_one_line(api: httpx.Client, body: bytes, message: str) -> None:
    answer = api.post("/v1/actions/get-threats/run", content=body)
    assert answer.status_code == 400
    assert answer.headers["X-Connector-Exit-Code"] == "2"
    error = answer.json()["error"]
    assert error["type"] == "bad_input"
    assert re.fullmatch(message, error["message"]), error["message"]


@pytest.mark.parametrize(
    ("action", "given"),
    [
        ("get-threats", '{"limit": 0}'),
        ("get-threatz", "{}"),
    ],
)
def test_invalid_input_gives_the_cli_message(api: httpx.Client, action: str, given: str) -> None:
    answer = api.post(f"/v1/actions/{action}/run", content=f'{{"connection": "sandbox", "input": {given}}}')
    cli = subprocess.run(
        [sys.executable, "-m", "connector", "run", action, "--sandbox", "--input", given],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CONNECTOR_CONFIG": ""},
    )
    assert answer.status_code == 400 and cli.returncode == 2
    assert answer.headers["X-Connector-Exit-Code"] == "2"
    envelope = answer.json()
    assert envelope["status"] == "failed" and len(envelope["errors"]) == 1
    assert envelope["errors"][0]["type"] == "bad_input"
    assert f"connector: {envelope['errors'][0]['message']}" == cli.stderr.splitlines()[0]


def test_the_sandbox_connection_needs_a_served_sandbox(plain_api: httpx.Client) -> None:
    answer = plain_api.post("/v1/actions/get-threats/run", json={"connection": "sandbox"})
    assert answer.status_code == 400
    assert answer.json() == {"error": {"type": "bad_input", "message": NO_SANDBOX}}


def test_no_secret_in_any_answer(plain_api: httpx.Client) -> None:
    run = "/v1/actions/get-threats/run"
    answers = {
        "ok": plain_api.post(run, json={"connection": "s1", "input": {"limit": 2}}),
        "refused by the vendor": plain_api.post(run, json={"connection": "s1_wrong"}),
        "secret unset": plain_api.post(run, json={"connection": "s1_unset"}),
        "unknown connection": plain_api.post(run, json={"connection": "nope"}),
        "secrets in the input": plain_api.post(
            run, json={"connection": "s1", "input": {"since": f"{S1_SECRET} {WRONG_SECRET} {TOKEN}"}}
        ),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "ok": 200, "refused by the vendor": 502, "secret unset": 400, "unknown connection": 400,
        "secrets in the input": 400,
    }
    assert answers["ok"].json()["output"]["count"] == 2
    assert answers["refused by the vendor"].json()["errors"][0]["type"] == "auth"
    assert "SERVE_TEST_UNSET is missing or empty" in answers["secret unset"].json()["errors"][0]["message"]
    # Every secret read so far (the connections' and the API token) is masked, even in an echoed input.
    assert answers["secrets in the input"].json()["errors"][0]["message"] == (
        "input.since: '*** *** ***' is too long (rule: maxLength)"
    )
    for answer in answers.values():
        for secret in (S1_SECRET, WRONG_SECRET, TOKEN):
            assert secret not in answer.text


def test_a_bug_is_a_one_line_500(plain_api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object, **options: object) -> None:
        raise RuntimeError(f"a bug that mentions {TOKEN}")

    monkeypatch.setattr(app, "written_answer", broken)
    answer = plain_api.post("/v1/actions/get-threats/run", json={"connection": "s1"})
    assert answer.status_code == 500 and answer.headers["X-Connector-Exit-Code"] == "1"
    assert answer.json() == {"error": {"type": "internal", "message": (
        "internal error: RuntimeError: a bug that mentions *** (please report; -vv shows the traceback)"
    )}}


def test_a_bug_logs_its_traceback_only_at_debug_level(
    plain_api: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **options: object) -> None:
        raise KeyError("deep inside")

    monkeypatch.setattr(app, "written_answer", broken)
    with caplog.at_level(logging.DEBUG):
        answer = plain_api.post("/v1/actions/get-threats/run", json={"connection": "s1"})
    assert answer.status_code == 500
    loud = [record for record in caplog.records if record.levelno > logging.DEBUG and record.exc_info]
    quiet = [record for record in caplog.records if record.levelno == logging.DEBUG and record.exc_info]
    assert loud == [] and len(quiet) == 1 and isinstance(quiet[0].exc_info[1], KeyError)  # type: ignore[index]


def test_records_stream_as_ndjson_with_the_envelope_last(api: httpx.Client, sandbox_url: str) -> None:
    wanted = {"severity": ["high"], "limit": 4}
    headers = {"Accept": "application/x-ndjson"}
    with api.stream("POST", "/v1/actions/get-threats/run", json={"connection": "sandbox", "input": wanted},
                    headers=headers) as answer:
        assert (answer.status_code, answer.headers["Content-Type"]) == (200, "application/x-ndjson")
        lines = [orjson.loads(line) for line in answer.iter_lines() if line]
    *records, envelope = lines
    direct = run_action("get_threats", wanted, connection="sandbox", sandbox=sandbox_url)
    assert records == direct.output["threats"]
    assert (envelope["status"], envelope["output"], envelope["meta"]["records"]) == (
        "success", {"threats": [], "count": 4, "total": direct.output["total"]}, 4)


def test_an_ndjson_request_refused_before_any_record_is_answered_whole(api: httpx.Client) -> None:
    answer = api.post("/v1/actions/get-threats/run", json={"connection": "sandbox", "input": {"limit": 0}},
                      headers={"Accept": "application/x-ndjson"})
    assert (answer.status_code, answer.headers["Content-Type"], answer.headers["X-Connector-Exit-Code"]) == (
        400, "application/json", "2")
    assert answer.json()["errors"][0]["message"].startswith("input.limit: 0 is less than the minimum of 1")
