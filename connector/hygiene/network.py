"""The cleaners of observable values: IP addresses, hashes, domain names, e-mail addresses, URLs.

Their pure normalisations are remembered (bounded :func:`functools.lru_cache`): a tenant's records
name the same endpoints' addresses, the same files and the same assets again and again.
"""

from __future__ import annotations

import re
import socket
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from connector.hygiene.drops import drop
from connector.hygiene.values import NULL_LIKE_LONGEST, text

SPECIAL_ADDRESS_PATTERN = r"^(127\.|169\.254\.|0\.0\.0\.0$|::1?$|fe[89ab][0-9a-f]:)"
"""Loopback, link-local and unspecified addresses in canonical form (observables' schema uses it too)."""
_SPECIAL_ADDRESS = re.compile(SPECIAL_ADDRESS_PATTERN)
_SPECIAL_PREFIXES = ("127.", "169.254.", "0.0.0.0", "::", "fe")
HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
"""Hex digits -> the hash algorithm: a hash is typed by its length, whatever field it came in."""
ADDRESS_CACHE_SIZE = HASH_CACHE_SIZE = DOMAIN_CACHE_SIZE = 4096
"""Distinct addresses, hashes and domains remembered, each cache at most this many texts."""
REMEMBERED_LONGEST = 256
"""Longer texts are normalised each time, never remembered (no address, hash or domain is that
long): a flood of junk values cannot fill memory, each cache holds at most about 1 MB of text."""
_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")
_HEX = re.compile(r"[0-9a-f]+")
_PLAIN_DOMAIN = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))+")
_SPACE = re.compile(r"\s")
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_EMAIL_LOCAL = re.compile(r"[^@\s]+")


def ip(value: Any, field: str, *, observable: bool = False) -> str | None:
    """One IP address in canonical form (RFC 5952 for IPv6), or null: an invalid one is dropped.

    An observable never carries a loopback, link-local or unspecified address (they identify no
    host beyond the one they were seen on); a resource may keep them.
    """
    found = text(value, field)
    if found is None:
        return None
    address = _remembered_ip(found) if len(found) <= REMEMBERED_LONGEST else _parse_ip(found)
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
    # Only IPv6 has colons: one attempt, not a failed IPv4 one first (a raised error is costly).
    family = socket.AF_INET6 if ":" in candidate else socket.AF_INET
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, candidate))
    except (OSError, ValueError):  # ValueError: an embedded NUL character
        return None


_remembered_ip = lru_cache(maxsize=ADDRESS_CACHE_SIZE)(_parse_ip)
""":func:`_parse_ip`, remembered: a tenant's records name the same endpoints' addresses again and again."""


def observable_ips(addresses: list[str], field: str) -> list[str]:
    """The canonical ``addresses`` (from :func:`ips`) an observable may carry: no loopback, link-local
    or unspecified one (they identify no host beyond the one they were seen on)."""
    found = []
    for address in addresses:
        # The prefixes the pattern begins with, checked at C speed first: most addresses have none.
        if address.startswith(_SPECIAL_PREFIXES) and _SPECIAL_ADDRESS.match(address):
            drop(field, f"{address} is a loopback, link-local or unspecified address, no observable")
        else:
            found.append(address)
    return found


def ips(value: Any, field: str, *, observable: bool = False) -> list[str]:
    """Every IP address in ``value`` (a list, or addresses joined by commas or spaces), canonical, each once."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, str):
            stripped = item.strip()
            if "," in item or " " in stripped or ";" in item:
                parts = _ADDRESS_SEPARATORS.split(stripped)
            elif NULL_LIKE_LONGEST < len(stripped) <= REMEMBERED_LONGEST and not observable:
                # The common case, a lone address as text: what ip() does with it, without two calls.
                address = _remembered_ip(stripped)
                if address is None:
                    drop(field, f"{stripped[:60]!r} is not an IP address")
                else:
                    found.append(address)
                continue
            else:
                parts = [item]
        else:
            parts = [item]
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
    typed = _remembered_hash(found) if len(found) <= REMEMBERED_LONGEST else _typed_hash(found)
    if isinstance(typed, str):
        drop(field, typed)
        return None
    return typed


def _typed_hash(found: str) -> tuple[str, str] | str:
    """(algorithm, digest) of a hash, or the rule it breaks."""
    digest = found.lower()
    if not _HEX.fullmatch(digest):
        return f"{found[:60]!r} is not hexadecimal"
    algorithm = HASH_BY_LENGTH.get(len(digest))
    if algorithm is None:
        return f"{len(digest)} hex digits is no md5, sha1, sha256 or sha512"
    return algorithm, digest


_remembered_hash = lru_cache(maxsize=HASH_CACHE_SIZE)(_typed_hash)
""":func:`_typed_hash`, remembered: the same files turn up on many endpoints."""


def _domain(found: str) -> str | None:
    """The domain name in ``found`` as :func:`domain` writes it, or None."""
    return _remembered_domain(found) if len(found) <= REMEMBERED_LONGEST else _domain_name(found)


def _domain_name(found: str) -> str | None:
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


_remembered_domain = lru_cache(maxsize=DOMAIN_CACHE_SIZE)(_domain_name)
""":func:`_domain_name`, remembered: a tenant's findings name the same few assets (and IDNA is slow)."""


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
