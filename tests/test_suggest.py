"""Did you mean: one close name offered for an unknown command, action, vendor, connection, key or value."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.api import arun_action
from connector.cli import cli
from connector.connections import find_connection, load_connections
from connector.errors import BadInput, ConfigError
from connector.plugins import Host
from connector.suggest import closest, did_you_mean


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("get-threat5", ["get_threat", "get_threats", "list_events"], "get_threats"),
        ("severty", ["severity", "limit", "since"], "severity"),
        ("SentinelOne", ["sentinelone", "mysecutec"], "sentinelone"),
        ("frobnicate", ["run", "list", "describe"], None),
        ("run", ["run", "list"], None),
    ],
)
def test_closest_offers_one_close_name_or_none(word: str, choices: list[str], expected: str | None) -> None:
    assert closest(word, choices) == expected


def test_did_you_mean_keeps_the_dashes_the_user_typed() -> None:
    assert did_you_mean("get-threat5", ["get_threats"], dashes=True) == "; did you mean 'get-threats'?"
    assert did_you_mean("get_threat5", ["get_threats"], dashes=True) == "; did you mean 'get_threats'?"
    assert did_you_mean("zzz", ["get_threats"]) == ""


def test_unknown_command_gets_a_suggestion() -> None:
    result = CliRunner().invoke(cli, ["rnu"])
    assert result.exit_code == 2
    assert "No such command 'rnu'; did you mean 'run'?" in result.output


def test_unknown_action_and_vendor_get_a_suggestion() -> None:
    host = Host(entry_points=False)
    with pytest.raises(BadInput) as action:
        host.action("get-threat5")
    assert action.value.message == (
        "action 'get-threat5' is not known (see `connector list`); did you mean 'get-threats'?"
    )
    with pytest.raises(BadInput) as vendor:
        host.vendor("SentinelOne")
    assert vendor.value.message.endswith("; did you mean 'sentinelone'?")


def test_input_key_and_enum_value_get_a_suggestion() -> None:
    typo_key = asyncio.run(arun_action("get_threats", {"severty": ["high"]}, sandbox=True))
    assert typo_key.errors[0].message == (
        "input: Additional properties are not allowed ('severty' was unexpected) (rule: additionalProperties); "
        "did you mean 'severity'?"
    )
    typo_value = asyncio.run(arun_action("get_threats", {"severity": ["hihg"]}, sandbox=True))
    assert typo_value.errors[0].message.endswith("(rule: enum); did you mean 'high'?")


def test_unknown_connection_gets_a_suggestion_and_vendor_case_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("connections:\n  s1prod:\n    vendor: SentinelOne\n    base_url: https://s1.example\n"
                    "    secret: env:S1_TOKEN\n")
    assert load_connections(path)["s1prod"].vendor == "sentinelone"
    with pytest.raises(ConfigError) as caught:
        find_connection("s1prd", path)
    assert caught.value.message == (
        f"connection 's1prd' is not defined in {path} (known: s1prod); did you mean 's1prod'?"
    )
