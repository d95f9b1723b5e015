"""The CISO Assistant simulator answers the 40 recorded real exchanges as the real server did.

Every file of tests/fixtures/real/ciso_assistant is replayed in order against one fresh
simulator (no seeded incidents, like the freshly migrated server of the recording). Each answer
must match: status, the recorded headers (and none of them that the recording lacks), and the
body: JSON keys in the same order, the same types and values, with the recorded ids and timestamps
mapped to the simulator's own (learned the first time an answer shows them); text bodies line by
line with the same mapping; binary bodies by their first bytes.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from connector.sandbox.ciso_assistant import create_app
from tests.ciso_recordings import (
    ISO,
    PLAIN,
    RECORDINGS,
    TOKEN,
    UUID,
    Translation,
    exchanges,
    instant,
    plain,
    recording_files,
)

HEADERS = ("Content-Type", "Location", "Content-Disposition", "Allow", "WWW-Authenticate")
RECORDED_AT = datetime(2026, 12, 1, 8, 4, 3, tzinfo=UTC).timestamp()


def ticking_clock(step: float = 0.0131) -> Iterator[float]:
    """A clock that moves forward by ``step`` at each reading, from the moment the recording began."""
    moment = RECORDED_AT
    while True:
        moment += step
        yield moment


class Replay:
    """One fresh simulator and the translation learned while replaying the files into it."""

    def __init__(self) -> None:
        ticks = ticking_clock()
        self.app = create_app(seed=3, size=0, token=TOKEN, clock=lambda: next(ticks))
        self.names = Translation()

    async def send(self, client: httpx.AsyncClient, request: dict[str, Any]) -> httpx.Response:
        headers = dict(request["headers"])
        body = request.get("body")
        content: bytes | None = None
        if isinstance(body, str):
            content = body.encode()
        elif body is not None:
            content = json.dumps(self.names.request_value(body)).encode()
        path = self.names.text(request["path"], register=True)
        return await client.request(request["method"], path, headers=headers, content=content)

    def compare(self, expected: Any, actual: Any, where: str) -> None:
        """Recursive comparison of a JSON body; ids and instants are learned or checked through the mapping."""
        if isinstance(expected, dict):
            assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
            assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
            for key, value in expected.items():
                self.compare(value, actual[key], f"{where}.{key}")
        elif isinstance(expected, list):
            assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r} vs {expected!r}"
            for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
                self.compare(want, got, f"{where}[{index}]")
        elif isinstance(expected, str) and UUID.fullmatch(expected):
            self.names.learn_id(expected, actual, where)
        elif isinstance(expected, str) and ISO.fullmatch(expected):
            self.names.learn_time(expected, actual, where)
        elif isinstance(expected, str):
            assert actual == self.names.text(expected), f"{where}: {actual!r} != {expected!r}"
        else:
            assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"

    def compare_text(self, expected: str, actual: str, where: str) -> None:
        """Text bodies: equal once ids and datetimes are mapped; second-precision stamps map consistently."""
        want = self.names.plain_text(expected)
        want_parts, got_parts = PLAIN.split(want), PLAIN.split(actual)
        assert len(got_parts) == len(want_parts), f"{where}: {actual!r} != {want!r}"
        assert got_parts == want_parts, f"{where}: {actual!r} != {want!r}"
        for token, got in zip(PLAIN.findall(want), PLAIN.findall(actual), strict=True):
            if len(token) > 19 or instant(token) in self.names.times:
                expected_token = plain(self.names.times.get(instant(token), instant(token)))
                assert got in (token, expected_token), f"{where}: {got} != {token}"
            else:
                assert self.names.seconds.setdefault(token, got) == got, f"{where}: {got} is not {token}'s"

    def check(self, recorded: dict[str, Any], answer: httpx.Response, where: str) -> None:
        """One answer against its recording."""
        assert answer.status_code == recorded["status"], f"{where}: {answer.status_code} {answer.text[:300]}"
        for name in HEADERS:
            want = recorded["headers"].get(name)
            got = answer.headers.get(name)
            assert (got is None) == (want is None), f"{where}: header {name} is {got!r}, recorded {want!r}"
            if want is not None:
                assert got == self.names.text(want), f"{where}: header {name} {got!r} != {want!r}"
        body = recorded.get("body")
        media = (recorded["headers"].get("Content-Type") or "").split(";")[0]
        if "body_note" in recorded:
            start = ast.literal_eval(re.search(r"starting with (b'.*')", recorded["body_note"])[1])  # type: ignore[index]
            assert answer.content.startswith(start), f"{where}: starts with {answer.content[:8]!r}"
        elif media == "application/json":
            self.compare(body, answer.json(), where)
        else:
            self.compare_text(body, answer.text, where)


def test_the_simulator_answers_every_recorded_exchange() -> None:
    files = recording_files()
    assert len(files) == 40
    replay = Replay()

    async def run() -> int:
        count = 0
        transport = httpx.ASGITransport(app=replay.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ciso.test") as client:
            for path in files:
                for index, exchange in enumerate(exchanges(path)):
                    where = f"{path.stem}[{index}] {exchange['request']['method']} {exchange['request']['path'][:80]}"
                    answer = await replay.send(client, exchange["request"])
                    replay.check(exchange["response"], answer, where)
                    count += 1
        return count

    assert asyncio.run(run()) == sum(len(exchanges(path)) for path in files)
    # every object of the recording's table got a simulator id of its own
    assert len(set(replay.names.ids.values())) == len(replay.names.ids)


def test_the_recordings_come_with_their_notes() -> None:
    assert (RECORDINGS / "README.md").is_file()
    assert (RECORDINGS.parent / "SOURCES.md").is_file()
