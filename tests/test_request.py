"""The run request: every surface takes every option that applies to it, by construction.

The table of surfaces and options (:data:`connector.request.SURFACES`) is checked here against
each surface as it is built: the flags of the CLI commands, the HTTP API's body schema, the
Python API's keywords, a playbook step's fields, the SOAR apps' parameters. Then one run shows
the flags arriving in the request the executor receives, and the README's table is the generated one.
"""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from connector.api import RunOptions
from connector.errors import BadInput
from connector.executor import InProcess
from connector.export.description import describe
from connector.export.shuffle import RESERVED
from connector.playbook.model import Step
from connector.request import OPTIONS, SURFACES, RunRequest, options_table
from connector.server.bodies import ACTION_RUN

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = [option.name for option in OPTIONS]
COMMANDS = {
    "connector run": "connector.cli.run:run",
    "connector submit (worker)": "connector.cli.jobs:submit",
    "connector watch": "connector.cli.watch:watch",
    "connector playbook run": "connector.cli.playbooks:playbook_run",
}
FLAGS = {
    "connection": {"--connection"}, "vendor": {"--vendor"}, "sandbox": {"--sandbox", "--sandbox-url"},
    "dry_run": {"--dry-run"}, "strict": {"--strict"}, "format": {"--format"}, "resume": {"--resume"},
    "output_file": {"--output-file"},
}


def applies(surface: str) -> set[str]:
    """The options ``surface`` takes, by the table."""
    return set(NAMES) - set(SURFACES[surface])


def command_flags(target: str) -> set[str]:
    module, attribute = target.split(":")
    command: click.Command = getattr(import_module(module), attribute)
    return {name for param in command.params for name in param.opts}


@pytest.mark.parametrize("surface", sorted(COMMANDS))
def test_each_command_has_the_flags_of_the_options_it_takes_and_no_others(surface: str) -> None:
    flags = command_flags(COMMANDS[surface])
    for name in NAMES:
        present = FLAGS[name] <= flags
        assert present == (name in applies(surface)), f"{surface}: {name} ({'present' if present else 'missing'})"


def test_the_http_api_body_is_a_run_request_less_what_serve_does_not_take() -> None:
    properties = set(ACTION_RUN.schema["properties"])
    assert properties & set(NAMES) == applies("connector serve")
    assert {"input", "run_id"} <= properties and "action" not in properties


def test_the_python_api_takes_every_option() -> None:
    assert applies("Python API") == set(NAMES) <= set(RunOptions.__annotations__)


def test_a_playbook_step_takes_its_options_as_fields() -> None:
    fields = set(Step.model_fields)
    assert {name for name in NAMES if name in fields} == applies("playbook step")


def test_the_shuffle_app_takes_vendor_dry_run_and_resume() -> None:
    actions = {action.name: {param.property for param in action.params} for action in describe().actions}
    assert {"vendor", "dry_run"} <= set(RESERVED)  # the app adds them to every action they apply to
    assert "resume" in actions["get_threats"]
    assert applies("Shuffle app") == {"vendor", "dry_run", "resume"}
    assert applies("Cortex analyzers and responders") == set()


def test_the_flags_arrive_in_the_request_the_executor_gets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[RunRequest] = []

    def capture(self: InProcess, request: RunRequest) -> Any:
        seen.append(request)
        raise BadInput("captured")

    monkeypatch.setattr(InProcess, "stream", capture)
    from connector.cli import cli

    out = tmp_path / "records.csv"
    result = CliRunner().invoke(cli, [
        "run", "get-threats", "--connection", "s1", "--vendor", "sentinelone", "--dry-run", "--strict",
        "--format", "csv", "--resume", '{"cursor": "c1"}', "--output-file", str(out), "--input", '{"limit": 2}',
    ])
    assert result.exit_code == 2, result.output
    assert seen[0].model_dump(exclude={"run_id"}) == {
        "action": "get-threats", "input": {"limit": 2}, "connection": "s1", "connections": {},
        "vendor": "sentinelone", "sandbox": False, "dry_run": True, "strict": True, "format": "csv",
        "resume": {"cursor": "c1"},
        "output_file": str(out),
    }


def test_a_request_travels_as_plain_json_and_back() -> None:
    request = RunRequest(action="get_threats", input={"limit": 1}, sandbox="http://127.0.0.1:9", strict=True)
    assert request.payload() == {"action": "get_threats", "input": {"limit": 1}, "sandbox": "http://127.0.0.1:9",
                                 "strict": True}
    assert RunRequest.from_payload(request.payload()) == request
    with pytest.raises(BadInput, match=r"^request\.strict: input should be a valid boolean"):
        RunRequest.from_payload({"action": "x", "strict": "maybe"})
    with pytest.raises(BadInput, match="connection and sandbox: give only one of them"):
        RunRequest(action="x", connection="s1", sandbox=True).checked()


def test_the_readme_shows_the_generated_table() -> None:
    shown = re.search(r"<!-- options table: generated -->\n(.*?)\n<!-- end of options table -->",
                      README.read_text(), re.S)
    assert shown is not None and shown.group(1) == options_table(), "paste connector.request.options_table()"


def test_an_output_file_that_is_no_regular_file_is_refused(tmp_path: Path) -> None:
    import os

    from connector.api import run_action

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path):
        envelope = run_action("get_threats", {"limit": 1}, sandbox="http://127.0.0.1:9", vendor="sentinelone",
                              output_file=str(target))
        assert envelope.exit_code == 2 and envelope.errors[0].message.startswith("output_file: "), envelope.errors
