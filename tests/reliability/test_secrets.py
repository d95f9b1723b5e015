"""The secret scan: every action, a playbook, a watch and the serve routes run with a distinctive
token, at -vv with an audit file, while the vendor answers normally or echoes the token back in
each encoding; the token, its lines and their encodings are found nowhere: stdout, stderr, the
audit file, the watch's output and checkpoint, the served answers and the server's log. A token
of two lines is refused, and not shown either."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from connector.plugins import default_host
from connector.sandbox import SandboxConfig, build_app, serving
from connector.server import ServerSettings, create_app
from tests.reliability.support import COUNTS, run_cli

TOKEN = 'Zq7"Kx/+=&\\sEcReT-0042-w9'
"""Printable ASCII that JSON, URLs and base64 each write differently: a leak in any form is visible."""
TWO_LINES = "first-half-sEcReT-0042\nsecond-half-sEcReT-0042"
TOKEN_ENV = "RELIABILITY_SECRET_TOKEN"
SERVE_TOKEN = "serve-token-for-the-secret-scan-0042"
SIZES = {"sentinelone": 10, "mysecutec": 10, "nameshield": 10, "ciso_assistant": 5}
ENCODINGS = ("none", "raw", "json", "url", "url_plus", "base64", "base64url", "base64_header")

HOST = default_host()
INPUTS: dict[str, dict[str, Any]] = {
    "add_threat_note": {"ids": ["1"], "text": "seen"},
    "create_incident": {"name": "scan"},
    "delete_incident": {"id": "00000000-0000-4000-8000-000000000000", "preview": True},
    "get_event": {"id": "1"},
    "get_incident": {"id": "00000000-0000-4000-8000-000000000000"},
    "get_threat": {"id": "1"},
    "get_threat_logs": {"id": "1"},
    "get_threat_notes": {"id": "1"},
    "incident_batch_action": {"action": "delete", "ids": ["00000000-0000-4000-8000-000000000000"]},
    "incident_metrics": {"kind": "summary"},
    "mitigate_threat": {"ids": ["1"], "action": "kill"},
    "update_incident": {"id": "00000000-0000-4000-8000-000000000000", "name": "scan"},
    "update_threat": {"id": "1", "note": "seen"},
    "update_threat_status": {"ids": ["1"], "status": "resolved"},
}
"""A valid input per action that needs one (the others run with {})."""
CONNECTIONS = {"sentinelone": "s1", "mysecutec": "tam", "nameshield": "ns", "ciso_assistant": "ciso"}
PAIRS = sorted((spec.name, vendor) for spec in HOST.actions.values() for vendor in spec.vendors)


def leaks(secret: str) -> set[str]:
    """What a leak of ``secret`` looks like in text: each line of it as written, JSON-escaped and
    URL-encoded, and the base64 of its middle at every byte alignment (which any base64 text
    holding the secret contains, whatever surrounds it)."""
    forms: set[str] = set()
    for part in {secret, *secret.splitlines()}:
        forms |= {part, json.dumps(part)[1:-1], quote(part, safe=""), quote_plus(part)}
        middle = part.encode()[3:-3]
        for shift in range(3):
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                forms.add(encode(b"\0" * shift + middle).decode()[4:-4])
    return forms


def echoed(secret_header: str, encoding: str) -> str:
    """The Authorization header as a careless vendor writes it back in an error text."""
    token = secret_header.split(" ", 1)[1]
    return {
        "raw": secret_header,
        "json": json.dumps({"token": token}),
        "url": quote(token, safe=""),
        "url_plus": quote_plus(token),
        "base64": base64.b64encode(token.encode()).decode(),
        "base64url": base64.urlsafe_b64encode(token.encode()).decode(),
        "base64_header": base64.b64encode(f"Authorization: {secret_header}".encode()).decode(),
    }[encoding]


class EchoingVendor:
    """The sandbox behind a vendor that, in every mode but "none", refuses each request with 400 and
    an error text quoting the Authorization header in ``mode``'s encoding (in every vendor's dialect)."""

    def __init__(self, app: Any) -> None:
        self.app, self.mode = app, "none"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.mode == "none":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode()
        text = f"invalid request, token {echoed(header, self.mode)} refused"
        body = json.dumps({
            "detail": text, "message": text, "error": {"code": "bad_request", "message": text},
            "errors": [{"code": 4000010, "detail": text, "title": "Bad Request"}],
        }).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Scan:
    vendor: EchoingVendor
    config: Path
    folder: Path

    def run(self, *args: str, secret: str = TOKEN) -> str:
        """The CLI at -vv with an audit file; everything it wrote, joined."""
        audit = self.folder / "audit.jsonl"
        audit.unlink(missing_ok=True)
        outcome = run_cli("-vv", "--config", str(self.config), "--audit", str(audit), *args,
                          env={TOKEN_ENV: secret})
        assert "Traceback" not in outcome.stderr, outcome.stderr
        written = [outcome.stdout, outcome.stderr, audit.read_text() if audit.exists() else ""]
        return "\n".join(written)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scan]:
    vendor = EchoingVendor(build_app(SandboxConfig(token=TOKEN, sizes=SIZES, rate_limits=False)))
    folder = tmp_path_factory.mktemp("secrets")
    with serving(vendor) as url:
        config = folder / "connections.yaml"
        config.write_text("connections:\n" + "".join(
            f"  {name}: {{vendor: {vendor_name}, base_url: '{url}/{vendor_name}', secret: 'env:{TOKEN_ENV}', "
            "retries: 0}\n"
            for vendor_name, name in CONNECTIONS.items()
        ))
        yield Scan(vendor, config, folder)


def assert_clean(text: str, secret: str = TOKEN) -> None:
    found = sorted(form for form in leaks(secret) if form in text)
    assert found == [], f"the secret leaked as {found}"
    COUNTS["secret scan: outputs searched"] += 1


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("action", "vendor"), PAIRS)
def test_every_action(scan: Scan, action: str, vendor: str, encoding: str) -> None:
    scan.vendor.mode = encoding
    document = json.dumps(INPUTS.get(action, {}))
    written = scan.run("run", action, "-c", CONNECTIONS[vendor], "--input", document, "--no-progress")
    if encoding != "none":
        assert "refused" in written, "the vendor's echo reached the output (masked)"
    assert_clean(written)


@pytest.mark.parametrize("encoding", ENCODINGS[1:])
def test_the_scan_would_see_each_echo_unmasked(encoding: str) -> None:
    assert any(form in echoed(f"ApiToken {TOKEN}", encoding) for form in leaks(TOKEN))


def test_a_two_line_token_is_refused_and_shown_nowhere(scan: Scan) -> None:
    scan.vendor.mode = "none"
    written = scan.run("run", "get-threats", "-c", "s1", "--input", "{}", secret=TWO_LINES)
    assert "holds a control or non-ASCII character" in written
    assert_clean(written, TWO_LINES)


PLAYBOOK = """\
name: every-vendor
steps:
  - {id: threats, action: get_threats, connection: s1, input: {limit: 2}, on_error: continue}
  - {id: tam, action: get_threats, connection: tam, input: {limit: 2}, on_error: continue}
  - {id: events, action: list_events, connection: ns, input: {limit: 2}, on_error: continue}
  - id: notes
    action: add_threat_note
    connection: s1
    for_each: ${{ steps.threats.output.threats[].vendor_id }}
    input: {ids: ["${{ item }}"], text: seen}
    on_error: continue
  - {id: incidents, action: list_incidents, connection: ciso, input: {limit: 2}}
"""


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_playbook(scan: Scan, encoding: str) -> None:
    scan.vendor.mode = encoding
    book = scan.folder / "every-vendor.yaml"
    book.write_text(PLAYBOOK)
    assert_clean(scan.run("playbook", "run", str(book), "--no-progress"))


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("to", ["stdout", "output"])
def test_a_watch(scan: Scan, encoding: str, to: str) -> None:
    scan.vendor.mode = encoding
    state = scan.folder / f"watch-{encoding}-{to}.json"
    output = scan.folder / f"watch-{encoding}.ndjson"
    where = ["--output", str(output)] if to == "output" else []
    written = scan.run("watch", "get-threats", "-c", "s1", "--once", "--since", "2020-01-01T00:00:00Z",
                       "--state", str(state), *where)
    files = [path.read_text() for path in (state, output) if path.exists()]
    assert_clean("\n".join([written, *files]))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_serve_routes(scan: Scan, encoding: str, caplog: pytest.LogCaptureFixture,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    scan.vendor.mode = encoding
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = ServerSettings(token=SERVE_TOKEN, config=scan.config)
    answers = []
    headers = {"Authorization": f"Bearer {SERVE_TOKEN}"}
    with caplog.at_level("DEBUG"), serving(create_app(settings)) as url, \
            httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for action, vendor in PAIRS:
            body = {"connection": CONNECTIONS[vendor], "input": INPUTS.get(action, {})}
            answers.append(client.post(f"/v1/actions/{action}/run", json=body).text)
        playbook = {"playbook": {"name": "p", "steps": [
            {"id": "t", "action": "get_threats", "connection": "s1", "input": {"limit": 1}}]}}
        answers.append(client.post("/v1/playbooks/run", json=playbook).text)
    assert len(answers) == len(PAIRS) + 1
    assert_clean("\n".join([*answers, caplog.text]))
