"""A ``--format ndjson`` read that fails part-way says on stderr where to resume, and resuming reads the rest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.sandbox import DEFAULT_SIZES, FaultPlan, SandboxConfig, build_app, serving

RESUME_LINE = re.compile(r"connector: resume with --resume '(?P<point>\{.*\})' \(or input\.resume\) to read the rest")


@pytest.fixture
def connections(tmp_path: Path) -> Iterator[Path]:
    # Request 1 is the first page; the second page fails, and so does its one retry (requests 2 and 3).
    app = build_app(SandboxConfig(rate_limits=False, vendors=("sentinelone",), faults=FaultPlan.parse("500@2-3")))
    with serving(app) as url:
        path = tmp_path / "connections.yaml"
        path.write_text(
            f"connections:\n  s1:\n    vendor: sentinelone\n    base_url: {url}/sentinelone\n"
            "    secret: env:RESUME_TEST_S1\n    retries: 1\n"
        )
        yield path


def _read(connections: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(connections), "run", "get-threats", "-c", "s1",
         "--format", "ndjson", "--no-progress", *extra],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "CONNECTOR_CONFIG": "", "RESUME_TEST_S1": SandboxConfig().token},
    )


def _uids(stdout: str) -> list[str]:
    """The records' uids: every line but the last, which is the envelope."""
    *records, envelope = (json.loads(line) for line in stdout.splitlines())
    assert "uid" not in envelope
    return [record["uid"] for record in records]


def test_a_failed_ndjson_read_names_its_resume_point_and_resuming_reads_the_rest(connections: Path) -> None:
    first = _read(connections)
    assert first.returncode == 1
    assert "Traceback" not in first.stderr
    points = [match["point"] for line in first.stderr.splitlines() if (match := RESUME_LINE.fullmatch(line))]
    assert len(points) == 1, first.stderr
    assert json.loads(points[0]) == json.loads(first.stdout.splitlines()[-1])["meta"]["resume"]

    rest = _read(connections, "--resume", points[0])
    assert rest.returncode == 0, rest.stderr
    assert "resume with" not in rest.stderr
    read = _uids(first.stdout) + _uids(rest.stdout)
    assert len(_uids(first.stdout)) == 1000
    assert len(read) == len(set(read)) == DEFAULT_SIZES["sentinelone"]
