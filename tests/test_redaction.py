"""The redactor masks every secret as written, line by line, escaped, URL-encoded and base64-encoded."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from connector.redaction import Redactor

SECRET = "Tok-9f8e7d6c5b4a/+=&?x"


@pytest.fixture
def redactor() -> Redactor:
    fresh = Redactor()
    fresh.add(SECRET)
    return fresh


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ],
)
def test_every_encoded_form_is_masked(redactor: Redactor, form: str) -> None:
    assert redactor.redact(f"vendor said: {form}.") == "vendor said: ***."


@pytest.mark.parametrize("before", [b"", b"a", b"ab", b"Authorization: ApiToken "])
@pytest.mark.parametrize("after", [b"", b"!", b"\x00tail"])
def test_base64_inside_a_longer_blob_is_masked_at_every_alignment(
    redactor: Redactor, before: bytes, after: bytes
) -> None:
    blob = base64.b64encode(before + SECRET.encode() + after).decode()
    redacted = redactor.redact(blob)
    assert redacted != blob and "***" in redacted
    assert base64.b64encode(SECRET.encode()[2:-2]).decode()[4:-4] not in redacted


def test_each_line_of_a_multi_line_secret_is_masked_alone_and_escaped() -> None:
    redactor = Redactor()
    redactor.add("first-line-0042\nsecond-line-0042")
    assert redactor.redact("a first-line-0042 b second-line-0042") == "a *** b ***"
    assert redactor.redact(json.dumps({"t": "first-line-0042\nsecond-line-0042"})) == '{"t": "***"}'
    assert redactor.redact(repr(b"first-line-0042\nsecond-line-0042")) == "b'***'"


def test_short_forms_are_not_registered() -> None:
    redactor = Redactor()
    redactor.add("abc")
    redactor.add("abcd")
    assert redactor.redact("abc abcd") == "abc ***"


def test_a_secret_holding_another_is_masked_whole_and_the_other_alone_too() -> None:
    # The quick check looks for the inner secret only: finding it must still mask the outer one whole.
    redactor = Redactor()
    redactor.add("inner-0042")
    redactor.add("outer-inner-0042-tail")
    assert redactor.redact("a outer-inner-0042-tail b inner-0042 c") == "a *** b *** c"
    assert redactor.redact("nothing secret here") == "nothing secret here"
