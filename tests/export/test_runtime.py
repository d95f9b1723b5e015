"""What the generated programs call, in-process: every refusal is one line in a result, never an exception."""

from __future__ import annotations

import pytest

from connector.export.cortex_runtime import analyze, respond, taxonomies
from connector.export.runtime import shuffle_action, shuffle_playbook


def test_a_bad_connection_is_a_config_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTOR_TOKEN", raising=False)
    bad_url = shuffle_action("test_connection", url="ftp://x", apikey="t", verify_tls="", vendor="nameshield",
                             values={})
    assert (bad_url["status"], bad_url["exit_code"], bad_url["success"]) == ("failed", 2, False)
    message = "connection 'shuffle': base_url: must be an http(s) URL with a host"
    assert bad_url["errors"] == [{"type": "config", "message": message, "item": None}]
    no_token = shuffle_action("test_connection", url="https://x", apikey="", verify_tls="", vendor="nameshield",
                              values={})
    assert no_token["errors"][0]["message"] == (
        "connection 'shuffle': token: missing (the platform's credential, or $CONNECTOR_TOKEN)"
    )
    dry = shuffle_action("add_threat_note", url="https://x", apikey="t", verify_tls="", vendor="sentinelone",
                         dry_run="perhaps", values={"ids": "1", "text": "n"})
    assert dry["errors"][0]["message"] == "input.dry_run: 'perhaps' is not true or false"


@pytest.mark.parametrize(
    ("playbook", "inputs", "message"),
    [
        ("steps: [", "", "playbook: not valid YAML"),
        ("- 1", "", "playbook: must be a playbook (YAML) or the path of a playbook file"),
        ("name: x\nsteps: []", "[1]", "inputs: must be a JSON object"),
    ],
)
def test_a_bad_playbook_is_one_line(playbook: str, inputs: str, message: str) -> None:
    result = shuffle_playbook(playbook, inputs=inputs)
    assert result == {"status": "failed", "errors": [message], "success": False, "exit_code": 2, "reason": message}


def test_cortex_refusals_are_error_lines() -> None:
    unknown = analyze({"service": "delete_incident", "vendor": "ciso_assistant"}, "other", "x")
    assert unknown == ({}, "config.service: 'delete_incident' at 'ciso_assistant' is not a connector flavor "
                           "(see the definitions)")
    config = {"service": "create_incident", "vendor": "ciso_assistant", "base_url": "https://x", "api_key": "k"}
    assert respond(config, "thehive:case", "not a case") == ({}, "data: expected the TheHive case object")
    assert respond(config, "thehive:case", {"title": "no id"}) == (
        {}, "data._id: missing (the case's id, which makes the incident's ref_id)")


def test_taxonomy_levels_follow_the_worst_severity() -> None:
    def level(*severities: str) -> str:
        report = {"vendor": "mysecutec", "threats": [{"severity": severity} for severity in severities]}
        return taxonomies(report)[0][0]

    assert [level(), level("unknown"), level("informational", "low"), level("medium"), level("low", "critical")] == [
        "safe", "info", "suspicious", "suspicious", "malicious"
    ]
