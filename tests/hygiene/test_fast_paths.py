"""The cleaners' fast paths and remembered values give exactly what the general way gives.

Each cleaner has a cheap path for the common value (a lone, clean text) and remembers pure
normalisations that repeat across a tenant's records (canonical addresses, typed hashes, domains,
MITRE technique ids). The references below are the general way written out plainly, as the cleaners were
before the fast paths: for any value, the result and the drops noted must be the same, whether the
remembered values are cold or warm.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector import hygiene as clean
from connector.hygiene import Dropped, network, recording
from connector.hygiene import values as plain
from connector.vendors.sentinelone import threats

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)
SPECIMENS = ("10.0.0.1", "192.0.2.44", "2001:DB8::1", "fe80::1%eth0", "[::1]", "::", "127.0.0.1", "169.254.0.9",
             "0.0.0.0", "01.2.3.4", "999.1.1.1", "N/A", "null", " none ", "-", "", "***", "<redacted>", "[x]",
             "xxxx", "a" * 40, "D41D8CD98F00B204E9800998ECF8427E", "T1059.001", "https://attack.mitre.org/T1082/")
texts = st.one_of(
    st.sampled_from(SPECIMENS),
    st.text(alphabet="0123456789abcdefABCDEFxX.:,; \n%[]*#<>•\x00\x01\u00a0é", max_size=24),
    st.text(max_size=12),
)
anything = st.one_of(texts, st.none(), st.integers(-3, 10**12), st.floats(), st.booleans(),
                   st.lists(texts, max_size=4), st.dictionaries(st.text(max_size=3), texts, max_size=2))


def _reference_parse_ip(found: str) -> str | None:
    candidate = found.strip("[]").split("%", 1)[0]
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, candidate))
        except (OSError, ValueError):
            continue
    return None


def _reference_ips(value: Any, field: str) -> list[str]:
    """Every item split on its separators, each part through ip(), each address once."""
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        joined = isinstance(item, str) and ("," in item or " " in item.strip() or ";" in item)
        for part in re.split(r"[\s,;]+", item.strip()) if joined else [item]:
            address = clean.ip(part, field)
            if address is not None:
                found.append(address)
    return list(dict.fromkeys(found))


def _reference_texts(value: Any, field: str) -> list[str]:
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and ("," in item or ";" in item or "\n" in item):
            found.extend(p for p in re.split(r"\s*[,;\n]\s*", item.strip()) if not clean.is_null(p))
        else:
            one = clean.text(item, field)
            if one is not None:
                found.append(one)
    return list(dict.fromkeys(found))


def _reference_ident(value: Any, field: str) -> str | None:
    found = clean.text(value, field)
    if found is not None and re.fullmatch(r"[*xX#•]{3,}|<[^<>]*>|\[\w*\]", found, re.IGNORECASE):
        clean.drop(field, "a masked identifier")
        return None
    if found is not None and len(found) > clean.IDENT_LONGEST:
        clean.drop(field, f"an identifier of {len(found)} characters (at most {clean.IDENT_LONGEST})")
        return None
    if found is not None and re.search(r"[\x00-\x1f\x7f]", found):
        clean.drop(field, "control characters in an identifier")
        return None
    return found


def _reference_file_hash(value: Any, field: str) -> tuple[str, str] | None:
    found = clean.text(value, field)
    if found is None:
        return None
    digest = found.lower()
    if not re.fullmatch(r"[0-9a-f]+", digest):
        clean.drop(field, f"{found[:60]!r} is not hexadecimal")
        return None
    if len(digest) not in clean.HASH_BY_LENGTH:
        clean.drop(field, f"{len(digest)} hex digits is no md5, sha1, sha256 or sha512")
        return None
    return clean.HASH_BY_LENGTH[len(digest)], digest


def _reference_objects(value: Any, field: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        if not clean.is_null(value):
            clean.drop(field, f"{plain._type_name(value)} where a list of objects is expected")
        return []
    for item in value:
        if not isinstance(item, dict) and item is not None:
            clean.drop(field, f"{plain._type_name(item)} in a list of objects")
    return [item for item in value if isinstance(item, dict)]


def _reference_domain(value: Any, field: str) -> str | None:
    found = clean.text(value, field)
    if found is None:
        return None
    name = network._domain_name(found)
    if name is None:
        clean.drop(field, f"{found[:60]!r} is not a domain name")
    return name


def _reference_observable_ips(addresses: list[str], field: str) -> list[str]:
    found = []
    for address in addresses:
        if re.match(clean.SPECIAL_ADDRESS_PATTERN, address):
            clean.drop(field, f"{address} is a loopback, link-local or unspecified address, no observable")
        else:
            found.append(address)
    return found


def _same(fast: Callable[[Any, str], Any], reference: Callable[[Any, str], Any], value: Any) -> None:
    """``fast`` and ``reference`` agree on ``value``: result and drops, caches cold then warm."""
    network._remembered_ip.cache_clear()
    network._remembered_hash.cache_clear()
    network._remembered_domain.cache_clear()
    with recording() as expected_drops:
        expected = reference(value, "f")
    for _ in ("cold", "warm"):
        with recording() as drops:
            assert fast(value, "f") == expected
        assert drops == expected_drops


@pytest.mark.parametrize(
    ("fast", "reference"),
    [(clean.ips, _reference_ips), (clean.texts, _reference_texts), (clean.ident, _reference_ident),
     (clean.file_hash, _reference_file_hash)],
    ids=["ips", "texts", "ident", "file_hash"],
)
@SETTINGS
@given(value=anything)
def test_fast_paths_and_remembered_values_are_the_general_way(
    fast: Callable[[Any, str], Any], reference: Callable[[Any, str], Any], value: Any
) -> None:
    _same(fast, reference, value)


@SETTINGS
@given(value=st.one_of(anything, st.lists(st.one_of(st.dictionaries(st.text(max_size=2), texts), anything))))
def test_objects_fast_path_is_the_general_way(value: Any) -> None:
    _same(clean.objects, _reference_objects, value)


@SETTINGS
@given(value=st.one_of(anything, st.sampled_from(("Example.COM.", "bücher.example", "xn--bcher-kva.example", "a..b"))))
def test_remembered_domains_are_the_computed_ones(value: Any) -> None:
    _same(clean.domain, _reference_domain, value)


@SETTINGS
@given(found=texts)
def test_remembered_addresses_are_the_computed_ones(found: str) -> None:
    network._remembered_ip.cache_clear()
    assert network._remembered_ip(found) == _reference_parse_ip(found) == network._remembered_ip(found)


@SETTINGS
@given(addresses=st.lists(st.sampled_from(SPECIMENS).map(_reference_parse_ip).filter(bool), max_size=5))
def test_special_address_prefixes_are_the_pattern(addresses: list[str]) -> None:
    _same(clean.observable_ips, _reference_observable_ips, addresses)


@pytest.mark.parametrize("value", ["10.0.0.1\x00", "a\x00b", "fe80::1\x00"])
def test_an_address_with_a_nul_character_is_dropped_not_raised(value: str) -> None:
    with recording() as drops:
        assert clean.ip(value, "resources.ip") is None and clean.ips([value], "resources.ip") == []
    assert [drop.field for drop in drops] == ["resources.ip", "resources.ip"]


@SETTINGS
@given(label=texts, link=texts)
def test_remembered_techniques_are_the_computed_ones(label: str, link: str) -> None:
    uid = re.search(r"T\d{4}(?:\.\d{3})?", label) or re.search(r"T\d{4}(?:\.\d{3})?", link)
    expected = (uid.group(0) if uid else None, label if label and not uid else None)
    threats._remembered_technique.cache_clear()
    assert threats._remembered_technique(label, link) == expected == threats._remembered_technique(label, link)
    assert threats._technique(label, link) == expected


def test_a_recording_collects_only_its_own_drops_even_when_mapping_fails() -> None:
    with recording() as outer:
        with pytest.raises(ValueError), recording() as inner:
            clean.drop("a", "r1")
            raise ValueError
        clean.drop("b", "r2")
    assert inner == [Dropped("a", "r1")] and outer == [Dropped("b", "r2")]


def test_long_texts_are_never_remembered() -> None:
    network._remembered_ip.cache_clear()
    network._remembered_hash.cache_clear()
    network._remembered_domain.cache_clear()
    junk = "1" * (clean.REMEMBERED_LONGEST + 1)
    with recording() as drops:
        assert clean.ips([junk, "10.0.0.1"], "f") == ["10.0.0.1"] and clean.ip(junk, "f") is None
        assert clean.file_hash(junk, "f") is None and clean.domain(junk + ".example", "f") is None
    assert len(drops) == 4
    remembered = (network._remembered_ip, network._remembered_hash, network._remembered_domain)
    assert [cache.cache_info().currsize for cache in remembered] == [1, 0, 0]
