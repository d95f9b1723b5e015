"""The MySecutec TAM simulator's tests: the seeded threats, a client on a fresh simulator, shape checks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from connector.sandbox.common import ANCHOR
from connector.sandbox.mysecutec import create_app
from connector.sandbox.mysecutec.data import build_threats

SEED = 2024
SIZE = 300
TOKEN = "tam-sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = ANCHOR + timedelta(days=20)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
STORED = build_threats(SEED, SIZE)
LIVE = [threat.record for threat in STORED if not threat.deleted]
DELETED = [threat.record for threat in STORED if threat.deleted]


def module_of(record: dict[str, Any]) -> str:
    """The license module of a threat."""
    return str(record["tech_solution"]["license_module_slug"])


class Client:
    """Synchronous calls into one ASGI app over httpx's in-memory transport (no sockets)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = AUTH) -> None:
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=headers)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, run to completion."""
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET ``url``."""
        return self.request("GET", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """PATCH ``url``."""
        return self.request("PATCH", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST ``url``."""
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """DELETE ``url``."""
        return self.request("DELETE", url, **kwargs)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


def make_client(headers: dict[str, str] = AUTH, **options: Any) -> Client:
    """A client of a fresh simulator (state is per app), authenticated unless told otherwise."""
    settings: dict[str, Any] = {"seed": SEED, "size": SIZE, "token": TOKEN, "rate_limit": False,
                                "now": lambda: NOW, **options}
    return Client(create_app(**settings), headers)


@pytest.fixture
def client() -> Iterator[Client]:
    """A fresh simulator with the suite's seed and size and no rate limit."""
    with make_client() as test_client:
        yield test_client


def ids(answer: dict[str, Any]) -> list[str]:
    """The threat ids of a list answer, in order."""
    return [threat["id"] for threat in answer["threats"]]


def everything(client: Client, query: str = "") -> dict[str, Any]:
    """The whole filtered list in one page."""
    response = client.get(f"/tam/v1/threats/?limit=1000&{query}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The MySecutec error body with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def fresh_unsolved() -> dict[str, Any]:
    return next(r for r in LIVE if r["user_status"] is None and r["system_status"] == "unsolved"
                and r["note"] is None and r["unsolved_annotation_note"] is None)
