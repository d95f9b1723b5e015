"""Value hygiene for every vendor's mapping: clean each value, or drop it and say why.

Real answers are messier than vendor documentation. Mappers pass every value they emit through
one of the cleaners below, which return it in its canonical form, or an empty result:

- a null spelled as text (``""``, ``"None"``, ``"null"``, ``"N/A"``, ``"-"``, ``"nil"``) is null
  and nothing is dropped;
- a value that is present but unusable (an invalid address, a "hash" that is a word, an object
  where text is expected) is dropped: the cleaner calls :func:`drop` with the output field and the
  rule it broke, and returns null.

The runner maps each record inside :func:`recording`, so the drops of one record are counted in
the envelope's ``meta.dropped_values`` and named at ``-v``. Outside :func:`recording` a drop is
not noted anywhere (the value is still left out).
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Collection
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Dropped:
    """One value a mapper left out: where it was in the output, and the rule it broke."""

    field: str
    rule: str


_dropped: ContextVar[list[Dropped] | None] = ContextVar("dropped", default=None)


class recording:  # lower case: used like the function it was, ``with recording() as drops``
    """Collect the values dropped while mapping one record (the list fills as the mapper runs).

    A class rather than a generator-based context manager: it is entered once per record read,
    and this costs less than half as much.
    """

    def __init__(self) -> None:
        self._drops: list[Dropped] = []
        self._token: Token[list[Dropped] | None] | None = None

    def __enter__(self) -> list[Dropped]:
        self._token = _dropped.set(self._drops)
        return self._drops

    def __exit__(self, *exc_info: object) -> None:
        assert self._token is not None, "recording() is left only after it was entered"
        _dropped.reset(self._token)


def drop(field: str, rule: str) -> None:
    """Note that the value for ``field`` was dropped for breaking ``rule``; outside :func:`recording`, nothing."""
    drops = _dropped.get()
    if drops is not None:
        drops.append(Dropped(field, rule))


NULL_LIKES = frozenset({"", "none", "null", "nil", "n/a", "-"})
"""Texts that tools between the vendor and us write for a missing value (compared case-folded)."""
SPECIAL_ADDRESS_PATTERN = r"^(127\.|169\.254\.|0\.0\.0\.0$|::1?$|fe[89ab][0-9a-f]:)"
"""Loopback, link-local and unspecified addresses in canonical form (observables' schema uses it too)."""
_SPECIAL_ADDRESS = re.compile(SPECIAL_ADDRESS_PATTERN)
_NULL_LIKE_LONGEST = max(map(len, NULL_LIKES))
IDENT_LONGEST = 256
HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
"""Hex digits -> the hash algorithm: a hash is typed by its length, whatever field it came in."""
EPOCH_MILLIS_ABOVE = 100_000_000_000  # as seconds the year 5138, as milliseconds March 1973

_LIST_SEPARATORS = re.compile(r"\s*[,;\n]\s*")
_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")
_HEX = re.compile(r"[0-9a-f]+")
_MASKED = re.compile(r"[*xX#•]{3,}|<[^<>]*>|\[\w*\]", re.IGNORECASE)
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(?!000000)\d{6})?Z")  # timestamp()'s own form
_FLAGS = frozenset({"true", "false", "1", "0"})
_DIGITS = re.compile(r"[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_DOMAIN = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))+")
_SPACE = re.compile(r"\s")
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_EMAIL_LOCAL = re.compile(r"[^@\s]+")


def _type_name(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__


def is_null(value: Any) -> bool:
    """Whether ``value`` means "no value": None, or a null spelled as text."""
    # Padding aside, a null-like text is short: longer ones are never case-folded.
    return value is None or (isinstance(value, str) and len(value) < 16 and value.strip().casefold() in NULL_LIKES)


def text(value: Any, field: str) -> str | None:
    """A text value: stripped, numbers written out, nulls spelled as text null; objects, lists and booleans dropped."""
    # The common cases first and cheaply: mapping calls this for nearly every value of every record.
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) > _NULL_LIKE_LONGEST or stripped.casefold() not in NULL_LIKES:
            return stripped
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value) if math.isfinite(value) else None
    drop(field, f"{_type_name(value)} where text is expected")
    return None


def label(value: Any, field: str, known: Collection[str]) -> str | None:
    """A vendor's enum label: one of ``known`` as it is (Nameshield's ``NONE`` and SentinelOne's
    ``n/a`` are values, not nulls), anything else as :func:`text`."""
    if isinstance(value, str) and value in known:
        return value
    return text(value, field)


def ident(value: Any, field: str) -> str | None:
    """An identifier: text that is neither masked (``***``, ``<redacted>``, ``[hidden]``) nor longer
    than :data:`IDENT_LONGEST` characters (no vendor's ids are; it would flood every line naming it)."""
    found = text(value, field)
    if found is not None and _MASKED.fullmatch(found):
        drop(field, "a masked identifier")
        return None
    if found is not None and len(found) > IDENT_LONGEST:
        drop(field, f"an identifier of {len(found)} characters (at most {IDENT_LONGEST})")
        return None
    if found is not None and _CONTROL.search(found):
        drop(field, "control characters in an identifier")
        return None
    return found


def keys_of(record: dict[Any, Any]) -> str:
    """The keys of a record, sorted, as they may appear in a one-line message (for a refusal)."""
    listed = ", ".join(sorted(_CONTROL.sub("?", str(key)) for key in record))
    return listed if len(listed) <= 200 else listed[:199] + "…"


def number(value: Any, field: str, *, low: float | None = None, high: float | None = None) -> float | None:
    """A finite number within [low, high]; a numeric string is read; anything else dropped."""
    if is_null(value):
        return None
    found: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        found = float(value)
    elif isinstance(value, str):
        try:
            found = float(value.strip())
        except ValueError:
            found = None
    if found is None or not math.isfinite(found):
        drop(field, f"{_type_name(value)} {str(value)[:40]!r} is not a number")
        return None
    if (low is not None and found < low) or (high is not None and found > high):
        drop(field, f"{found:g} is out of range ({low} to {high})")
        return None
    return found


def integer(value: Any, field: str, *, low: int = 0) -> int | None:
    """A whole number, at least ``low`` (a numeric string or an integral float is read)."""
    found = number(value, field, low=low)
    if found is None:
        return None
    if not found.is_integer():
        drop(field, f"{found:g} is not a whole number")
        return None
    return int(found)


def flag(value: Any, field: str) -> bool | None:
    """A boolean; ``"true"``/``"false"`` and 0/1 are read, anything else dropped."""
    if isinstance(value, bool) or value is None:
        return value
    if str(value).strip().casefold() in _FLAGS:
        return str(value).strip().casefold() in {"true", "1"}
    if not is_null(value):
        drop(field, f"{_type_name(value)} is not a boolean")
    return None


def mapping(value: Any, field: str) -> dict[str, Any]:
    """An object; null reads as empty, anything else is dropped (and reads as empty)."""
    if isinstance(value, dict):
        return value
    if not is_null(value):
        drop(field, f"{_type_name(value)} where an object is expected")
    return {}


def objects(value: Any, field: str) -> list[dict[str, Any]]:
    """A list of objects: a lone object is a list of one; items that are not objects are dropped."""
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        if not is_null(value):
            drop(field, f"{_type_name(value)} where a list of objects is expected")
        return []
    found = [item for item in value if isinstance(item, dict)]
    for item in value:
        if not isinstance(item, dict) and item is not None:
            drop(field, f"{_type_name(item)} in a list of objects")
    return found


def texts(value: Any, field: str) -> list[str]:
    """A list of texts: a string holding several joined by commas, semicolons or newlines is split."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, str) and ("," in item or ";" in item or "\n" in item):
            found.extend(part for part in _LIST_SEPARATORS.split(item.strip()) if not is_null(part))
        else:
            one = text(item, field)
            if one is not None:
                found.append(one)
    return list(dict.fromkeys(found))


def ip(value: Any, field: str, *, observable: bool = False) -> str | None:
    """One IP address in canonical form (RFC 5952 for IPv6), or null: an invalid one is dropped.

    An observable never carries a loopback, link-local or unspecified address (they identify no
    host beyond the one they were seen on); a resource may keep them.
    """
    found = text(value, field)
    if found is None:
        return None
    address = _parse_ip(found)
    if address is None:
        drop(field, f"{found[:60]!r} is not an IP address")
        return None
    if observable and _SPECIAL_ADDRESS.match(address):
        drop(field, f"{address} is a loopback, link-local or unspecified address, no observable")
        return None
    return address


def _parse_ip(found: str) -> str | None:
    """The canonical form of an address, or None.

    The C resolver's inet_pton/inet_ntop rather than ``ipaddress``: the same validation and RFC 5952
    form, at a tenth of the cost (every address of every record goes through here).
    """
    # A zone index (fe80::1%eth0) names an interface of the reporting host, not the address.
    candidate = found.strip("[]").split("%", 1)[0]
    try:
        packed = socket.inet_pton(socket.AF_INET, candidate)
    except OSError:
        pass
    else:
        return socket.inet_ntop(socket.AF_INET, packed)
    try:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, candidate))
    except (OSError, ValueError):
        return None


def observable_ips(addresses: list[str], field: str) -> list[str]:
    """The canonical ``addresses`` (from :func:`ips`) an observable may carry: no loopback, link-local
    or unspecified one (they identify no host beyond the one they were seen on)."""
    found = []
    for address in addresses:
        if _SPECIAL_ADDRESS.match(address):
            drop(field, f"{address} is a loopback, link-local or unspecified address, no observable")
        else:
            found.append(address)
    return found


def ips(value: Any, field: str, *, observable: bool = False) -> list[str]:
    """Every IP address in ``value`` (a list, or addresses joined by commas or spaces), canonical, each once."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        joined = isinstance(item, str) and ("," in item or " " in item.strip() or ";" in item)
        parts = _ADDRESS_SEPARATORS.split(item.strip()) if joined else [item]
        for part in parts:
            address = ip(part, field, observable=observable)
            if address is not None:
                found.append(address)
    return list(dict.fromkeys(found))


def file_hash(value: Any, field: str) -> tuple[str, str] | None:
    """(algorithm, lower-case hex) of a hash typed by its length, or null when it is no hash."""
    found = text(value, field)
    if found is None:
        return None
    digest = found.lower()
    if not _HEX.fullmatch(digest):
        drop(field, f"{found[:60]!r} is not hexadecimal")
        return None
    algorithm = HASH_BY_LENGTH.get(len(digest))
    if algorithm is None:
        drop(field, f"{len(digest)} hex digits is no md5, sha1, sha256 or sha512")
        return None
    return algorithm, digest


def _domain(found: str) -> str | None:
    name = found.rstrip(".").lower()
    if "." not in name or _parse_ip(name) is not None:
        return None
    if _PLAIN_DOMAIN.fullmatch(name) and "xn--" not in name and len(name) <= 253:
        return name  # plain ASCII labels are their own A-labels: idna is for the others (and is slow)
    import idna  # here, not at the top: its tables cost start-up time most runs never need

    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


def domain(value: Any, field: str) -> str | None:
    """A domain name, lower-case, internationalised names as IDNA A-labels (``xn--...``), or null."""
    found = text(value, field)
    if found is None:
        return None
    name = _domain(found)
    if name is None:
        drop(field, f"{found[:60]!r} is not a domain name")
    return name


def email(value: Any, field: str) -> str | None:
    """An e-mail address (``local@domain``, the domain as :func:`domain` writes it), or null."""
    found = text(value, field)
    if found is None:
        return None
    local, at, host = found.rpartition("@")
    name = _domain(host) if at and _EMAIL_LOCAL.fullmatch(local) else None
    if name is None:
        drop(field, f"{found[:60]!r} is not an e-mail address")
        return None
    return f"{local}@{name}"


def url(value: Any, field: str) -> str | None:
    """An absolute URL (``scheme://host...``, no spaces), or null."""
    found = text(value, field)
    if found is None:
        return None
    try:
        parts = urlsplit(found)
    except ValueError:
        parts = None
    if parts is None or not _URL_SCHEME.fullmatch(parts.scheme) or not parts.netloc or _SPACE.search(found):
        drop(field, f"{found[:60]!r} is not an absolute URL")
        return None
    return found


def timestamp(value: Any, field: str) -> str | None:
    """An instant as UTC RFC 3339 text, written as pydantic writes aware datetimes.

    Read: RFC 3339 and ISO 8601 variants (``Z`` or an offset, ``T`` or a space, any fraction, lower
    case), ``yyyy-MM-dd HH:mm:ss`` (a time without offset is UTC, as the vendors send it), and epoch
    seconds or milliseconds as numbers or digit strings.
    """
    if isinstance(value, str) and _CANONICAL_TIME.fullmatch(value):
        return value
    moment = _instant(value, field)
    if moment is None:
        return None
    written = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{written}.{moment.microsecond:06d}Z" if moment.microsecond else f"{written}Z"


def _instant(value: Any, field: str) -> datetime | None:
    if is_null(value):
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        moment = _epoch(value) if not isinstance(value, str) or _DIGITS.fullmatch(value.strip()) else _iso(value)
    if moment is None:
        drop(field, f"{str(value)[:60]!r} is not a timestamp (RFC 3339, 'yyyy-MM-dd HH:mm:ss' or epoch)")
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        drop(field, f"{str(value)[:60]!r} is out of the range of timestamps")
        return None


def _epoch(value: float | str) -> datetime | None:
    seconds = float(value)
    if seconds > EPOCH_MILLIS_ABOVE:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return None
