"""The Nameshield CTI simulator's tests: the seeded events, a client on a fresh simulator, shape checks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.sandbox.nameshield import create_app, generate_events

SEED = 1101
SIZE = 400
TOKEN = "ns-sandbox-token"
OWN, SUBSIDIARIES, STRANGER = 42, (43, 44), 7
EVENTS = generate_events(SEED, SIZE)


class Api:
    """Synchronous calls into one simulator app over httpx's in-memory ASGI transport (no sockets)."""

    def __init__(self, **app_options: Any) -> None:
        options = {"seed": SEED, "size": SIZE, "token": TOKEN, "rate_limit": False, **app_options}
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=create_app(**options))
        self._client = httpx.AsyncClient(transport=transport, base_url="http://sandbox")

    def request(
        self, method: str, path: str, token: str | None = TOKEN, headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with ``Authorization: Bearer <token>`` (none when ``token`` is None) plus ``headers``."""
        auth = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self._runner.run(self._client.request(method, path, headers=auth | (headers or {}), **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    client = Api()
    yield client
    client.close()


def of_customers(*customers: int) -> list[dict[str, Any]]:
    """Events of these customers in the default order: date, then id."""
    return sorted((e for e in EVENTS if e["customer_id"] in customers), key=lambda e: (e["date"], e["id"]))


def ids(response: httpx.Response) -> list[str]:
    """Ids of the events in a v2 page or a v1 search answer."""
    data = response.json()["data"]
    return [event["id"] for event in (data["results"] if isinstance(data, dict) else data)]


def assert_error(response: httpx.Response, status: int, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "data"} and body["data"] is None
    assert mentions in body["message"]
