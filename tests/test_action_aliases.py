"""One name for an id: single-object actions take ``id``; an older name declared in the action file
(``threat_id``) is accepted, with one deprecation line (CLI) or one InputDeprecation warning (Python)."""

from __future__ import annotations

import json
import warnings

import pytest

from connector.actions import aliased_input
from connector.api import run_action
from connector.deprecations import InputDeprecation
from connector.errors import BadInput
from connector.playbook import load_checked
from connector.plugins import default_host
from tests.cli.test_cli import connector

HOST = default_host()
SINGLE_OBJECT = ("get_threat", "get_threat_logs", "update_threat", "get_threat_notes", "get_event", "get_incident",
                 "update_incident", "delete_incident")
RENAMED = ("get_threat", "get_threat_logs", "update_threat")


@pytest.mark.parametrize("action", SINGLE_OBJECT)
def test_every_single_object_action_names_its_object_id(action: str) -> None:
    schema = HOST.schemas.get(HOST.action(action).input)
    assert "id" in schema["required"] and "id" in schema["properties"]
    assert not [name for name in schema["properties"] if name.endswith("_id")], "no second way to name it"


def test_only_the_renamed_actions_declare_the_old_name() -> None:
    declared = {spec.name: dict(spec.aliases) for spec in HOST.actions.values() if spec.aliases}
    assert declared == {name: {"threat_id": "id"} for name in RENAMED}


def test_the_alias_is_renamed_by_a_pure_function() -> None:
    spec = HOST.action("get_threat")
    given = {"threat_id": "42", "include_raw": True}
    renamed, messages = aliased_input(spec, given)
    assert renamed == {"id": "42", "include_raw": True}
    assert messages == ["get_threat: input.threat_id is deprecated, use id"]
    assert given == {"threat_id": "42", "include_raw": True}, "the caller's input is left as it was"
    plain = {"id": "42"}
    assert aliased_input(spec, plain) == (plain, [])
    assert aliased_input(HOST.action("get_incident"), {"threat_id": "x"}) == ({"threat_id": "x"}, [])
    with pytest.raises(BadInput, match=r"^input\.threat_id: a deprecated name of id; give id only$"):
        aliased_input(spec, {"threat_id": "1", "id": "1"})


def _first_threat(vendor: str) -> str:
    envelope = run_action("get_threats", {"limit": 1}, sandbox=True, vendor=vendor)
    uid: str = envelope.output["threats"][0]["vendor_id"]
    return uid


def test_the_python_api_accepts_the_old_name_with_one_deprecation_warning() -> None:
    threat = _first_threat("mysecutec")
    with pytest.warns(InputDeprecation, match=r"^get_threat: input\.threat_id is deprecated, use id$") as caught:
        envelope = run_action("get_threat", {"threat_id": threat}, sandbox=True, vendor="mysecutec")
    assert envelope.status == "success" and envelope.output["threat"]["vendor_id"] == threat
    assert [str(w.message) for w in caught if issubclass(w.category, InputDeprecation)] == [
        "get_threat: input.threat_id is deprecated, use id"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_action("get_threat", {"id": threat}, sandbox=True, vendor="mysecutec").status == "success"


def test_the_cli_says_it_in_one_line_on_stderr() -> None:
    threat = _first_threat("sentinelone")
    old = connector("run", "get-threat", "--sandbox", "--vendor", "sentinelone", "--no-progress",
                    "--input", json.dumps({"threat_id": threat}))
    assert old.returncode == 0, old.stderr
    assert json.loads(old.stdout)["output"]["threat"]["vendor_id"] == threat
    lines = old.stderr.splitlines()
    assert lines[0] == "connector: get_threat: input.threat_id is deprecated, use id"
    assert [line for line in lines if "deprecated" in line] == lines[:1] and lines[1].startswith(
        "connector: get_threat via sentinelone (sandbox): success"), "one line, then the run's summary"
    both = connector("run", "get-threat", "--sandbox", "--vendor", "sentinelone", "--no-progress",
                     "--input", json.dumps({"threat_id": threat, "id": threat}))
    assert both.returncode == 2
    assert json.loads(both.stdout)["errors"][0]["message"] == "input.threat_id: a deprecated name of id; give id only"


def test_a_playbook_step_may_still_use_the_old_name() -> None:
    book = {"name": "old names", "steps": [
        {"id": "one", "action": "get_threat", "vendor": "mysecutec", "input": {"threat_id": "t-1"}},
        {"id": "logs", "action": "get_threat_logs", "vendor": "mysecutec",
         "input": {"threat_id": "${{ steps.one.output.threat.vendor_id }}"}},
    ]}
    compiled, _ = load_checked(book, HOST, sandbox=True)
    assert [step.id for step in compiled.playbook.steps] == ["one", "logs"]
