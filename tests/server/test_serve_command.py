"""``connector serve`` as a process: starts, answers, stops on SIGTERM with exit 0; bad options are one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connector.errors import BadInput
from connector.server.auth import TOKEN_ENV
from connector.server.listen import Bind, parse_bind
from tests.server.conftest import TOKEN

CONNECTOR = [sys.executable, "-m", "connector"]
ANNOUNCE = "connector: serving on "


def _environment(token: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != TOKEN_ENV}
    env["CONNECTOR_CONFIG"] = ""
    if token is not None:
        env[TOKEN_ENV] = token
    return env


@pytest.mark.parametrize("token_from", ["env", "file"])
def test_serve_starts_answers_and_stops_on_sigterm(tmp_path: Path, token_from: str) -> None:
    args = [*CONNECTOR, "serve", "--bind", "127.0.0.1:0"]
    if token_from == "file":
        (tmp_path / "token").write_text(TOKEN + "\n")
        args += ["--token-file", str(tmp_path / "token")]
    server = subprocess.Popen(
        args, stderr=subprocess.PIPE, text=True, env=_environment(TOKEN if token_from == "env" else None)
    )
    try:
        assert server.stderr is not None
        first = server.stderr.readline()
        assert first.startswith(ANNOUNCE), first
        url = first.removeprefix(ANNOUNCE).strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        health = httpx.get(f"{url}/healthz", timeout=30)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        actions = httpx.get(f"{url}/v1/actions", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert actions.status_code == 200 and actions.json()["name"] == "connector"
        server.send_signal(signal.SIGTERM)
        _, rest = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0
    assert "Traceback" not in rest
    assert rest.splitlines()[-1] == "connector: stopped"
    assert TOKEN not in first + rest


@pytest.mark.parametrize(
    ("args", "token", "expected"),
    [
        ([], None, "connector: serve: no API token: set $CONNECTOR_SERVE_TOKEN or give --token-file PATH"),
        ([], "too-short", "connector: $CONNECTOR_SERVE_TOKEN: the token must be at least 16 characters long"),
        (["--bind", "nonsense"], TOKEN, "connector: --bind: 'nonsense' is not HOST:PORT like 127.0.0.1:8080"),
        (
            ["--bind", "0.0.0.0:0"],
            TOKEN,
            "connector: --bind 0.0.0.0: plain http off loopback is refused (give --tls-cert and --tls-key",
        ),
        (["--tls-cert", __file__], TOKEN, "connector: --tls-cert and --tls-key: give both or neither"),
        (["--max-body", "12XB"], TOKEN, "connector: --max-body: '12XB' is not a size like 1MiB, 64KiB or 2048"),
        (
            ["--bind", "no-such-host.invalid:0", "--tls-cert", __file__, "--tls-key", __file__],
            TOKEN,
            "connector: --bind no-such-host.invalid:0: cannot listen: ",
        ),
        (
            ["--bind", "127.0.0.1:0", "--tls-cert", __file__, "--tls-key", __file__],
            TOKEN,
            "connector: --tls-cert/--tls-key: cannot load them: ",
        ),
        (["--token", TOKEN], TOKEN, "connector: No such option"),  # click words the rest by release
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], token: str | None, expected: str) -> None:
    result = subprocess.run(
        [*CONNECTOR, "serve", *args], capture_output=True, text=True, timeout=120, env=_environment(token)
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(expected), result.stderr
    assert TOKEN not in result.stderr


def test_a_busy_port_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*CONNECTOR, "serve", "--bind", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=120, env=_environment(TOKEN),
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"connector: --bind 127.0.0.1:{port}: cannot listen: Address already in use"]


@pytest.mark.parametrize(
    ("text", "bind", "loopback", "url"),
    [
        ("127.0.0.1:8080", Bind("127.0.0.1", 8080), True, "http://127.0.0.1:8080"),
        ("localhost:0", Bind("localhost", 0), True, "http://localhost:8081"),
        ("[::1]:9000", Bind("::1", 9000), True, "http://[::1]:9000"),
        ("10.0.0.5:443", Bind("10.0.0.5", 443), False, "https://10.0.0.5:443"),
    ],
)
def test_parse_bind(text: str, bind: Bind, loopback: bool, url: str) -> None:
    parsed = parse_bind(text)
    assert parsed == bind
    assert parsed.loopback is loopback
    assert parsed.url(bind.port or 8081, tls=not loopback) == url


@pytest.mark.parametrize("text", ["127.0.0.1:99999", "127.0.0.1", ":8080", "127.0.0.1:80/x", "user@host:80", "h:x"])
def test_parse_bind_refuses_what_is_not_host_port(text: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse_bind(text)
    assert refused.value.message == f"--bind: {text!r} is not HOST:PORT like 127.0.0.1:8080 (port 0 to 65535)"
