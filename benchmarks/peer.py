"""The peer row (issue 24 target 5): ``connector run`` against a minimal singer-sdk tap on the same pages.

Both run as child processes over PEER_STREAMED SentinelOne threats from the bench-only stream
server (:func:`benchmarks.servers.serve_threat_stream`), their output to /dev/null: the connector
maps every threat to NDJSON, the tap (:mod:`benchmarks.singer_tap`) only emits each as the vendor
sent it, as Singer RECORD messages. They alternate (:func:`benchmarks.method.alternate`),
BENCH_REPEATS runs each, after an untimed read of 1,000 threats by each (file cache, server).
The tap needs the ``bench`` extra, which ``make bench`` installs.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import orjson

from benchmarks.method import alternate
from benchmarks.pipeline import REPEATS, _rate, _run, _stream, _stream_connections
from benchmarks.processes import measured_or_failed, python
from benchmarks.report import HEADER, Row
from benchmarks.servers import in_child_process, serve_threat_stream

PEER_STREAMED = int(os.environ.get("BENCH_PEER", "100000"))
WARM_UP = 1000
TARGET = 2.5
"""The connector at least this many times as fast as the tap."""
TAP = "minimal singer-sdk RESTStream tap, no mapping"


def tap_command(base_url: str, config: Path) -> list[str]:
    """The tap reading ``base_url``'s SentinelOne threats, with its config written to ``config``."""
    config.write_bytes(orjson.dumps({"api_url": f"{base_url}/sentinelone", "api_token": "sandbox-token"}))
    return python("-m", "benchmarks.singer_tap", "--config", str(config))


def rows() -> list[Row]:
    """The connector's records per second against the tap's, over the same pages."""
    if importlib.util.find_spec("singer_sdk") is None:
        print("benchmarks: the peer row needs singer-sdk: pip install -e '.[bench]' (make bench does)")
    with in_child_process(serve_threat_stream) as server, tempfile.TemporaryDirectory() as temporary:
        # As the stream row reads: through a connection whose rate limit is far above the load, since
        # SentinelOne's documented 10 requests/s would cap the connector, and the tap keeps none.
        config = _stream_connections(Path(temporary), server.url, (WARM_UP, PEER_STREAMED))
        warm_up, streamed = f"{server.url}/{WARM_UP}", f"{server.url}/{PEER_STREAMED}"
        measured_or_failed(_stream(config, WARM_UP))
        measured_or_failed(tap_command(warm_up, Path(temporary) / "warm-up.json"))
        tap = tap_command(streamed, Path(temporary) / "tap.json")
        block = alternate({
            "connector": _run(_stream(config, PEER_STREAMED)),
            "tap": _run(tap),
        }, REPEATS, warm=False)
    speed = _rate(f"{PEER_STREAMED:,} S1 threats: records / s (median of {REPEATS})", PEER_STREAMED, block,
                  "connector", TAP, "tap")
    return [replace(speed, target=f">= {TARGET}x", met=speed.value >= TARGET * speed.baseline_value)]


def section() -> list[str]:
    """Issue 24's peer target as a part of BENCHMARKS.md."""
    return [
        "## Issue 24: against a peer",
        "",
        f"`connector run get-threats --format ndjson` against `benchmarks/singer_tap.py`, a {TAP} (the SDK's "
        "cursor paginator, each threat emitted as sent), both child processes reading the same pages of the "
        "bench-only stream server, output to /dev/null; the connector through a connection whose rate limit is "
        "far above the load, as the tap keeps none.",
        "",
        *HEADER,
        *(row.line() for row in rows()),
    ]
