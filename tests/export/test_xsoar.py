"""The generated XSOAR pack: every command run by its script with ``demisto`` provided as XSOAR's unit tests do."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_mock import MockerFixture

from connector.export import export
from connector.export.description import describe
from connector.export.examples import example
from connector.export.xsoar import command_name
from tests.export.conftest import BAD_TOKEN, TOKEN, direct

ROOT = Path(__file__).resolve().parents[2]
MOCK = Path(__file__).resolve().parent / "xsoar"
DEMISTO_SDK = Path(os.environ.get("CONNECTOR_DEMISTO_SDK", ROOT / ".venv-xsoar" / "bin" / "demisto-sdk"))
Run = Callable[..., Any]


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack as `connector export xsoar` writes it, inside a content-repository layout (Packs/Connector)."""
    root = tmp_path_factory.mktemp("content")
    export("xsoar", root / "Packs" / "Connector")
    return root


@pytest.fixture
def integration(pack: Path, mocker: MockerFixture) -> Iterator[Run]:
    """The integration's script imported next to ``demistomock``, and a call running one command through main()."""
    folder = pack / "Packs" / "Connector" / "Integrations" / "Connector"
    sys.path[:0] = [str(MOCK), str(folder)]
    demisto = importlib.import_module("demistomock")
    script = importlib.import_module("Connector")

    def run(command: str, params: dict[str, Any], **args: str) -> Any:
        mocker.patch.object(demisto, "command", return_value=command)
        mocker.patch.object(demisto, "params", return_value=params)
        mocker.patch.object(demisto, "args", return_value=args)
        results = mocker.patch.object(demisto, "results")
        script.main()
        assert results.call_count == 1
        return results.call_args[0][0]

    try:
        yield run
    finally:
        sys.path[:2] = []
        for name in ("demistomock", "Connector"):
            sys.modules.pop(name, None)


def instance(sandbox_url: str, vendor: str, token: str = TOKEN) -> dict[str, Any]:
    """The instance's parameters as XSOAR hands them over: the token inside the credentials field."""
    return {"url": f"{sandbox_url}/{vendor}", "credentials": {"identifier": "", "password": token},
            "vendor": vendor, "insecure": False}


ALTERNATIVES = {"create_incident": ("name",), "update_incident": ("status",), "update_threat": ("note",),
                "update_threat_status": ("status",)}
"""Arguments an action needs one of (its schema says so with anyOf), not each."""


def test_every_command_runs_against_the_sandbox(integration: Run, sandbox_url: str) -> None:
    for action in describe().actions:
        vendor = action.vendors[0]
        args = {param.name: example(action, param) for param in action.params
                if param.required or param.name in ALTERNATIVES.get(action.name, ())}
        if action.mutates:
            args["dry_run"] = "true"
        entry = integration(command_name(action.name), instance(sandbox_url, vendor), **args)
        assert entry["Type"] == 1, (action.name, entry)
        envelope = entry["Contents"]
        assert (envelope["action"], envelope["vendor"], envelope["status"]) == (action.name, vendor, "success")
        assert envelope["meta"]["dry_run"] is action.mutates
        context = entry["EntryContext"][f"Connector.{''.join(part.capitalize() for part in action.name.split('_'))}"]
        assert context == envelope["output"]
        assert TOKEN not in str(entry)


def test_a_read_and_a_change_give_the_action_s_values(integration: Run, sandbox_url: str) -> None:
    params = instance(sandbox_url, "sentinelone")
    entry = integration("connector-get-threats", params, limit="3", severity="high,medium", status="new")
    expected = direct("get_threats", {"limit": 3, "severity": ["high", "medium"], "status": ["new"]}, "sentinelone",
                      sandbox_url)
    assert entry["Contents"]["output"]["threats"] == expected["threats"]
    assert entry["HumanReadable"].splitlines()[:4] == [
        "### GetThreats at sentinelone: success", "", "| uid | title | severity | status | created_at |",
        "| --- | --- | --- | --- | --- |",
    ]
    assert expected["threats"][0]["uid"] in entry["HumanReadable"].splitlines()[4]
    ids = [threat["vendor_id"] for threat in expected["threats"][:2]]
    changed = integration("connector-update-threat-status", params, ids=",".join(ids), status="in_progress")
    assert changed["Contents"]["output"]["summary"]["total_successful"] == 2
    after = direct("get_threats", {"ids": ids}, "sentinelone", sandbox_url)["threats"]
    assert {threat["status"] for threat in after} == {"in_progress"}


def test_test_module_and_refusals_are_xsoar_entries(integration: Run, sandbox_url: str) -> None:
    assert integration("test-module", instance(sandbox_url, "nameshield")) == "ok"
    refused = integration("test-module", instance(sandbox_url, "nameshield", BAD_TOKEN))
    assert (refused["Type"], refused["Contents"]) == (
        4, "authentication: nameshield: GET /cti/v2/events: 401 Unauthorized: Unauthorized")
    assert BAD_TOKEN not in refused["Contents"]
    bad = integration("connector-get-threats", instance(sandbox_url, "sentinelone"), limit="many")
    assert bad == {"Type": 4, "ContentsFormat": "text", "Contents": "input.limit: 'many' is not an integer"}
    wrong_vendor = integration("connector-list-incidents", instance(sandbox_url, "sentinelone"))
    assert wrong_vendor["Contents"] == (
        "params.vendor: 'sentinelone' does not run list_incidents (one of ciso_assistant)")
    unknown = integration("connector-get-threats", instance(sandbox_url, "sentinelone"), colour="red")
    assert unknown["Contents"] == "args.colour: not an argument of connector-get-threats"


def test_commands_arguments_and_outputs_come_from_the_schemas(pack: Path) -> None:
    folder = pack / "Packs" / "Connector"
    definition = yaml.safe_load((folder / "Integrations" / "Connector" / "Connector.yml").read_text())
    commands = {command["name"]: command for command in definition["script"]["commands"]}
    assert sorted(commands) == sorted(command_name(action.name) for action in describe().actions)
    threats = commands["connector-get-threats"]
    arguments = {argument["name"]: argument for argument in threats["arguments"]}
    assert arguments["severity"]["isArray"] is True
    assert arguments["limit"]["description"].endswith("Example: 10")
    outputs = {output["contextPath"]: output["type"] for output in threats["outputs"]}
    assert outputs["Connector.GetThreats.count"] == "Number"
    assert outputs["Connector.GetThreats.threats.uid"] == "String"
    assert outputs["Connector.GetThreats.threats.first_seen"] == "Date"
    update = commands["connector-update-threat-status"]
    assert update["execution"] is True
    status = next(argument for argument in update["arguments"] if argument["name"] == "status")
    assert (status["auto"], status["predefined"][:2]) == ("PREDEFINED", ["new", "in_progress"])
    assert [argument["name"] for argument in update["arguments"]][-1] == "dry_run"


@pytest.mark.skipif(not DEMISTO_SDK.exists(), reason="demisto-sdk's own venv (.venv-xsoar) is made by `make install`")
def test_demisto_sdk_validate_passes_offline(pack: Path) -> None:
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "pack"]):
        subprocess.run(command, cwd=pack, check=True)
    environment = {**os.environ, "DEMISTO_SDK_IGNORE_CONTENT_WARNING": "true", "DEMISTO_SDK_SKIP_VERSION_CHECK": "1"}
    done = subprocess.run([str(DEMISTO_SDK), "validate", "-i", "Packs/Connector"], cwd=pack, env=environment,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All validations passed." in done.stdout + done.stderr
    shutil.rmtree(pack / ".git")
