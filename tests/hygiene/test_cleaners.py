"""The value cleaners: canonical values out, unusable values dropped and noted, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from connector import hygiene as clean
from connector.hygiene import Dropped, drop, recording


@pytest.mark.parametrize("value", [None, "", "  ", "None", "null", "NULL", "N/A", "n/a", "-", "nil", " none "])
def test_nulls_spelled_as_text_are_null_and_nothing_is_dropped(value: Any) -> None:
    with recording() as drops:
        assert clean.text(value, "f") is None
        assert clean.ip(value, "f") is None and clean.timestamp(value, "f") is None
        assert clean.texts(value, "f") == [] and clean.ips(value, "f") == []
    assert drops == []


@pytest.mark.parametrize(
    ("value", "expected", "dropped"),
    [
        ("  plain  ", "plain", False),
        (42, "42", False),
        (2.5, "2.5", False),
        (True, None, True),
        ({"a": 1}, None, True),
        ([1], None, True),
        (float("nan"), None, False),
        ("Ünïcødé 威胁", "Ünïcødé 威胁", False),
    ],
)
def test_text(value: Any, expected: str | None, dropped: bool) -> None:
    with recording() as drops:
        assert clean.text(value, "title") == expected
    assert [d.field for d in drops] == (["title"] if dropped else [])


def test_labels_of_the_vendor_are_values_not_nulls() -> None:
    assert clean.label("NONE", "f", {"NONE", "HIGH"}) == "NONE"
    assert clean.label("n/a", "f", {"malicious", "n/a"}) == "n/a"
    assert clean.label("None", "f", {"NONE"}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("123456", "123456"), (42, "42"), ("***", None), ("******************", None), ("<redacted>", None),
     ("[hidden]", None), ("xxxx", None), ("a-1", "a-1")],
)
def test_ident_refuses_masked_ids(value: Any, expected: str | None) -> None:
    assert clean.ident(value, "vendor_id") == expected


@pytest.mark.parametrize(
    ("value", "resource", "observable"),
    [
        ("8.8.8.8", "8.8.8.8", "8.8.8.8"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1", None),
        ("127.0.0.1", "127.0.0.1", None),
        ("169.254.3.4", "169.254.3.4", None),
        ("0.0.0.0", "0.0.0.0", None),
        ("::", "::", None),
        ("::1", "::1", None),
        ("01.2.3.4", None, None),
        ("999.1.2.3", None, None),
        ("123:123:123:123", None, None),
        ("not-an-ip", None, None),
        (7, None, None),
    ],
)
def test_addresses_are_canonical_and_observables_carry_no_special_ones(
    value: Any, resource: str | None, observable: str | None
) -> None:
    with recording() as drops:
        assert clean.ip(value, "resources.ip") == resource
        assert clean.ip(value, "observables.ip", observable=True) == observable
    assert len(drops) == (resource is None) + (observable is None)


def test_joined_addresses_are_split_and_each_kept_once() -> None:
    with recording() as drops:
        found = clean.ips(["10.0.0.1, 192.0.2.4;10.0.0.1", "bad 2001:db8::2"], "resources.ip")
    assert found == ["10.0.0.1", "192.0.2.4", "2001:db8::2"]
    assert drops == [Dropped("resources.ip", "'bad' is not an IP address")]
    assert clean.observable_ips(["10.0.0.1", "fe80::1", "::1"], "observables.ip") == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("D41D8CD98F00B204E9800998ECF8427E", ("md5", "d41d8cd98f00b204e9800998ecf8427e")),
        ("3395856ce81f2b7382dee72602f798b642f14140", ("sha1", "3395856ce81f2b7382dee72602f798b642f14140")),
        ("a" * 64, ("sha256", "a" * 64)),
        ("b" * 128, ("sha512", "b" * 128)),
        ("unknown", None),
        ("abc", None),
        ("g" * 32, None),
    ],
)
def test_hashes_are_typed_by_length_and_checked_as_hex(value: str, expected: tuple[str, str] | None) -> None:
    assert clean.file_hash(value, "observables.file_hash") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Example.COM", "example.com"),
        ("bücher.example.", "xn--bcher-kva.example"),
        ("localhost", None),
        ("1.2.3.4", None),
        ("not a domain", None),
    ],
)
def test_domains_are_lower_case_idna(value: str, expected: str | None) -> None:
    assert clean.domain(value, "indicators.domain") == expected


def test_emails_and_urls_are_checked() -> None:
    assert clean.email("Owner@Example.COM", "f") == "Owner@example.com"
    assert [clean.email(v, "f") for v in ("REDACTED FOR PRIVACY", "abuse@", "@x.com", "a@b")] == [None] * 4
    assert clean.url("https://example.com/a?b=1", "f") == "https://example.com/a?b=1"
    assert [clean.url(v, "f") for v in ("not a url", "ticket 42", "example.com", "http://")] == [None] * 4


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01t10:00:00.5z", "2024-05-01T10:00:00.500000Z"),
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00.123456Z"),
        ("2024-05-01T10:00:00.000000Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01 10:00:00", "2024-05-01T10:00:00Z"),
        (1714557600, "2024-05-01T10:00:00Z"),
        (1714557600123, "2024-05-01T10:00:00.123000Z"),
        ("1714557600", "2024-05-01T10:00:00Z"),
        (1714557600.5, "2024-05-01T10:00:00.500000Z"),
    ],
)
def test_timestamps_in_every_vendor_form_become_utc(value: Any, expected: str) -> None:
    assert clean.timestamp(value, "created_at") == expected


@pytest.mark.parametrize("value", ["yesterday", True, {"t": 1}, "0001-01-01T00:00:00+01:00", 10**30, "-5"])
def test_what_is_no_timestamp_is_dropped(value: Any) -> None:
    with recording() as drops:
        assert clean.timestamp(value, "created_at") is None
    assert [d.field for d in drops] == ["created_at"]


def test_numbers_flags_and_shapes() -> None:
    with recording() as drops:
        assert clean.number("7.5", "score", low=0, high=10) == 7.5
        assert clean.number(11, "score", low=0, high=10) is None
        assert clean.number("high", "score") is None
        assert clean.integer("12", "file.size") == 12 and clean.integer(1.5, "file.size") is None
        assert clean.flag("true", "f") is True and clean.flag(0, "f") is False and clean.flag("maybe", "f") is None
        assert clean.mapping("n/a", "f") == {} and clean.mapping(None, "f") == {}
        assert clean.objects([1, {"a": 1}, None, "x"], "f") == [{"a": 1}]
        assert clean.objects({"a": 1}, "f") == [{"a": 1}]
    assert [d.field for d in drops] == ["score", "score", "file.size", "f", "f", "f"], "n/a is a null, not a drop"


def test_drops_outside_a_recording_are_not_noted_anywhere() -> None:
    drop("x", "rule")
    with recording() as outer:
        drop("a", "r1")
        with recording() as inner:
            drop("b", "r2")
        drop("c", "r3")
    assert [d.field for d in outer] == ["a", "c"] and [d.field for d in inner] == ["b"]
