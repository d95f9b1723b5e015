"""The record pipeline: records handed out as pages arrive, one bad record isolated, a failed page resumable.

A test vendor (tests/plugins/paged) maps records naively, so that odd records make its mapper
raise what real code raises; pages come from an in-memory transport that logs what was asked.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from connector.api import arun_action, astream_action, stream_action
from connector.connections import Connection
from connector.errors import BadInput
from connector.plugins import Host
from connector.runner import TURN_EVERY
from connector.sandbox import SandboxConfig, build_app
from tests.plugins import paged
from tests.plugins.recorder import EventRecorder

GOOD = [{"id": f"g{n}", "name": f" threat {n} ", "severity": "high", "hosts": [{"name": f"h{n}"}]} for n in range(7)]
BAD = {
    "refused value": {"id": "b1", "name": "x", "severity": "unheard-of", "hosts": []},
    "wrong type for an object": {"id": "b2", "name": "x", "severity": "low", "hosts": "h1,h2"},
    "missing required key": {"name": "no id", "severity": "low", "hosts": []},
    "list of scalars for objects": {"id": "b4", "name": "x", "severity": "low", "hosts": [1, 2]},
    "value of the wrong type": {"id": "b5", "name": 12, "severity": "low", "hosts": []},
}
HOST = Host([paged], entry_points=False)


class Pages:
    """Serves ``records`` three (``per_page``) to a page by cursor; pages in ``failing`` always answer 500."""

    def __init__(self, records: list[dict[str, Any]], failing: frozenset[int] = frozenset(), per_page: int = 3) -> None:
        self.records, self.failing, self.per_page = records, failing, per_page
        self.asked: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("cursor", "0"))
        self.asked.append(page)
        if page in self.failing:
            return httpx.Response(500, json={"detail": "boom"})
        size = self.per_page
        items = self.records[page * size:page * size + size]
        more = (page + 1) * size < len(self.records)
        return httpx.Response(200, json={"items": items, "pagination": {"nextCursor": str(page + 1) if more else None}})


def run(pages: Pages, input: dict[str, Any] | None = None, **options: Any) -> Any:
    async def no_sleep(_: float) -> None:
        return None

    connection = Connection(name="p", vendor="paged", base_url="https://paged.example", secret="env:PAGED_TOKEN")
    return asyncio.run(arun_action("get_threats", input or {}, connection=connection, host=HOST,
                                   transport=httpx.MockTransport(pages), sleep=no_sleep, **options))


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGED_TOKEN", "paged-secret-token")


def ids(envelope: Any) -> list[str]:
    return [threat["vendor_id"] for threat in envelope.output["threats"]]


def test_each_bad_record_is_one_error_item_and_every_good_record_comes_out() -> None:
    records = [GOOD[0], *BAD.values(), *GOOD[1:]]
    envelope = run(Pages(records))
    assert (envelope.status, envelope.exit_code) == ("partial", 3)
    assert ids(envelope) == [record["id"] for record in GOOD]
    assert envelope.output["threats"][0]["title"] == "threat 0"
    assert (envelope.output["count"], envelope.meta.skipped, envelope.meta.records) == (7, 5, 7)
    assert [(error.item, error.type) for error in envelope.errors] == [
        ("b1", "bad_answer"), ("b2", "bad_answer"), ("#3", "bad_answer"), ("b4", "bad_answer"), ("b5", "bad_answer"),
    ]
    assert [error.message for error in envelope.errors] == [
        "paged: record b1 cannot be mapped (KeyError: 'unheard-of')",
        "paged: record b2 cannot be mapped (TypeError: string indices must be integers, not 'str')",
        "paged: record #3 cannot be mapped (KeyError: 'id')",
        "paged: record b4 cannot be mapped (TypeError: 'int' object is not subscriptable)",
        "paged: record b5 cannot be mapped (AttributeError: 'int' object has no attribute 'strip')",
    ]


def test_strict_fails_the_run_at_the_first_bad_record_keeping_those_before_it() -> None:
    envelope = run(Pages([GOOD[0], GOOD[1], BAD["refused value"], GOOD[2]]), strict=True)
    assert (envelope.status, envelope.exit_code, ids(envelope)) == ("failed", 1, ["g0", "g1"])
    assert [error.message for error in envelope.errors] == [
        "paged: record b1 cannot be mapped (KeyError: 'unheard-of') (--strict stops at the first bad record)"
    ]


def test_a_page_failing_after_its_retries_keeps_the_pages_before_it_and_a_resume_reads_the_rest() -> None:
    failed = run(Pages(GOOD, failing=frozenset({1})))
    assert (failed.status, failed.exit_code, ids(failed)) == ("failed", 1, ["g0", "g1", "g2"])
    assert failed.output["count"] == 3
    assert failed.meta.resume == {"cursor": "1"}
    assert [error.message for error in failed.errors] == ["paged: GET /items: 500 Internal Server Error"]
    rest = run(Pages(GOOD), {"resume": failed.meta.resume})
    assert rest.status == "success"
    assert ids(failed) + ids(rest) == [record["id"] for record in GOOD]


def test_a_resume_point_of_another_paging_style_is_bad_input() -> None:
    envelope = run(Pages(GOOD), {"resume": {"offset": 3}})
    assert (envelope.exit_code, [error.message for error in envelope.errors]) == (
        2, ["input.resume: 'offset' is not where this read resumes from (it takes 'cursor')"])


def test_records_reach_the_caller_before_the_last_page_is_asked_for() -> None:
    pages = Pages(GOOD)
    connection = Connection(name="p", vendor="paged", base_url="https://paged.example", secret="env:PAGED_TOKEN")
    seen: list[tuple[str, list[int]]] = []
    stream = stream_action("get_threats", {}, connection=connection, host=HOST, transport=httpx.MockTransport(pages))
    for record in stream:
        seen.append((record["vendor_id"], list(pages.asked)))
    # The first record is out while only its page and the one fetched ahead of it were asked for.
    assert seen[0] == ("g0", [0, 1])
    assert [vendor_id for vendor_id, _ in seen] == [record["id"] for record in GOOD]
    assert (stream.envelope.status, stream.envelope.output) == ("success", {"threats": [], "count": 7, "total": None})


def test_the_next_page_is_asked_for_while_a_long_page_is_still_handed_out() -> None:
    # Mapping never waits: without a turn given to the event loop now and then, the request asked
    # for ahead would only go out once the whole page was handed out.
    long_page = [{**GOOD[0], "id": f"r{n}"} for n in range(3 * TURN_EVERY)]
    pages = Pages(long_page, per_page=2 * TURN_EVERY)
    connection = Connection(name="p", vendor="paged", base_url="https://paged.example", secret="env:PAGED_TOKEN")

    async def asked_by_record() -> list[list[int]]:
        stream = astream_action("get_threats", {}, connection=connection, host=HOST,
                                transport=httpx.MockTransport(pages))
        return [list(pages.asked) async for _ in stream]

    asked = asyncio.run(asked_by_record())
    # The turn comes before the TURN_EVERY-th record is handed out, with most of the page still to go.
    assert len(asked) == 3 * TURN_EVERY
    assert asked.index([0, 1]) == TURN_EVERY - 1


def test_a_binding_yielding_batches_hands_out_the_same_records_and_events() -> None:
    records = [GOOD[0], BAD["refused value"], *GOOD[1:]]
    seen = {}
    for vendor in ("paged", "paged_batches"):
        recorder = EventRecorder()
        host = Host([paged, recorder], entry_points=False)
        connection = Connection(name="p", vendor=vendor, base_url="https://paged.example", secret="env:PAGED_TOKEN")
        envelope = asyncio.run(arun_action("get_threats", {}, connection=connection, host=host,
                                           transport=httpx.MockTransport(Pages(records))))
        stream = stream_action("get_threats", {}, connection=connection, host=host,
                               transport=httpx.MockTransport(Pages(records)))
        streamed = [record["vendor_id"] for record in stream]
        emitted = [event for event in recorder.events if event[0] == "record_emitted"]
        errors = [error.message.replace(vendor, "VENDOR") for error in envelope.errors]
        seen[vendor] = (envelope.output, envelope.meta.records, errors,
                        streamed, emitted)
    assert seen["paged_batches"] == seen["paged"]
    output, count, errors, streamed, emitted = seen["paged"]
    assert (len(output["threats"]), count, len(errors), len(emitted)) == (7, 7, 1, 14)
    assert streamed == [record["id"] for record in GOOD]


def test_a_stream_stopped_early_cancels_what_it_fetched_ahead() -> None:
    pages = Pages(GOOD)
    connection = Connection(name="p", vendor="paged", base_url="https://paged.example", secret="env:PAGED_TOKEN")

    async def first_only() -> dict[str, Any]:
        stream = astream_action("get_threats", {}, connection=connection, host=HOST,
                                transport=httpx.MockTransport(pages))
        async for record in stream:
            await stream.aclose()
            return record
        raise AssertionError("no record")

    assert asyncio.run(first_only())["vendor_id"] == "g0"
    assert pages.asked == [0]  # the page asked for ahead was cancelled before it went out


def test_the_envelope_is_only_known_once_the_stream_is_read() -> None:
    connection = Connection(name="p", vendor="paged", base_url="https://paged.example", secret="env:PAGED_TOKEN")
    stream = astream_action("get_threats", {}, connection=connection, host=HOST)
    with pytest.raises(RuntimeError, match="once every record"):
        _ = stream.envelope
    asyncio.run(stream.aclose())


def test_values_a_mapper_drops_are_counted_per_field_and_named_at_verbose(caplog: pytest.LogCaptureFixture) -> None:
    records = [{**GOOD[0], "url": "ftp://x"}, {**GOOD[1], "url": "javascript:1"}, GOOD[2]]
    with caplog.at_level("INFO", logger="connector.records"):
        envelope = run(Pages(records))
    assert (envelope.status, envelope.meta.model_extra) == ("success", {"dropped_values": {"url": 2}})
    assert [threat["url"] for threat in envelope.output["threats"]] == [None, None, None]
    assert caplog.messages == [
        "paged: record g0: dropped url (not an http(s) URL)", "paged: record g1: dropped url (not an http(s) URL)",
    ]


class OnePage(BaseHTTPRequestHandler):
    """Serves one SentinelOne page of ``body``."""

    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        return None


def sentinelone_page(count: int) -> list[dict[str, Any]]:
    """``count`` threats as the SentinelOne simulator serves them."""
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": count})

    async def fetch() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(config)), base_url="http://s") as api:
            answer = await api.get("/sentinelone/web/api/v2.1/threats", params={"limit": count},
                                   headers={"Authorization": f"ApiToken {config.token}"})
            data: list[dict[str, Any]] = answer.json()["data"]
            return data

    return asyncio.run(fetch())


@pytest.mark.parametrize("strict", [False, True])
def test_a_sentinelone_page_with_a_bad_record_of_each_kind_through_the_cli(strict: bool) -> None:
    good = sentinelone_page(4)
    no_id = {key: value for key, value in good[0].items() if key != "id"}
    no_id["threatInfo"] = {key: value for key, value in no_id["threatInfo"].items() if key != "threatId"}
    wrong_type = {**good[1], "id": "900000000000000001", "threatInfo": "garbage"}
    refused_id = {**good[2], "id": "*" * 18, "threatInfo": {**good[2]["threatInfo"], "threatId": None}}
    scalars = {**good[3], "id": "900000000000000004", "indicators": [1, 2, 3]}  # mapped: the integers are dropped
    page = [good[0], no_id, good[1], wrong_type, refused_id, [1, 2], good[2], scalars, good[3]]
    OnePage.body = orjson.dumps({"data": page, "pagination": {"nextCursor": None, "totalItems": len(page)}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), OnePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        command = [sys.executable, "-m", "connector", "run", "get-threats", "--format", "ndjson",
                   "--sandbox-url", f"http://127.0.0.1:{server.server_address[1]}", *(["--strict"] if strict else [])]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:
        server.shutdown()
    assert "Traceback" not in done.stderr
    *lines, last = [orjson.loads(line) for line in done.stdout.splitlines()]
    said = done.stderr.splitlines()
    assert last["status"] == ("failed" if strict else "partial")  # NDJSON ends with the envelope
    if strict:
        assert done.returncode == 1
        assert [line["vendor_id"] for line in lines] == [str(good[0]["id"])]  # out before the bad record came
        assert said[0].startswith("connector: sentinelone: threat: id: missing") and said[0].endswith(
            "(--strict stops at the first bad record)")
        return
    assert done.returncode == 3
    expected = [str(g["id"]) for g in good[:3]] + [scalars["id"], str(good[3]["id"])]
    assert [line["vendor_id"] for line in lines] == expected
    assert said[:4] == [
        f"connector: #1: {said[0].split(': ', 2)[2]}",
        "connector: 900000000000000001: sentinelone: threat 900000000000000001: threatInfo: missing or not an object, "
        "and no field of the flat v2.0 shape",
        f"connector: #4: {said[2].split(': ', 2)[2]}",
        "connector: #5: sentinelone: threat: expected an object, got list",
    ]
    assert "id: missing" in said[0] and "id: missing" in said[2]
    assert said[4].startswith("connector: get_threats via sentinelone (sandbox): partial, 5 threats")


def test_the_python_api_refuses_a_connection_beside_a_sandbox() -> None:
    envelope = asyncio.run(arun_action("get_threats", {}, connection="s1", sandbox="http://127.0.0.1:9"))
    assert (envelope.exit_code, [error.message for error in envelope.errors]) == (
        2, ["connection and sandbox: give only one of them (each says where to run)"])


def test_stream_action_inside_a_running_loop_says_what_to_use_instead() -> None:
    async def inside() -> None:
        stream_action("get_threats", {}, sandbox="http://127.0.0.1:9")

    with pytest.raises(BadInput, match="use `async for` over astream_action there"):
        asyncio.run(inside())
