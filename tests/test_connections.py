"""Connections: the file format, secret references and transport safety, each error one line."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from connector import run_action
from connector.connections import Connection, find_connection, load_connections, sandbox_connection
from connector.errors import ConfigError
from connector.redaction import Redactor, redactor


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
connections:
  s1:
    vendor: sentinelone
    base_url: https://usea1.sentinelone.net/
    secret: env:S1_TOKEN
    timeout: {connect: 3, read: 10}
    rate_limit: {requests: 5, per_seconds: 1}
""",
    )
    s1 = load_connections(path)["s1"]
    assert (s1.vendor, s1.base_url, s1.timeout.read, s1.rate_limit and s1.rate_limit.requests) == (
        "sentinelone",
        "https://usea1.sentinelone.net",
        10.0,
        5.0,
    )
    assert s1.verify_tls is True and s1.allow_insecure is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "connections:\n  s1:\n    vendor: sentinelone\n    base_url: ftp://x\n    secret: env:A\n",
            "config: connections.s1.base_url: must be an http(s) URL with a host",
        ),
        (
            "connections:\n  s1:\n    vendor: sentinelone\n    base_url: https://x\n    secret: hunter2\n",
            "config: connections.s1.secret: must be a reference, env:NAME, file:PATH or keyring:SERVICE/NAME "
            "(never the secret itself)",
        ),
        (
            "connections:\n  s1:\n    vendor: sentinelone\n    base_url: https://x\n"
            "    secret: env:A\n    colour: red\n",
            "config: connections.s1.colour: Extra inputs are not permitted",
        ),
        (
            "connections:\n  s1:\n    base_url: https://x\n    secret: env:A\n",
            "config: connections.s1.vendor: Field required",
        ),
        ("connections: [1, 2]\n", "expected a mapping with a 'connections' mapping"),
        ("connections:\n  s1: [\n", "line 3: not valid YAML"),
    ],
)
def test_bad_files_name_the_field(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        find_connection("s1", write(tmp_path, body))
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_connections(tmp_path / "nope.yaml")


def test_secrets_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_A", "env-secret-123")
    secret_file = tmp_path / "token"
    secret_file.write_text("file-secret-456\n")
    from_env = Connection(name="a", vendor="sentinelone", base_url="https://x", secret="env:TOKEN_A")
    from_file = Connection(name="b", vendor="sentinelone", base_url="https://x", secret=f"file:{secret_file}")
    assert from_env.token() == "env-secret-123"
    assert from_file.token() == "file-secret-456"
    assert redactor.redact("x env-secret-123 file-secret-456") == "x *** ***"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_or_empty_secret(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("TOKEN_B", raising=False)
    else:
        monkeypatch.setenv("TOKEN_B", value)
    connection = Connection(name="b", vendor="sentinelone", base_url="https://x", secret="env:TOKEN_B")
    with pytest.raises(ConfigError, match="connection 'b': secret: environment variable TOKEN_B is missing or empty"):
        connection.token()


def test_unreadable_secret_file(tmp_path: Path) -> None:
    connection = Connection(name="c", vendor="sentinelone", base_url="https://x", secret=f"file:{tmp_path}/none")
    with pytest.raises(ConfigError, match="secret: cannot read"):
        connection.token()


@pytest.mark.parametrize(
    ("url", "insecure", "refused"),
    [
        ("http://s1.example.com", False, True),
        ("http://s1.example.com", True, False),
        ("http://127.0.0.1:8800", False, False),
        ("http://localhost:8800", False, False),
        ("http://[::1]:8800", False, False),
        ("https://s1.example.com", False, False),
    ],
)
def test_plain_http_only_to_loopback(url: str, insecure: bool, refused: bool) -> None:
    connection = Connection(name="s", vendor="sentinelone", base_url=url, secret="env:X", allow_insecure=insecure)
    if refused:
        with pytest.raises(ConfigError, match="plain http to a non-loopback host is refused"):
            connection.check_transport_security()
    else:
        connection.check_transport_security()


def test_sandbox_connection_points_at_the_vendor_mount() -> None:
    connection = sandbox_connection("nameshield", "http://127.0.0.1:1234", "sandbox-token")
    assert connection.base_url == "http://127.0.0.1:1234/nameshield"
    assert connection.token() == "sandbox-token"


def test_a_logged_traceback_is_redacted_too() -> None:
    redactor.add("trace-secret-789")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    try:
        raise RuntimeError("the vendor said trace-secret-789 is wrong")
    except RuntimeError:
        log.exception("failed with trace-secret-789")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "trace-secret-789" not in written
    # (Other tests in this process may have registered more secrets: only the start of each line is certain.)
    assert "failed with ***" in written and "RuntimeError: the vendor said ***" in written


def test_a_secret_containing_another_is_masked_whole() -> None:
    # A redactor of its own: "nest" in the process-wide one would mask "nested" in every later test's output.
    fresh = Redactor()
    fresh.add("nest")
    fresh.add("nested-secret-0042")
    assert fresh.redact("token=nested-secret-0042 and nest") == "token=*** and ***"


def test_the_built_in_sandbox_connection_sends_the_token_the_sandbox_accepts() -> None:
    # Written on both sides on purpose: the sandbox imports nothing from the client, and the
    # client does not load the simulators to run against a sandbox URL.
    from connector.connections import SANDBOX_TOKEN
    from connector.sandbox import SandboxConfig

    assert SandboxConfig().token == SANDBOX_TOKEN


def test_a_token_handed_over_in_memory_is_read_and_never_shown() -> None:
    connection = Connection.with_token("mem-secret-789", name="shuffle", vendor="sentinelone", base_url="https://x/")
    assert connection.secret == "memory:shuffle"
    assert connection.base_url == "https://x"
    assert "mem-secret-789" not in repr(connection)
    assert "mem-secret-789" not in str(connection.model_dump())
    assert connection.token() == "mem-secret-789"
    assert redactor.redact("a mem-secret-789 b") == "a *** b"


def test_an_in_memory_connection_checks_its_fields_and_token() -> None:
    with pytest.raises(ConfigError, match=r"^connection 'c': base_url: must be an http\(s\) URL with a host$"):
        Connection.with_token("t", name="c", vendor="sentinelone", base_url="ftp://x")
    empty = Connection.with_token("  ", name="c", vendor="sentinelone", base_url="https://x")
    with pytest.raises(ConfigError, match="connection 'c': secret: the token handed over is missing or empty"):
        empty.token()


def test_a_connections_file_cannot_use_the_memory_scheme(tmp_path: Path) -> None:
    body = "connections:\n  s1:\n    vendor: sentinelone\n    base_url: https://x\n    secret: memory:s1\n"
    with pytest.raises(ConfigError, match=r"connections\.s1\.secret: must be a reference"):
        find_connection("s1", write(tmp_path, body))


CONNECTION = "connections:\n  a:\n    vendor: sentinelone\n    secret: env:A\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    base_url: https://x.example:99999\n", "connections.a.base_url: the port is not a number from 0 to 65535"),
        ("    base_url: https://u:pw-0042@x.example\n", "connections.a.base_url: must not hold user:password@"),
        ("    base_url: https://x.example\n    name: other\n", "connections.a.name: not a setting"),
        ("    base_url: https://x.example\n    1: 2\n", "connections.a.1: Keys should be strings"),
        ("    base_url: https://x.example\n    verify_tls: /no/such/ca.pem\n", "CA bundle /no/such/ca.pem is not"),
        ("    base_url: https://x.example\n    proxy: ftp://p:1\n", "proxy: scheme 'ftp' is not one of http"),
        ("    base_url: https://x.example\n    proxy: http://p:99999\n", "proxy: the port is not a number"),
    ],
)
def test_settings_httpx_would_choke_on_are_refused_when_read(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        find_connection("a", write(tmp_path, CONNECTION + extra))
    assert message in caught.value.message
    assert "pw-0042" not in caught.value.message


def test_a_socks_proxy_without_its_extra_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"proxy: a socks5 proxy needs the socksio package"):
        find_connection("a", write(tmp_path, CONNECTION + "    base_url: https://x\n    proxy: socks5://p:1080\n"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"connections: {a: \xff}\n", "config: connections.yaml is not UTF-8 text (byte 17)"),
        (b"connections: " + b"[" * 3000 + b"]" * 3000, "nested deeper than 64 levels"),
        (b"connections: " + b"[" * 70 + b"]" * 70, "nested deeper than 64 levels"),
    ],
)
def test_undecodable_or_too_deep_files_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "connections.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_connections(path)
    assert message in caught.value.message.replace(str(tmp_path) + "/", "")


def test_an_unreadable_default_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "connector"
    (folder / "connections.yaml").mkdir(parents=True)  # exists, but cannot be read as a file
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    monkeypatch.setattr("platformdirs.user_config_dir", lambda name: str(tmp_path / name))
    with pytest.raises(ConfigError, match=r"config: cannot read .*connections.yaml: Is a directory"):
        load_connections()


@pytest.mark.parametrize(
    ("value", "origin"),
    [("first-half-0042\nsecond-half-0042", "environment variable"), ("tök-0042-secret", "environment variable")],
)
def test_a_secret_with_a_control_or_non_ascii_character_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, origin: str
) -> None:
    monkeypatch.setenv("TOKEN_CTRL", value)
    connection = Connection(name="c", vendor="sentinelone", base_url="https://x", secret="env:TOKEN_CTRL")
    with pytest.raises(ConfigError) as caught:
        connection.token()
    assert caught.value.message == (
        f"connection 'c': secret: {origin} TOKEN_CTRL holds a control or non-ASCII character "
        "(a token is one line of printable ASCII)"
    )


def test_a_two_line_secret_file_is_refused_and_never_shown(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("line-one-0042\nline-two-0042\n")
    connection = Connection(name="c", vendor="sentinelone", base_url="https://x", secret=f"file:{secret_file}")
    with pytest.raises(ConfigError, match="holds a control or non-ASCII character"):
        connection.token()
    assert redactor.redact("said line-two-0042") == "said ***"


def test_an_undecodable_secret_file_is_one_line(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_bytes(b"ab\xffcd")
    connection = Connection(name="c", vendor="sentinelone", base_url="https://x", secret=f"file:{secret_file}")
    with pytest.raises(ConfigError, match=r"connection 'c': secret: .*token is not UTF-8 text \(byte 2\)"):
        connection.token()


def test_a_missing_connection_names_the_file_that_was_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, CONNECTION + "    base_url: https://x.example\n")
    with pytest.raises(ConfigError) as caught:
        find_connection("b", path)
    assert caught.value.message == f"connection 'b' is not defined in {path} (known: a)"
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    monkeypatch.setattr("platformdirs.user_config_dir", lambda name: str(tmp_path / "nowhere" / name))
    with pytest.raises(ConfigError) as caught:
        find_connection("s1")
    assert caught.value.message == (
        f"connection 's1' is not defined: no connections file at {tmp_path}/nowhere/connector/connections.yaml "
        "(give --config FILE or set CONNECTOR_CONFIG)"
    )


def test_an_unknown_vendor_is_said_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A", "token-0042-abcd")
    path = write(tmp_path, "connections:\n  cs: {vendor: crowdstrike, base_url: 'https://x', secret: 'env:A'}\n")
    envelope = run_action("get_threats", {}, connection="cs", config=path)
    assert [(error.type, error.message) for error in envelope.errors] == [(
        "bad_input", "vendor 'crowdstrike' is not known (known: ciso_assistant, mysecutec, nameshield, sentinelone)"
    )]
    assert envelope.exit_code == 2


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict, as the system keyring would keep them."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


def test_a_secret_can_come_from_the_system_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        keyring.set_password("connector", "s1", "keyring-token-0042")
        connection = Connection(name="s1", vendor="sentinelone", base_url="https://x", secret="keyring:connector/s1")
        assert connection.token() == "keyring-token-0042"
        assert redactor.redact("said keyring-token-0042") == "said ***"
        missing = Connection(name="s2", vendor="sentinelone", base_url="https://x", secret="keyring:connector/s2")
        with pytest.raises(ConfigError, match=r"^connection 's2': secret: keyring entry connector/s2 is missing"):
            missing.token()
    finally:
        keyring.set_keyring(previous)
    monkeypatch.setitem(sys.modules, "keyring", None)  # as when the optional extra is not installed
    with pytest.raises(ConfigError, match=r"a keyring: reference needs the keyring package \(pip install"):
        connection.token()


def test_a_keyring_reference_names_service_and_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "connections:\n  s1:\n    vendor: sentinelone\n    base_url: https://x\n"
                           "    secret: keyring:connector\n")
    with pytest.raises(ConfigError, match=r"connections\.s1\.secret: a keyring reference is keyring:SERVICE/NAME"):
        find_connection("s1", path)
