"""The request size limit: by Content-Length before reading, and while reading a chunked body."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import orjson

from connector.server.limits import DEFAULT_MAX_BODY
from tests.server.conftest import SMALL_BODY, TOKEN

TOO_LARGE = {
    "error": {
        "type": "too_large",
        "message": f"request body: larger than the limit of {SMALL_BODY} bytes (server option --max-body)",
    }
}


def _padded(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes."""
    head = b'{"connection": "s1", "input": {}, "vendor": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_oversized_by_content_length(plain_api: httpx.Client) -> None:
    answer = plain_api.post("/v1/actions/get-threats/run", content=_padded(SMALL_BODY + 1))
    assert answer.status_code == 413
    assert answer.json() == TOO_LARGE


def test_oversized_chunked_body_is_refused_while_read(plain_api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        body = _padded(3 * SMALL_BODY)
        for start in range(0, len(body), 400):
            yield body[start : start + 400]

    answer = plain_api.post("/v1/actions/get-threats/run", content=chunks())
    assert answer.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in answer.request.headers
    assert answer.status_code == 413
    assert answer.json() == TOO_LARGE


def test_a_body_at_the_limit_is_read(plain_api: httpx.Client) -> None:
    answer = plain_api.post("/v1/actions/get-threats/run", content=_padded(SMALL_BODY))
    # Read and checked: the vendor name is not known, which only a read body can tell.
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"].startswith("vendor 'xxx")


def test_default_limit_is_one_mebibyte(api_url: str) -> None:
    # Only the headers are sent: the answer comes before a byte of the body is read.
    parts = urlsplit(api_url)
    request = (
        "POST /v1/actions/get-threats/run HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {DEFAULT_MAX_BODY + 1}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request.encode())
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert orjson.loads(body)["error"]["message"] == (
        "request body: larger than the limit of 1048576 bytes (server option --max-body)"
    )

