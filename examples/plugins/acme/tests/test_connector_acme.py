"""Acme's bindings, run by connector against an in-memory Acme (no network, no account)."""

from __future__ import annotations

import connector_acme
import httpx
import pytest

from connector import run_action
from connector.connections import Connection
from connector.plugins import Host


def fake_acme(request: httpx.Request) -> httpx.Response:
    """Acme's API as its documentation shows it: a token, alerts, ping."""
    if request.headers.get("authorization") != "Bearer acme-token":
        return httpx.Response(401, json={"error": "bad token"})
    if request.url.path == "/alerts":
        return httpx.Response(200, json={"alerts": [{"id": "a1", "name": "Beacon", "sev": "sev1"}]})
    return httpx.Response(200, json={"pong": request.url.params["echo"]})


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What run_action needs to reach the fake Acme through the plugin."""
    monkeypatch.setenv("ACME_TOKEN", "acme-token")
    connection = Connection(name="acme", vendor="acme", base_url="https://acme.example", secret="env:ACME_TOKEN")
    return {"connection": connection, "host": Host([connector_acme], entry_points=False),
            "transport": httpx.MockTransport(fake_acme)}


def test_get_threats_maps_alerts(acme: dict[str, object]) -> None:
    envelope = run_action("get_threats", {}, **acme)  # type: ignore[arg-type]
    assert envelope.status == "success", envelope.errors
    assert (envelope.output["threats"][0]["uid"], envelope.output["threats"][0]["severity"]) == ("acme:a1", "critical")


def test_ping_echoes(acme: dict[str, object]) -> None:
    assert run_action("acme_ping", {"echo": "hi"}, **acme).output == {"pong": "hi"}  # type: ignore[arg-type]


def test_test_connection_says_which_check_failed(acme: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_action("test_connection", {}, **acme).output["ok"] is True  # type: ignore[arg-type]
    monkeypatch.setenv("ACME_TOKEN", "wrong-token")
    refused = run_action("test_connection", {}, **acme)  # type: ignore[arg-type]
    assert refused.exit_code == 1
    assert [check["ok"] for check in refused.output["checks"]] == [True, False, False]
