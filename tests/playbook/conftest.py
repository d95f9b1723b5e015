"""The playbook tests' world: the acme test plugin's host, connections and files in a temporary folder."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import connector_acme as acme
import httpx
import pytest

from connector.playbook import PlaybookInvalid, PlaybookResult, arun_playbook, load_checked
from connector.plugins import Host

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AcmeApi:
    """Acme behind a mock transport: alerts to list; pings that echo, fail ("fail...") or take
    ``<digits>`` hundredths of a second, with the most pings ever in flight at once."""

    alerts: list[dict[str, Any]] = field(default_factory=lambda: [
        {"id": "a1", "name": "Beacon", "sev": "sev1"}, {"id": "a2", "name": "Dropper", "sev": "sev2"},
    ])
    pings: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/alerts":
            return httpx.Response(200, json={"alerts": self.alerts})
        echo = request.url.params["echo"]
        self.pings.append(echo)
        if echo.startswith("fail"):
            return httpx.Response(400, json={"detail": "no such word"})
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(int("0" + "".join(filter(str.isdigit, echo))) / 100)
        self.in_flight -= 1
        self.finished.append(echo)
        return httpx.Response(200, json={"pong": echo})


@dataclass
class World:
    host: Host
    config: Path
    api: AcmeApi

    def play(self, steps: list[dict[str, Any]], values: dict[str, Any] | None = None, **book: Any) -> PlaybookResult:
        """Run a playbook of ``steps`` (``book`` adds inputs, outputs...) with input ``values``."""
        options = {key: book.pop(key) for key in ("concurrency", "dry_run") if key in book}
        document = {"name": "test", "steps": steps, **book}
        return asyncio.run(arun_playbook(
            document, values, host=self.host, config=self.config, transport=httpx.MockTransport(self.api), **options,
        ))

    def problems(self, steps: list[dict[str, Any]], *, sandbox: bool = False, **book: Any) -> list[str]:
        with pytest.raises(PlaybookInvalid) as caught:
            load_checked({"name": "test", "steps": steps, **book}, self.host, config=self.config, sandbox=sandbox)
        return caught.value.problems


@pytest.fixture(scope="module")
def acme_host() -> Host:
    return Host([acme], entry_points=False)


@pytest.fixture
def world(acme_host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("ACME_TOKEN", "acme-secret-value")
    config = tmp_path / "connections.yaml"
    config.write_text(
        "connections:\n  acme1: {vendor: acme, base_url: 'https://acme.example', secret: 'env:ACME_TOKEN'}\n"
    )
    return World(acme_host, config, AcmeApi())


def alerts(**extra: Any) -> dict[str, Any]:
    return {"id": "alerts", "action": "get_threats", "connection": "acme1", **extra}


def ping(step_id: str, echo: Any, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "acme_ping", "connection": "acme1", "input": {"echo": echo}, **extra}
