"""What the watch tests share: a fake vendor, clock and sink for the poll algorithm, and CLI helpers."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson

from connector.envelope import Envelope, ErrorItem
from connector.watch.checkpoint import CheckpointStore, new_checkpoint
from connector.watch.items import WATCHABLE, ItemKey, rfc3339
from connector.watch.poller import Watcher

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONNECTOR = [sys.executable, "-m", "connector"]
TOKEN_ENV = "WATCH_TEST_S1_TOKEN"


def at(seconds: float) -> datetime:
    """T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


class FakeClock:
    """A clock the test sets; each read returns ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeWindow:
    """A window read, as the watch sees a RecordStream: its records one by one, then its envelope."""

    def __init__(self, envelope: Envelope, records: list[dict[str, Any]]) -> None:
        self.envelope, self._records = envelope, records

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        for record in self._records:
            yield record

    async def aclose(self) -> None:
        return None


class FakeVendor:
    """Threats (uid -> updated_at) answered like a paging vendor: the window only, in (stamp, uid)
    order unless ``shuffled``, with the record at each page boundary sent twice (as offset paging
    does when a record moves)."""

    def __init__(self, seed: int = 1, page_size: int = 3, *, shuffled: bool = False) -> None:
        self.threats: dict[str, datetime] = {}
        self.windows: list[tuple[datetime, datetime]] = []
        self.answers: list[Envelope] = []
        """Envelopes answered, first in first out, before reading the threats (a fault, a partial)."""
        self.during_read: Callable[[], None] | None = None
        self._random = random.Random(seed)
        self._page_size = page_size
        self._shuffled = shuffled

    def put(self, uid: str, stamp: datetime) -> None:
        """Create or update a threat."""
        self.threats[uid] = stamp

    def fetch(self, since: datetime, until: datetime) -> FakeWindow:
        """The window [since, until], as the watch's fetch."""
        self.windows.append((since, until))
        if self.answers:
            answer = self.answers.pop(0)
            return FakeWindow(answer, answer.output.get("threats") or [])
        inside = sorted((stamp, uid) for uid, stamp in self.threats.items() if since <= stamp <= until)
        found = [threat(uid, stamp) for stamp, uid in inside]
        if self._shuffled:
            self._random.shuffle(found)
        if self.during_read is not None:
            self.during_read()
        pages = [found[start : start + self._page_size] for start in range(0, len(found), self._page_size)]
        records = list(pages[0]) if pages else []
        for previous, page in pairwise(pages):
            records += [dict(previous[-1]), *page]
        envelope = Envelope(action="get_threats", status="success", output={"threats": [], "count": len(records)})
        return FakeWindow(envelope, records)


def threat(uid: str, stamp: datetime) -> dict[str, Any]:
    """A threat as get_threats outputs it, reduced to what the watch reads."""
    return {"uid": uid, "title": f"threat {uid}", "updated_at": rfc3339(stamp)}


def failed(kind: str = "retriable", message: str = "GET /threats: 503 Service Unavailable") -> Envelope:
    """The envelope of a fetch the vendor failed."""
    return Envelope(action="get_threats", status="failed", errors=[ErrorItem(type=kind, message=message)])


class RecordingSink:
    """Records what it handles; ``refuse`` lists uids it fails on, ``after`` runs after each item."""

    output: str | None = None
    length = 0
    commit_every = 1
    concurrency = 1

    def __init__(self) -> None:
        self.handled: list[tuple[str, datetime]] = []
        self.refuse: set[str] = set()
        self.after: Callable[[int], None] | None = None

    async def handle(self, item: dict[str, Any], key: ItemKey) -> str | None:
        if key.uid in self.refuse:
            return f"could not handle {key.uid}"
        self.handled.append((key.uid, key.stamp))
        if self.after is not None:
            self.after(len(self.handled))
        return None

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass


def make_watcher(
    state: Path, vendor: FakeVendor, sink: RecordingSink, clock: FakeClock, *, start: datetime = T0,
    lookback: float = 60.0, said: list[str] | None = None,
) -> Watcher:
    """A watcher on a new checkpoint that starts at ``start`` (or on the checkpoint already at ``state``)."""
    store = CheckpointStore(state)
    checkpoint = store.load() or new_checkpoint("get_threats", "fake", start)
    return Watcher(
        store, checkpoint, WATCHABLE["get_threats"], vendor.fetch, sink,
        lookback=timedelta(seconds=lookback), clock=clock, say=(said if said is not None else []).append,
    )


def connector(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process."""
    return subprocess.run(
        [*CONNECTOR, *args], capture_output=True, text=True, timeout=timeout, env=cli_env(env),
    )


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI process: the S1 token in its variable, no default connections file."""
    return {**os.environ, "CONNECTOR_CONFIG": "", TOKEN_ENV: "sandbox-token", **(extra or {})}


def write_connections(folder: Path, sandbox_url: str, *, retries: int = 0, extra: str = "") -> Path:
    """A connections file with ``s1`` on the sandbox's SentinelOne, its token from the environment."""
    path = folder / "connections.yaml"
    path.write_text(
        "connections:\n"
        "  s1:\n"
        "    vendor: sentinelone\n"
        f"    base_url: {sandbox_url}/sentinelone\n"
        f"    secret: env:{TOKEN_ENV}\n"
        f"    retries: {retries}\n" + extra
    )
    return path


def ndjson(text: str | bytes) -> list[dict[str, Any]]:
    """The objects of NDJSON text."""
    return [orjson.loads(line) for line in (text.splitlines() if text else [])]


def versions(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(uid, updated_at) of each item, in order."""
    return [(item["uid"], item["updated_at"]) for item in items]
