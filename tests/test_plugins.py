"""The plugin host: built-ins, a third-party plugin from tests/, entry points, loud failures."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import connector_acme as acme
import httpx
import pytest

from connector import hookspecs
from connector.api import arun_action
from connector.catalog import ENTRY_POINT_GROUP
from connector.connections import Connection
from connector.errors import ConfigError
from connector.plugins import DEFAULT_PLUGINS, Host
from tests.plugins import misspelled


def acme_transport(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == "Bearer acme-secret-value"
    if request.url.path == "/alerts":
        return httpx.Response(200, json={"alerts": [{"id": "a1", "name": "Beacon", "sev": "sev1"}]})
    return httpx.Response(200, json={"pong": request.url.params["echo"]})


@pytest.fixture
def acme_connection(monkeypatch: pytest.MonkeyPatch) -> Connection:
    monkeypatch.setenv("ACME_TOKEN", "acme-secret-value")
    return Connection(name="acme1", vendor="acme", base_url="https://acme.example", secret="env:ACME_TOKEN")


def test_builtin_plugins_register_sentinelone_and_get_threats() -> None:
    host = Host(entry_points=False)
    assert "sentinelone" in host.vendors
    assert "sentinelone" in host.action("get-threats").vendors
    assert set(DEFAULT_PLUGINS) <= {name for name, _ in host.pm.list_name_plugin()}


def test_third_party_plugin_adds_vendor_binding_and_action(acme_connection: Connection) -> None:
    host = Host([acme], entry_points=False)
    assert host.action("get_threats").vendors["acme"].endpoints == ["GET /alerts"]
    transport = httpx.MockTransport(acme_transport)

    threats = asyncio.run(arun_action("get_threats", {}, connection=acme_connection, host=host, transport=transport))
    assert threats.status == "success", threats.errors
    assert threats.output["threats"][0]["uid"] == "acme:a1"
    assert threats.output["threats"][0]["severity"] == "critical"

    pong = asyncio.run(
        arun_action("acme-ping", {"echo": "hi"}, connection=acme_connection, host=host, transport=transport)
    )
    assert (pong.status, pong.vendor, pong.output) == ("success", "acme", {"pong": "hi"})

    invalid = asyncio.run(arun_action("acme_ping", {}, connection=acme_connection, host=host, transport=transport))
    assert invalid.exit_code == 2
    assert invalid.errors[0].message == "input: 'echo' is a required property (rule: required)"


def test_plugin_arrives_through_the_entry_point_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "acme_connector-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-connector\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = connector_acme\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "acme" in Host().vendors
    monkeypatch.setenv("CONNECTOR_LOAD_PLUGINS", "")
    assert "acme" not in Host().vendors


def test_misspelled_hook_fails_loudly() -> None:
    with pytest.raises(ConfigError, match="unknown hook 'register_vendor'"):
        Host([misspelled], entry_points=False)


def test_every_hook_is_documented() -> None:
    hooks = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "connector_spec")]
    assert len(hooks) >= 10
    for hook in hooks:
        assert hook.__doc__ and hook.__doc__.strip(), f"hook {hook.__name__} has no docstring"


def test_a_plugin_that_fails_to_import_is_named_and_the_others_keep_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dist = tmp_path / "mixed_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mixed-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nbroken = tests.plugins.no_such_module\nacme = connector_acme\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level("WARNING", logger="connector.plugins"):
        host = Host()
    assert "acme" in host.vendors and "acme_ping" in host.actions
    assert host.broken == {"broken": "plugin broken (tests.plugins.no_such_module) failed to import, left out: "
                                     "ModuleNotFoundError: No module named 'tests.plugins.no_such_module'"}
    assert [record.getMessage() for record in caplog.records] == [host.broken["broken"]]
