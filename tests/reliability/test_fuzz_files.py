"""Fuzzing what people write beside the input: connections files and playbooks. Every case ends with
exit 0 or 2 and one line per problem (a connections file, then a client built from it, holds no
traceback either); a playbook that passes its check also runs (dry) and ends with one result."""

from __future__ import annotations

import asyncio
import copy
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from connector.connections import load_connections
from connector.errors import ConnectorError
from connector.http import VendorClient
from connector.plugins import default_host
from tests.reliability.support import COUNTS, SETTINGS, check_outcome, inlined, run_cli
from tests.reliability.test_fuzz_inputs import JSON

HOST = default_host()
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
TOKEN_ENV = "RELIABILITY_FUZZ_TOKEN"
PLAYBOOK = "name: uses-c\nsteps:\n  - {id: probe, action: test_connection, connection: c}\n"
"""A playbook naming the fuzzed connection: its check reads the connections file, sending nothing."""

URLS = st.sampled_from([
    "https://x.example", "http://127.0.0.1:9", "https://x.example:99999", "https://u:pw@x.example", "ftp://x",
    "https://", "http://[::1", "https://x.example/\u2028", "", "https://ex ample.com", "https://x.example:-1",
])
PROXIES = st.sampled_from(["http://p:3128", "socks5://p:1080", "ftp://p:1", "p:3128", "http://u:pw@p:1"])
SECRETS = st.sampled_from(["env:" + TOKEN_ENV, "file:/no/such/token", "env:", "hunter2", "file:/dev/null"])
TOKENS = st.text(max_size=24) | st.sampled_from(["tok-0042\ntok-0043", "tök-0042", "", " tok-0042 "])


@st.composite
def connection_body(draw: st.DrawFn) -> Any:
    """A connection: valid from connection.json, or with values people and attackers get wrong."""
    schema = inlined(HOST.schemas.get("connection.json"), HOST.schemas, "connection.json")
    schema["required"] = [name for name in schema.get("required", []) if name != "name"]
    schema["properties"].pop("name", None)
    body = dict(draw(from_schema(schema)))
    body.update(vendor=draw(st.sampled_from([*HOST.vendors, "crowdstrike"])), base_url=draw(URLS),
                secret=draw(SECRETS))
    for key, strategy in (("proxy", PROXIES), ("verify_tls", st.sampled_from([True, "/no/ca.pem", 1])),
                          ("name", st.just("other")), (draw(st.text(max_size=6)), JSON)):
        if draw(st.booleans()) and draw(st.booleans()):
            body[key] = draw(strategy)
    return body


@st.composite
def connections_file(draw: st.DrawFn) -> bytes:
    """The bytes of a connections file: YAML of a drawn connection, or broken text."""
    kind = draw(st.sampled_from(["body", "body", "body", "not_mapping", "broken_yaml", "bytes", "deep"]))
    if kind == "body":
        return yaml.safe_dump({"connections": {"c": draw(connection_body())}}).encode()
    if kind == "not_mapping":
        return yaml.safe_dump({"connections": draw(JSON)}).encode()
    if kind == "broken_yaml":
        return b"connections:\n  c: {vendor: [\n"
    if kind == "bytes":
        return draw(st.binary(max_size=60))
    return b"connections: " + b"[" * draw(st.integers(65, 3000)) + b"]"


def try_client(path: Path) -> None:
    """Build the client a run would and send one request (to a mock): anything but a ConnectorError is a bug."""
    try:
        connection = load_connections(path)["c"]
        vendor = HOST.vendor(connection.vendor)
    except (ConnectorError, KeyError):
        return

    async def one_request() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
        async with VendorClient(connection=connection, vendor=vendor, events=HOST.hook, transport=transport) as client:
            await client.request("GET", "/probe")

    try:
        asyncio.run(one_request())
    except ConnectorError as exc:
        assert exc.exit_code in (1, 2) and "\n" not in exc.message


def test_connections_files_end_cleanly(tmp_path: Path) -> None:
    book = tmp_path / "uses-c.yaml"
    book.write_text(PLAYBOOK)

    @settings(max_examples=200, **SETTINGS)
    @given(content=connections_file(), token=TOKENS)
    def case(content: bytes, token: str) -> None:
        COUNTS["fuzz: connections files (cases)"] += 1
        path = tmp_path / "connections.yaml"
        path.write_bytes(content)
        environment = {TOKEN_ENV: token.replace("\0", "")}
        outcome = run_cli("--config", str(path), "playbook", "check", str(book), env=environment)
        assert "Traceback" not in outcome.stderr and outcome.code in (0, 2), outcome
        assert all(line.startswith("connector: ") for line in outcome.lines), outcome.stderr
        assert outcome.stdout in ("", "ok: 1 steps\n")
        os.environ.update(environment)
        try:
            try_client(path)
        finally:
            os.environ.pop(TOKEN_ENV, None)
        COUNTS[f"fuzz: connections files exit {outcome.code}"] += 1

    case()


EXPRESSIONS = st.sampled_from([
    "${{ inputs.item }}", "${{ steps.nope.output }}", "${{ lenght(inputs) }}", "${{ join(',') }}", "${{ [",
    "${{ }}", "${{ steps.incident.output.ref_id }}", "${{ inputs.item.uid }} and text", "${{ `1` }}",
    "${{ to_string(inputs.item.severity_id) }}", "${{ item }}",
])


@st.composite
def mutated_playbook(draw: st.DrawFn) -> Any:
    """A shipped example with one thing changed: a value replaced (by JSON or an expression), a key
    dropped or added, an input schema with a reference that leads nowhere."""
    document = yaml.safe_load(draw(st.sampled_from(EXAMPLES)).read_text())
    document = copy.deepcopy(document)
    node, key = _somewhere(draw, document)
    how = draw(st.sampled_from(["replace", "expression", "drop", "add", "ref", "none"]))
    if how == "replace":
        node[key] = draw(JSON)
    elif how == "expression":
        node[key] = draw(EXPRESSIONS)
    elif how == "drop" and isinstance(node, dict):
        node.pop(key)
    elif how == "add" and isinstance(node, dict):
        node[draw(st.text(min_size=1, max_size=8))] = draw(JSON | EXPRESSIONS)
    elif how == "ref":
        document["inputs"] = {"type": "object", "properties": {"item": {"$ref": draw(st.sampled_from(
            ["threat.json", "nope.json", "#/$defs/none", "threat.json#/properties/nowhere"]))}}}
    return document


def _somewhere(draw: st.DrawFn, document: Any) -> tuple[Any, Any]:
    """A container in ``document`` and one of its keys (or indexes), drawn by walking down from the top."""
    node, key = document, draw(st.sampled_from(sorted(document)))
    while isinstance(node[key], dict | list) and node[key] and draw(st.booleans()):
        node = node[key]
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
    return node, key


def test_playbooks_end_cleanly(tmp_path: Path, sandbox_url: str) -> None:
    schema = inlined(HOST.schemas.get("playbook.json"), HOST.schemas, "playbook.json")

    @settings(max_examples=150, **SETTINGS)
    @given(document=from_schema(schema) | mutated_playbook())
    def case(document: Any) -> None:
        COUNTS["fuzz: playbooks (cases)"] += 1
        path = tmp_path / "book.yaml"
        path.write_text(yaml.safe_dump(document))
        checked = run_cli("playbook", "check", str(path), "--sandbox")
        assert "Traceback" not in checked.stderr and checked.code in (0, 2), checked
        assert all(line.startswith("connector: ") for line in checked.lines), checked.stderr
        COUNTS[f"fuzz: playbooks check exit {checked.code}"] += 1
        if checked.code == 0:
            ran = run_cli("playbook", "run", str(path), "--sandbox-url", sandbox_url, "--dry-run", "--no-progress",
                          "--input", "{}")
            result = check_outcome(ran, allowed=frozenset({0, 1, 2, 3}))
            assert result is None or "steps" in result
            COUNTS[f"fuzz: playbooks run exit {ran.code}"] += 1

    case()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_shipped_examples_pass_the_check(example: Path) -> None:
    assert run_cli("playbook", "check", str(example), "--sandbox").code == 0
