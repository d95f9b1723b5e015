"""A busy or hostile caller never stalls the others: checks off the event loop, body type, time and drops."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from connector.playbook.expressions import MAX_EXPRESSION
from connector.sandbox import serving
from connector.server import ServerSettings, create_app
from tests.server.conftest import TOKEN

HANG_GUARD_S = 120
"""Only a guard against a hang: no assertion depends on how long anything takes."""

STALL_S = 1.0


def _large_playbook(steps: int) -> dict[str, object]:
    """A playbook of about 1 MB that takes the checks a while, refused at the end (a repeated step id)."""
    return {
        "name": "large",
        "inputs": {"type": "object", "properties": {"limit": {"type": "integer"}, "sev": {"type": "string"}}},
        "steps": [
            {
                "id": f"s{min(index, steps - 2)}",
                "action": "get-threats",
                "vendor": "sentinelone",
                "when": f"inputs.limit > `{index}`",
                "input": {"limit": "${{ inputs.limit }}", "severity": ["${{ inputs.sev }}"] * 20},
            }
            for index in range(steps)
        ],
    }


@pytest.fixture(scope="module")
def strict_url(connections: Path) -> Iterator[str]:
    """A server whose bodies must arrive within STALL_S and whose checks get no time at all."""
    settings = ServerSettings(token=TOKEN, config=connections, body_timeout=STALL_S, check_timeout=0)
    with serving(create_app(settings)) as url:
        yield url


def _raw(url: str, head: str, body: bytes) -> socket.socket:
    """A connection that has sent ``head`` (the request line and headers) and ``body``, nothing more."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=HANG_GUARD_S)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return sock


def _head(url: str, length: int) -> str:
    return (
        f"POST /v1/playbooks/run HTTP/1.1\nHost: {urlsplit(url).netloc}\nAuthorization: Bearer {TOKEN}\n"
        f"Content-Type: application/json\nContent-Length: {length}\n"
    )


def test_healthz_answers_while_a_large_playbook_is_checked(api_url: str, api: httpx.Client) -> None:
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(api.post("/v1/playbooks/run", json={"playbook": _large_playbook(1700)}))
    )
    sender.start()
    healthy = 0
    with httpx.Client(base_url=api_url, timeout=HANG_GUARD_S) as other:
        while sender.is_alive() and healthy < 3:
            assert other.get("/healthz").status_code == 200
            healthy += 1
    sender.join(HANG_GUARD_S)
    # Three health checks answered, one after the other, while the playbook was still being checked.
    assert healthy == 3
    assert answers[0].status_code == 400
    assert answers[0].json()["error"]["message"] == "step s1698: id: used by an earlier step (ids must be unique)"


def test_an_expression_over_the_length_limit_is_refused(api: httpx.Client) -> None:
    literal = "'" + "x" * MAX_EXPRESSION + "'"
    book = {"name": "long", "steps": [{"id": "a", "action": "get-threats", "vendor": "sentinelone",
                                        "input": {"limit": "${{ " + literal + " }}"}}]}
    answer = api.post("/v1/playbooks/run", json={"playbook": book})
    assert answer.status_code == 400
    assert f"longer than {MAX_EXPRESSION} characters" in answer.json()["error"]["message"]


def test_a_check_over_its_time_limit_is_refused_naming_it(strict_url: str) -> None:
    with httpx.Client(base_url=strict_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        answer = client.post("/v1/playbooks/run", json={"playbook": "s1-read"})
        assert answer.status_code == 400
        assert answer.json() == {"error": {"type": "bad_input", "message": (
            "request body: checking it took longer than 0 s (server limit); send less")}}
        assert client.get("/healthz").status_code == 200


def test_a_stalled_body_is_answered_408_and_closed(strict_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="connector.server")
    with _raw(strict_url, _head(strict_url, 100), b'{"playbook": ') as sock:
        received = b""
        while chunk := sock.recv(65536):  # to the end: the server closes the connection
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert orjson.loads(body) == {"error": {"type": "timeout", "message": (
        f"request body: not received within {STALL_S:g} s (server limit)")}}
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("connector.server")]
    assert lines == [f"request body: not received within {STALL_S:g} s; answered 408 and closed the connection"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_post_that_is_not_json_is_415(api: httpx.Client, content_type: str) -> None:
    answer = api.post("/v1/playbooks/run", content=b'{"playbook": "s1-read"}', headers={"Content-Type": content_type})
    assert answer.status_code == 415
    assert answer.json() == {"error": {"type": "unsupported_media_type", "message": (
        f"Content-Type: {content_type!r} is not 'application/json'")}}


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8", None])
def test_json_or_no_content_type_is_read(api: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = api.post("/v1/playbooks/run", content=b'{"playbook": "no-such-book"}', headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("body.playbook: no playbook 'no-such-book'")


def test_the_token_is_checked_before_the_content_type(anonymous: httpx.Client) -> None:
    answer = anonymous.post("/v1/playbooks/run", content=b"x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 401


def test_a_client_dropping_mid_body_is_not_an_internal_error(
    strict_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _raw(strict_url, _head(strict_url, 1000), b'{"playbook": ').close()
    deadline = time.monotonic() + HANG_GUARD_S
    went_away = "POST /v1/playbooks/run: the client went away before its body was read"
    while went_away not in caplog.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert went_away in caplog.messages
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING or record.exc_info]
    assert "internal error" not in caplog.text
