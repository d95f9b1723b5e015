"""The messy sandbox: a seeded share of records damaged, the same way on every read."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import SandboxConfig
from connector.sandbox.messy import mess_up, s1_flat
from tests.records_support import served_records

SIZES = {"sentinelone": 300, "mysecutec": 200, "nameshield": 200, "ciso_assistant": 100}
CONNECTOR = str(Path(sys.executable).parent / "connector")


def _served(**options: Any) -> dict[str, list[Any]]:
    return asyncio.run(served_records(SandboxConfig(sizes=SIZES, rate_limits=False, **options)))


def test_the_same_seed_serves_the_same_damage_and_zero_serves_clean_records() -> None:
    clean, messy = _served(), _served(messy=0.3)
    assert messy == _served(messy=0.3), "deterministic by seed"
    assert messy != _served(messy=0.3, seed=8)
    assert clean == _served(messy=0.0)
    for vendor in ("sentinelone", "mysecutec", "nameshield", "ciso_assistant"):
        changed = sum(a != b for a, b in zip(clean[vendor], messy[vendor], strict=True))
        assert 0.15 * len(clean[vendor]) < changed < 0.45 * len(clean[vendor]), (vendor, changed)


def test_a_record_is_damaged_by_its_id_alone() -> None:
    record = {"id": "42", "threatInfo": {"threatName": "x"}}
    assert mess_up("sentinelone", record, 1.0, 7) == mess_up("sentinelone", dict(record), 1.0, 7)
    assert mess_up("sentinelone", record, 0.0, 7) is record
    assert record == {"id": "42", "threatInfo": {"threatName": "x"}}, "the store's record is never changed"
    assert mess_up("nameshield", "not a record", 1.0, 7) == "not a record"


def test_the_flat_shape_is_sentinelones_older_api() -> None:
    nested = {
        "id": "1",
        "threatInfo": {"threatName": "evil.exe", "classification": "Trojan", "sha1": "a" * 40,
                       "incidentStatus": "resolved", "analystVerdict": "false_positive"},
        "agentRealtimeInfo": {"agentComputerName": "PC-1", "agentOsType": "windows"},
        "agentDetectionInfo": {"agentIpV4": "10.0.0.1"},
    }
    flat = s1_flat(nested, random.Random(1))
    assert "threatInfo" not in flat and "agentRealtimeInfo" not in flat
    assert (flat["threatName"], flat["classification"], flat["fileContentHash"]) == ("evil.exe", "Trojan", "a" * 40)
    assert (flat["agentComputerName"], flat["agentIp"], flat["resolved"], flat["markedAsBenign"]) == (
        "PC-1", "10.0.0.1", True, True,
    )


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "lots"])
def test_the_command_refuses_a_rate_outside_zero_to_one(rate: str) -> None:
    result = subprocess.run([CONNECTOR, "sandbox", "--messy", rate], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert "--messy" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_config_refuses_a_rate_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="messy must be a share between 0 and 1"):
        SandboxConfig(messy=2)
