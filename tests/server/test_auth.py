"""Bearer-token authentication: /healthz is open, every other route (known or not) needs the token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from connector import __version__
from connector.errors import ConfigError
from connector.server.auth import TOKEN_ENV, load_token
from tests.server.conftest import TOKEN

ROUTES = [
    ("GET", "/v1/actions"),
    ("POST", "/v1/actions/get-threats/run"),
    ("POST", "/v1/playbooks/run"),
    ("GET", "/v1/no-such-route"),
]


def test_healthz_needs_no_token(anonymous: httpx.Client) -> None:
    answer = anonymous.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "version": __version__}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_other_route_needs_the_token(anonymous: httpx.Client, method: str, path: str) -> None:
    answer = anonymous.request(method, path, json={"connection": "sandbox"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="connector"'
    assert answer.json() == {
        "error": {
            "type": "unauthorized",
            "message": "authorization: a bearer token is required (Authorization: Bearer <token>)",
        }
    }


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer prÉsented-wrong-token-é", f"Basic {TOKEN}", "Bearer"],
)
def test_a_wrong_token_is_refused_and_never_echoed(
    anonymous: httpx.Client, method: str, path: str, header: str
) -> None:
    answer = anonymous.request(method, path, headers={"Authorization": header.encode()}, json={})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert answer.json()["error"]["type"] == "unauthorized"
    presented = header.partition(" ")[2]
    assert not presented or presented not in answer.text
    assert TOKEN not in answer.text


def test_the_token_opens_every_route(api: httpx.Client) -> None:
    assert api.get("/v1/actions").status_code == 200
    missing = api.get("/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"type": "not_found", "message": "GET /v1/no-such-route: Not Found"}}
    wrong_method = api.get("/v1/playbooks/run")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "method_not_allowed"


def test_token_from_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, " from-the-environment-0123 \n")
    assert load_token(None) == "from-the-environment-0123"
    token_file = tmp_path / "token"
    token_file.write_text("from-the-file-0123456789\n")
    assert load_token(token_file) == "from-the-file-0123456789"


@pytest.mark.parametrize(
    ("env", "file_text", "message"),
    [
        ("", None, "serve: no API token: set $CONNECTOR_SERVE_TOKEN or give --token-file PATH"),
        ("short-token", None, "$CONNECTOR_SERVE_TOKEN: the token must be at least 16 characters long"),
        ("long-enough-environment-token", "", "serve: no API token"),
        ("", "tiny", "the token must be at least 16 characters long"),
    ],
)
def test_missing_or_short_tokens_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, file_text: str | None, message: str
) -> None:
    monkeypatch.setenv(TOKEN_ENV, env)
    token_file = None
    if file_text is not None:
        token_file = tmp_path / "token"
        token_file.write_text(file_text)
    with pytest.raises(ConfigError) as refused:
        load_token(token_file)
    assert message in refused.value.message
    assert not env or env not in refused.value.message


def test_an_unreadable_token_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_token(tmp_path / "absent")
    assert refused.value.message == f"--token-file {tmp_path / 'absent'}: cannot read it: No such file or directory"
