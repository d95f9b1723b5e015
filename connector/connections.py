"""Connections: which vendor, where, with which secret, and how carefully.

A connections file (``--config``, else ``$CONNECTOR_CONFIG``, else ``connections.yaml`` in the
user's config folder) names connections::

    connections:
      s1:
        vendor: sentinelone
        base_url: https://usea1.sentinelone.net
        secret: env:S1_TOKEN          # or file:/run/secrets/s1, or keyring:connector/s1
        timeout: {connect: 5, read: 30}
        rate_limit: {requests: 10, per_seconds: 1}

Secrets are references, never values: the value is read when a client is built and lives only
in the Authorization header and in the log redactor. A platform that keeps the token in its own
credential store (a SOAR app's authentication, a Cortex configuration item) hands it over in
memory with :meth:`Connection.with_token`; the reference then reads ``memory:<name>``.
``keyring:SERVICE/NAME`` reads the system keyring, with the optional ``keyring`` package.

One bad connection does not break the others: :func:`read_connections` keeps what is wrong with
each, and it is reported when that connection is used (or by ``connector connections check``).
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from connector.documents import MAX_YAML_BYTES, load_yaml, read_text
from connector.errors import ConfigError
from connector.redaction import redactor
from connector.suggest import did_you_mean

SANDBOX = "sandbox"
MEMORY = "memory"
"""The secret scheme of a token handed over in memory; refused in a connections file."""
KEYRING = "keyring"
"""The secret scheme of a token kept in the system keyring: ``keyring:SERVICE/NAME``."""
SECRET_SCHEMES = ("env", "file", KEYRING)
HTTP_SCHEMES = ("http", "https")
PROXY_SCHEMES = ("http", "https", "socks5")


class Timeouts(BaseModel):
    """Seconds to wait for a connection and for an answer."""

    model_config = ConfigDict(extra="forbid")
    connect: float = Field(5.0, gt=0)
    read: float = Field(30.0, gt=0)


class RateLimit(BaseModel):
    """At most ``requests`` requests in any window of ``per_seconds`` seconds."""

    model_config = ConfigDict(extra="forbid")
    requests: float = Field(gt=0)
    per_seconds: float = Field(1.0, gt=0)


class Connection(BaseModel):
    """One named way to reach one vendor."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(description="The connection's name (the key that holds it in a connections file)")
    vendor: str = Field(description="Which vendor API (case-insensitive)")
    base_url: str = Field(description="The API's http(s) URL; plain http only to loopback unless allow_insecure")
    secret: str = Field(description="Where the token is read: env:NAME, file:PATH or keyring:SERVICE/NAME")
    verify_tls: bool | str = Field(True, description="Check the server's certificate (true), or a CA bundle path")
    proxy: str | None = Field(None, description="An http, https or socks5 proxy URL")
    allow_insecure: bool = Field(False, description="Allow plain http to a host that is not loopback")
    timeout: Timeouts = Field(Timeouts(), description="Seconds: {connect: 5, read: 30}")
    rate_limit: RateLimit | None = Field(
        None, description="At most {requests: N, per_seconds: S}; the vendor's documented limit otherwise"
    )
    retries: int = Field(4, ge=0, le=10, description="Retries of a request that failed in a retriable way (0-10)")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Vendor-specific settings (see the vendor's page)"
    )
    # SecretStr, so that no repr, dump or error message of the connection ever shows it.
    _memory_token: SecretStr | None = PrivateAttr(default=None)

    @field_validator("secret")
    @classmethod
    def _secret_is_reference(cls, value: str, info: ValidationInfo) -> str:
        schemes = (*SECRET_SCHEMES, MEMORY) if (info.context or {}).get(MEMORY) else SECRET_SCHEMES
        scheme, _, where = value.partition(":")
        if scheme not in schemes or not where:
            raise ValueError(
                "must be a reference, env:NAME, file:PATH or keyring:SERVICE/NAME (never the secret itself)"
            )
        if scheme == KEYRING and not all(where.partition("/")[::2]):
            raise ValueError("a keyring reference is keyring:SERVICE/NAME")
        return value

    @classmethod
    def with_token(cls, token: str, **fields: Any) -> Connection:
        """A connection whose token is handed over in memory by the platform that stores it.

        ``fields`` are the connection's other fields (``name``, ``vendor``, ``base_url``...),
        validated as in a connections file; an invalid one is a :class:`ConfigError` naming it.
        The token is kept as a ``SecretStr`` and registered with the redactor when it is read.
        """
        name = str(fields.get("name", "?"))
        try:
            connection = cls.model_validate({**fields, "secret": f"{MEMORY}:{name}"}, context={MEMORY: True})
        except ValidationError as exc:
            raise ConfigError(f"connection {name!r}: {_first_error(exc)}") from None
        connection._memory_token = SecretStr(token)
        return connection

    @field_validator("vendor")
    @classmethod
    def _vendor_in_lower_case(cls, value: str) -> str:
        # Vendor names are matched case-insensitively: `vendor: SentinelOne` is sentinelone.
        return value.lower()

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        return checked_url(value)

    @field_validator("verify_tls")
    @classmethod
    def _ca_bundle_exists(cls, value: bool | str) -> bool | str:
        # httpx would raise FileNotFoundError with no name in it when the first client is built.
        if isinstance(value, str) and not Path(value).expanduser().is_file():
            raise ValueError(f"CA bundle {value} is not a readable file (or use true/false)")
        return str(Path(value).expanduser()) if isinstance(value, str) else value

    @field_validator("proxy")
    @classmethod
    def _proxy_is_supported(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme
        if scheme not in PROXY_SCHEMES:
            raise ValueError(f"scheme {scheme or '(none)'!r} is not one of {', '.join(PROXY_SCHEMES)}")
        if scheme == "socks5" and importlib.util.find_spec("socksio") is None:
            raise ValueError("a socks5 proxy needs the socksio package (pip install 'httpx[socks]')")
        checked_url(value, schemes=PROXY_SCHEMES)
        return value

    def check_transport_security(self) -> None:
        """Refuse plain http to anything but loopback unless the connection allows it."""
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" and not self.allow_insecure and not is_loopback(parts.hostname or ""):
            raise ConfigError(
                f"connection {self.name!r}: base_url: plain http to a non-loopback host is refused "
                "(use https, or set allow_insecure: true)"
            )

    def token(self) -> str:
        """Read the secret the reference points to; registered with the redactor before returning."""
        scheme, _, where = self.secret.partition(":")
        if scheme == "env":
            value = os.environ.get(where, "")
            origin = f"environment variable {where}"
        elif scheme == "file":
            path = Path(where).expanduser()
            value = read_text(path, f"connection {self.name!r}: secret", ConfigError, regular=True)
            origin = f"file {path}"
        elif scheme == KEYRING:
            value, origin = _keyring_secret(self.name, where), f"keyring entry {where}"
        elif scheme == MEMORY:
            value = self._memory_token.get_secret_value() if self._memory_token else ""
            origin = "the token handed over"
        else:
            value = where
            origin = "the sandbox"
        value = value.strip()
        # Registered before any check, so that even a refused secret is masked wherever it shows.
        redactor.add(value)
        if not value:
            raise ConfigError(f"connection {self.name!r}: secret: {origin} is missing or empty")
        if not value.isascii() or not value.isprintable():
            # A line break would be quoted back by the HTTP stack ("Illegal header value") and a
            # non-ASCII character cannot travel in a header at all; the value itself is never shown.
            raise ConfigError(
                f"connection {self.name!r}: secret: {origin} holds a control or non-ASCII character "
                "(a token is one line of printable ASCII)"
            )
        return value


def _keyring_secret(connection: str, where: str) -> str:
    """The password the system keyring keeps for SERVICE/NAME ("" when it keeps none)."""
    try:
        import keyring  # the optional extra: only a keyring: reference needs it
        from keyring.errors import KeyringError
    except ImportError:
        raise ConfigError(
            f"connection {connection!r}: secret: a keyring: reference needs the keyring package "
            "(pip install 'connector-soar[keyring]')"
        ) from None
    service, _, name = where.partition("/")
    try:
        return keyring.get_password(service, name) or ""
    except KeyringError as exc:
        raise ConfigError(
            f"connection {connection!r}: secret: the keyring cannot be read ({type(exc).__name__})"
        ) from None


def checked_url(value: str, schemes: tuple[str, ...] = HTTP_SCHEMES) -> str:
    """An http(s) URL with a host, a valid port and no user:password, without its trailing slash.

    ValueError otherwise, whose message never repeats the URL: it may hold a password.
    """
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018  (reading it is the check: urlsplit parses the port lazily)
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be an {'http(s)' if schemes == HTTP_SCHEMES else ' or '.join(schemes)} URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold user:password@ (credentials go in secret:, never in a URL)")
    if not value.isascii() or not value.isprintable():
        raise ValueError("must be printable ASCII (encode other characters with %XX)")
    return value.rstrip("/")


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP address, brackets allowed) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_config_path() -> Path:
    """Where connections are read from when neither --config nor CONNECTOR_CONFIG says."""
    env = os.environ.get("CONNECTOR_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only here: a run given its connection (or the sandbox) never needs it

    return Path(platformdirs.user_config_dir("connector")) / "connections.yaml"


@dataclass(frozen=True)
class ConnectionsFile:
    """A connections file as read: its valid connections and, for each invalid one, what is wrong."""

    path: Path
    connections: dict[str, Connection] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    """Connection name -> one line naming the field and the rule, as ``config: connections.s1.base_url: ...``."""


def read_connections(path: Path | None = None) -> ConnectionsFile:
    """Read a connections file, each connection on its own: a bad one is kept in ``problems`` and the
    others stay usable. A file that cannot be read at all is a ConfigError; a missing default file
    is an empty one. An unchanged file is parsed once; secrets are still read on each use
    (:meth:`Connection.token`), never kept here."""
    explicit = path is not None or bool(os.environ.get("CONNECTOR_CONFIG"))
    path = path or default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"config: {path} does not exist")
        return ConnectionsFile(path)
    status = path.stat()
    stamp = (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)
    kept = _READ.get(path)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    read = _parsed(path)
    # A file changed within the clock's resolution of this read could keep the same stamp: such a
    # fresh one is read again next time rather than kept.
    if time.time_ns() - status.st_mtime_ns > RACY_NS:
        _READ[path] = (stamp, read)
    return read


_READ: dict[Path, tuple[tuple[int, int, int, int], ConnectionsFile]] = {}
"""Each connections file read, by path, with the (device, inode, mtime, size) it had: a server reads
it once rather than on every request, and again when it is edited or replaced."""
RACY_NS = 2_000_000_000
"""A file modified less than this long (ns) before it is read is parsed again on the next read."""


def _parsed(path: Path) -> ConnectionsFile:
    """The connections file at ``path``, read and checked (see :func:`read_connections`)."""
    document = load_yaml(
        read_text(path, "config", ConfigError, limit=MAX_YAML_BYTES), f"config: {path}", error=ConfigError
    ) or {}
    if not isinstance(document, dict) or not isinstance(document.get("connections", {}), dict):
        raise ConfigError(f"config: {path}: expected a mapping with a 'connections' mapping")
    read = ConnectionsFile(path)
    for name, body in (document.get("connections") or {}).items():
        try:
            read.connections[str(name)] = _connection(str(name), body)
        except ConfigError as exc:
            read.problems[str(name)] = exc.message
    return read


def _connection(name: str, body: Any) -> Connection:
    if not isinstance(body, dict):
        raise ConfigError(f"config: connections.{name}: expected a mapping")
    if "name" in body:
        raise ConfigError(f"config: connections.{name}.name: not a setting (the key above names the connection)")
    try:
        # model_validate rather than Connection(**body): a key that is not a string (``1: x``)
        # is then one validation error instead of a TypeError.
        return Connection.model_validate({**body, "name": name})
    except ValidationError as exc:
        raise ConfigError(f"config: connections.{name}.{_first_error(exc)}") from None


def load_connections(path: Path | None = None) -> dict[str, Connection]:
    """The valid connections of a connections file (see :func:`read_connections`); a bad one is left
    out here and reported by :func:`find_connection` when it is used."""
    return read_connections(path).connections


def find_connection(name: str, path: Path | None = None) -> Connection:
    """The connection ``name`` from the connections file; ConfigError naming what is wrong with it, or
    naming the file that was read (or looked for) when it does not define it."""
    read = read_connections(path)
    if name in read.connections:
        return read.connections[name]
    if name in read.problems:
        raise ConfigError(read.problems[name])
    known = read.connections
    where = read.path
    if not known and not where.exists():
        raise ConfigError(
            f"connection {name!r} is not defined: no connections file at {where} (give --config FILE or set "
            "CONNECTOR_CONFIG)"
        )
    hint = did_you_mean(name, known)
    raise ConfigError(
        f"connection {name!r} is not defined in {where} (known: {', '.join(sorted(known)) or 'none'}){hint}"
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"]) or "(root)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{location}: {message}"


SANDBOX_TOKEN = "sandbox-token"
"""The token the embedded sandbox accepts unless it is started with another."""


def sandbox_connection(vendor: str, base_url: str, token: str) -> Connection:
    """The built-in connection to the embedded simulator of ``vendor``."""
    # Built without validation: the ``sandbox:`` reference is not allowed in a connections file.
    return Connection.model_construct(
        name=SANDBOX, vendor=vendor, base_url=f"{base_url}/{vendor}", secret=f"{SANDBOX}:{token}"
    )
