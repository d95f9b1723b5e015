"""Streamed output: the JSON envelope written record by record is the materialised one, byte for byte,
and `connector run --format ndjson` puts its first line out before the vendor sent its last page."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import orjson
import pytest

from connector.api import astream_action
from connector.formats import Writer
from connector.formats.builtin import EnvelopeWriter
from connector.output import to_json
from connector.plugins import default_host
from connector.runner import RecordStream
from connector.sandbox import SandboxConfig, build_app, running_sandbox

READS = {
    "get_threats": {"limit": 3},
    "list_events": {"limit": 3, "since": "2000-01-01T00:00:00Z"},
    "list_incidents": {"limit": 3},
}


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, sizes={"sentinelone": 20, "mysecutec": 20,
                                                                 "nameshield": 20, "ciso_assistant": 20})) as url:
        yield url


def first_id(sandbox_url: str, action: str, vendor: str, key: str) -> str:
    stream = astream_action(action, {"limit": 1}, sandbox=sandbox_url, vendor=vendor)

    async def first() -> str:
        async for record in stream:
            await stream.aclose()
            return str(record["vendor_id"])
        raise AssertionError(f"no {key}")

    return asyncio.run(first())


def inputs(sandbox_url: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    threat = {vendor: first_id(sandbox_url, "get_threats", vendor, "threats")
              for vendor in ("sentinelone", "mysecutec")}
    for spec in sorted(default_host().actions.values(), key=lambda spec: spec.name):
        for vendor in spec.vendors:
            document = dict(READS.get(spec.name, {}))
            if spec.name in ("get_threat_notes", "get_threat_logs", "get_threat"):
                document = {"id": threat[vendor]}
            yield spec.name, vendor, document


async def drain(stream: RecordStream, writer: Writer) -> list[dict[str, Any]]:
    """Write the run as `connector run` does, and keep its records to compare."""
    records = []
    async for record in stream:
        assert stream.records_key is not None
        writer.record(stream.envelope_so_far, stream.records_key, record)
        records.append(record)
    writer.finish(stream.envelope, stream.records_key)
    return records


def test_the_streamed_json_envelope_is_the_materialised_one_byte_for_byte(sandbox_url: str) -> None:
    compared = 0
    for action, vendor, document in inputs(sandbox_url):
        spec = default_host().action(action)
        stream = astream_action(action, document, sandbox=sandbox_url, vendor=vendor, dry_run=spec.mutates)
        written = io.StringIO()
        records = asyncio.run(drain(stream, EnvelopeWriter(written)))
        envelope = stream.envelope
        if stream.records_key is not None and stream.records_key in envelope.output:
            envelope.output[stream.records_key] = records
            compared += bool(records)
        assert written.getvalue() == to_json(envelope) + "\n", f"{action} via {vendor}"
        assert orjson.loads(written.getvalue())["status"] == envelope.status
    assert compared >= 6  # most records actions of every vendor streamed records


class SlowLastPage(BaseHTTPRequestHandler):
    """SentinelOne's threats in two pages; the second waits until the test has read a line."""

    pages: ClassVar[list[bytes]] = []
    release = threading.Event()

    def do_GET(self) -> None:
        second = "cursor=" in self.path
        if second:
            self.release.wait(timeout=30)
        body = self.pages[1 if second else 0]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


def sandbox_threats(count: int) -> list[dict[str, Any]]:
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": count})
    async def fetch() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(config)),
                                     base_url="http://sandbox") as api:
            answer = await api.get("/sentinelone/web/api/v2.1/threats", params={"limit": count},
                                   headers={"Authorization": f"ApiToken {config.token}"})
            data: list[dict[str, Any]] = answer.json()["data"]
            return data

    return asyncio.run(fetch())


def test_the_first_ndjson_line_is_out_before_the_server_sent_the_last_page() -> None:
    threats = sandbox_threats(4)
    SlowLastPage.pages = [
        orjson.dumps({"data": threats[:2], "pagination": {"nextCursor": "next", "totalItems": 4}}),
        orjson.dumps({"data": threats[2:], "pagination": {"nextCursor": None, "totalItems": 4}}),
    ]
    SlowLastPage.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowLastPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        command = [sys.executable, "-m", "connector", "run", "get-threats", "--sandbox-url", url, "--format", "ndjson"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={**os.environ, "PYTHONUNBUFFERED": "0"})
        assert process.stdout is not None
        first = orjson.loads(process.stdout.readline())
        assert not SlowLastPage.release.is_set()  # the last page is still held back
        assert first["vendor_id"] == str(threats[0]["id"])
        SlowLastPage.release.set()
        rest = process.stdout.read().splitlines()
        assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
        *records, last = [orjson.loads(line) for line in rest]
        assert [record["vendor_id"] for record in records] == [str(t["id"]) for t in threats[1:]]
        assert (last["status"], last["output"]["count"]) == ("success", len(threats))
    finally:
        SlowLastPage.release.set()
        server.shutdown()
