"""The redactor masks every secret as written, line by line, escaped, URL-encoded and base64-encoded."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
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
        SECRET.encode().hex(),
        SECRET.encode().hex().upper(),
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


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_hex_inside_a_longer_dump_is_masked(redactor: Redactor, case: Callable[[str], str]) -> None:
    dump = (b"GET / HTTP/1.1\r\nAuthorization: ApiToken " + SECRET.encode() + b"\r\n").hex()
    redacted = redactor.redact(case(dump))
    assert redacted == case(dump.replace(SECRET.encode().hex(), "***"))


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


def test_a_secret_typed_into_the_input_is_masked_everywhere(tmp_path: Path) -> None:
    token = "Sekret-Tok-5f2d9e41"
    config = tmp_path / "connections.yaml"
    config.write_text(
        "connections:\n  s1:\n    vendor: sentinelone\n    base_url: http://127.0.0.1:9/sentinelone\n"
        "    secret: env:REDACTION_TEST_TOKEN\n"
    )
    audit = tmp_path / "audit.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "connector", "run", "get-threats", "--connection", "s1", "--audit", str(audit),
         "--input", json.dumps({"severity": [token], "search": f"x {token} {token.encode().hex()}"})],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "CONNECTOR_CONFIG": str(config), "REDACTION_TEST_TOKEN": token},
    )
    assert result.returncode == 2 and "input.severity[0]: '***' is not one of" in result.stderr
    for where in (result.stdout, result.stderr, audit.read_text()):
        assert token not in where and token.encode().hex() not in where
