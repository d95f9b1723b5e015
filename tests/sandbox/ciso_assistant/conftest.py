"""The CISO Assistant simulator's tests: a fresh simulator on a fake clock, its folders and relations, shared checks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from connector.sandbox.ciso_assistant import create_app
from connector.sandbox.common import ANCHOR

SEED = 2024
SIZE = 150
TOKEN = "ciso-sandbox-token"
MISSING_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
SEVERITY_VALUES = {"Critical": 1, "Major": 2, "Moderate": 3, "Minor": 4, "Low": 5, "unknown": 6}


class FakeClock:
    """A settable ``time.time`` stand-in, starting at common.ANCHOR."""

    def __init__(self) -> None:
        self.now = ANCHOR.timestamp()

    def __call__(self) -> float:
        return self.now


class Client:
    """Synchronous calls into one app through httpx's in-memory ASGI transport."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, *, token: str | None = TOKEN, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Token {token}"} if token is not None else {}
        headers.update(kwargs.pop("headers", {}))

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
                return await client.request(method, url, headers=headers, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def everything(self, **params: Any) -> list[dict[str, Any]]:
        """Every incident (read shape) in the default order."""
        answer = self.get("/api/incidents/", params={"limit": 1000, **params})
        assert answer.status_code == 200
        results: list[dict[str, Any]] = answer.json()["results"]
        return results


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Client:
    return Client(create_app(seed=SEED, size=SIZE, token=TOKEN, rate_limit=False, clock=clock))


@pytest.fixture
def refs(api: Client) -> dict[str, list[str]]:
    """Ids of the seeded related objects, by field, gathered from the records."""
    found: dict[str, list[str]] = {}
    for record in api.everything():
        for field in ("owners", "assets", "threats", "qualifications", "entities", "filtering_labels"):
            for ref in record[field]:
                found.setdefault(field, [])
                if ref["id"] not in found[field]:
                    found[field].append(ref["id"])
        found.setdefault("folder", [])
        if record["folder"]["id"] not in found["folder"]:
            found["folder"].append(record["folder"]["id"])
    return found


def ids_of(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


def full_body(refs: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "name": "Ransomware outbreak on file servers",
        "description": "Encrypted shares on FS-01.",
        "ref_id": "SOAR-42",
        "status": "ongoing",
        "severity": 2,
        "reported_at": "2026-10-30T08:15:00Z",
        "occurred_at": "2026-10-30T07:00:00Z",
        "detection": "externally_detected",
        "link": "https://tickets.example.com/browse/SEC-1",
        "is_published": True,
        "folder": refs["folder"][1],
        "filtering_labels": refs["filtering_labels"][:1],
        "threats": refs["threats"][:2],
        "owners": refs["owners"][:2],
        "assets": refs["assets"][:1],
        "qualifications": refs["qualifications"][:3],
        "entities": refs["entities"][:1],
    }
