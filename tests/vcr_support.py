"""vcrpy cassettes of real client traffic, recorded against the sandbox over loopback.

``with cassette("name") as base_url:`` replays ``tests/cassettes/name.yaml`` when it exists
(a request the cassette does not hold fails the test) and otherwise starts the sandbox, records,
and writes it. Authorization headers are never written; matching ignores host and port because
the sandbox listens on an ephemeral port.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import vcr

from connector.sandbox import SandboxConfig, running_sandbox

CASSETTES = Path(__file__).parent / "cassettes"
REPLAY_URL = "http://127.0.0.1:9"
"""Where replayed requests pretend to go: never contacted, vcrpy answers them."""

recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="once",
    filter_headers=["authorization"],
    match_on=["method", "path", "query", "body"],
    decode_compressed_response=True,
)


@contextmanager
def cassette(name: str, config: SandboxConfig | None = None) -> Iterator[str]:
    """Yield the base URL to use: a live sandbox while recording, a placeholder on replay."""
    path = CASSETTES / f"{name}.yaml"
    with recorder.use_cassette(path.name):
        if path.exists():
            yield REPLAY_URL
        else:
            with running_sandbox(config or SandboxConfig(rate_limits=False)) as url:
                yield url
