"""The SentinelOne simulator's tests: readers and writers on fresh simulators, every seeded threat, shared checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from connector.sandbox.sentinelone import create_app

TOKEN = "s1-test-token"
AUTH = {"Authorization": f"ApiToken {TOKEN}"}
THREATS = "/web/api/v2.1/threats"
SIZE = 150
Threat = dict[str, Any]


class Client:
    """Synchronous requests to an in-process ASGI app (httpx.ASGITransport, one event loop per request)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = AUTH) -> None:
        self.app, self.headers = app, headers

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Send one request and return its (fully read) answer."""

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://sandbox", headers=self.headers
            ) as c:
                return await c.request(method, path, **options)

        return asyncio.run(send())

    def get(self, path: str, **options: Any) -> httpx.Response:
        """GET ``path``."""
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        """POST to ``path``."""
        return self.request("POST", path, **options)


def new_client(size: int = SIZE, seed: int = 7, **options: Any) -> Client:
    return Client(
        create_app(seed=seed, size=size, token=TOKEN, rate_limit=options.pop("rate_limit", False), **options)
    )


@pytest.fixture(scope="module")
def reader() -> Client:
    """A simulator shared by the read-only tests (none of them changes state)."""
    return new_client()


@pytest.fixture
def writer() -> Client:
    """A fresh simulator for tests that change threats."""
    return new_client()


@pytest.fixture(scope="module")
def everything(reader: Client) -> list[Threat]:
    """Every threat of ``reader``, in the default order."""
    return walk_all(reader, limit=1000)


def walk_all(
    client: Client, after_page: Callable[[list[Threat]], None] | None = None, **params: Any
) -> list[Threat]:
    """Follow nextCursor to the end; ``after_page(page)`` runs between pages (to change state mid-walk)."""
    found: list[Threat] = []
    cursor = None
    while True:
        answer = client.get(THREATS, params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["data"]
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            assert b'"nextCursor":null' in answer.content
            return found
        if after_page:
            after_page(body["data"])


def ids_of(client: Client, **params: Any) -> list[str]:
    answer = client.get(THREATS, params={"limit": 1000, **params})
    assert answer.status_code == 200, answer.text
    return [threat["id"] for threat in answer.json()["data"]]


def validation_error(answer: Any) -> str:
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["code"] == 4000010 and error["title"] == "Validation Error"
    return str(error["detail"])


def info_of(threat: Threat, key: str) -> Any:
    return threat["threatInfo"][key]


def expect(everything: list[Threat], keep: Callable[[Threat], bool]) -> list[str]:
    return [t["id"] for t in everything if keep(t)]
