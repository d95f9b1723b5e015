"""A watch killed with SIGKILL at random points and restarted, many times, while threats change:
every version of every threat it saw is in the output file exactly once, and the last version of
each threat is there (nothing lost, nothing twice)."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

from connector.api import run_action
from connector.sandbox import SandboxConfig, running_sandbox
from connector.watch.checkpoint import CheckpointStore
from tests.watch.support import CONNECTOR, cli_env, ndjson, versions, write_connections

ROUNDS = 15
SEED = 20261122
SIZE = 40
SINCE = "2020-01-01T00:00:00Z"


def current_versions(sandbox_url: str) -> set[tuple[str, str]]:
    envelope = run_action("get_threats", {}, sandbox=sandbox_url, vendor="sentinelone")
    return set(versions(envelope.output["threats"]))


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_sigkill_at_random_points_then_restart_handles_every_version_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    config = SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": SIZE})
    with running_sandbox(config) as url:
        connections, state, output = write_connections(tmp_path, url), tmp_path / "state.json", tmp_path / "out.ndjson"
        command = [
            *CONNECTOR, "--config", str(connections), "watch", "get_threats", "-c", "s1", "--state", str(state),
            "--output", str(output), "--input", '{"vendor_filters": {"limit": 7}}',
        ]
        ever = current_versions(url)
        ids = sorted(uid.split(":", 1)[1] for uid, _stamp in ever)
        killed_mid_output = 0
        for round_number in range(ROUNDS):
            # Until a checkpoint exists the starting point must be given again.
            start = [] if state.exists() else ["--since", SINCE]
            process = subprocess.Popen(
                [*command, *start, "--every", "0s"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=cli_env(),
            )
            # Kill after a few more lines appeared, or after a random delay: during start-up, inside a
            # poll, between an append and its commit, or while polling an unchanged window. The first
            # round has the whole backlog to write, so it always dies in the middle of its output.
            lines_before, more_lines = line_count(output), rng.randint(1, 12)
            deadline = time.monotonic() + (60 if round_number == 0 else rng.uniform(0.2, 1.6))
            while time.monotonic() < deadline and line_count(output) < lines_before + more_lines:
                time.sleep(0.005)
            process.kill()
            process.wait()
            killed_mid_output += line_count(output) > lines_before
            if rng.random() < 0.7:
                changed = rng.sample(ids, rng.randint(1, 6))
                status = rng.choice(["in_progress", "resolved", "new"])
                update = run_action(
                    "update_threat_status", {"ids": changed, "status": status}, sandbox=url, vendor="sentinelone"
                )
                assert update.status == "success"
                ever |= current_versions(url)

        final = subprocess.run(
            [*command, "--once"], capture_output=True, text=True, timeout=60, env=cli_env(),
        )
        assert final.returncode == 0, final.stderr
        latest = current_versions(url)

    written = versions(ndjson(output.read_bytes()))
    assert len(written) == len(set(written)), "a version was written twice"
    assert latest <= set(written), "a threat's last version is missing"
    assert set(written) <= ever, "a version was written that never existed"
    assert killed_mid_output > 0
    checkpoint = CheckpointStore(state).load()
    assert checkpoint is not None and checkpoint.output_length == output.stat().st_size
