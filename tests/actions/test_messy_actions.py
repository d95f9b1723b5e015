"""The read actions of every vendor on clean data and on messy data (``SandboxConfig(messy=...)``).

On either, every record an action returns validates in full against the common schemas; a record
the mappers cannot read at all (a masked id and nothing else to know it by) is one error line
naming the field, never a traceback.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.envelope import Envelope
from connector.sandbox import SandboxConfig
from connector.testing import RecordingTransport, run_in_sandbox
from tests.records_support import assert_valid

SIZES = {"sentinelone": 150, "mysecutec": 150, "nameshield": 150, "ciso_assistant": 40}


@pytest.fixture
def sandbox_config(messy_rate: float) -> SandboxConfig:
    """All four simulators, clean or messy (the ``sandbox_transport`` fixture serves it)."""
    return SandboxConfig(sizes=SIZES, rate_limits=False, messy=messy_rate)


def _records(envelope: Envelope, key: str, schema: str) -> list[dict[str, Any]]:
    """The records of a read; each valid. A failed or partial read may only be refused records."""
    for error in envelope.errors:
        assert error.type == "bad_answer" and "\n" not in error.message, error
        assert ": id: missing" in error.message, error.message
    found: list[dict[str, Any]] = envelope.output.get(key, []) if envelope.status != "failed" else []
    for record in found:
        assert_valid(record, schema)
    return found


def test_sentinelone_get_threats_and_get_threat(sandbox_transport: RecordingTransport, messy_rate: float) -> None:
    envelope = run_in_sandbox(
        "get_threats", vendor="sentinelone", transport=sandbox_transport, input={"include_raw": True}
    )
    threats = _records(envelope, "threats", "threat.json")
    assert envelope.status == "success" and len(threats) == 150, "every SentinelOne record maps, messy or not"
    flat = [t for t in threats if "threatInfo" not in (t["raw"] or {})]
    assert bool(flat) == bool(messy_rate), "older flat records are served only when messy"
    assert all(t["title"] != "unnamed threat" for t in flat), "a flat record is mapped field by field"
    one = next(t for t in threats if t["vendor_id"].isdigit())
    single = run_in_sandbox(
        "get_threat", vendor="sentinelone", transport=sandbox_transport, input={"id": one["vendor_id"]}
    )
    assert single.status == "success" and single.output["threat"] == {**one, "raw": None}
    missing = run_in_sandbox(
        "get_threat", vendor="sentinelone", transport=sandbox_transport, input={"id": "999999999999999999"}
    )
    assert (missing.status, missing.exit_code) == ("failed", 1)
    assert missing.errors[0].message == (
        "sentinelone: threat 999999999999999999 not found (GET /web/api/v2.1/threats?ids=999999999999999999: "
        "no such threat)"
    )


def test_mysecutec_get_threats(sandbox_transport: RecordingTransport, messy_rate: float) -> None:
    envelope = run_in_sandbox("get_threats", vendor="mysecutec", transport=sandbox_transport, input={})
    threats = _records(envelope, "threats", "threat.json")
    # A record whose id is masked cannot be mapped: it is skipped and reported, the others come out.
    assert envelope.status == ("partial" if envelope.errors else "success")
    assert len(threats) + envelope.meta.skipped == envelope.output["total"] > 100
    assert envelope.meta.skipped == len(envelope.errors) == (0 if messy_rate == 0 else envelope.meta.skipped)


def test_nameshield_list_events_v2_and_v1_and_get_event(sandbox_transport: RecordingTransport) -> None:
    v2 = _records(
        run_in_sandbox("list_events", vendor="nameshield", transport=sandbox_transport, input={}),
        "events",
        "event.json",
    )
    v1 = _records(
        run_in_sandbox("list_events", vendor="nameshield", transport=sandbox_transport, input={"api": "v1"}),
        "events",
        "event.json",
    )
    assert v2 and {e["uid"] for e in v2} <= {e["uid"] for e in v1}, "v1 adds the subsidiaries' events"
    one = run_in_sandbox("get_event", vendor="nameshield", transport=sandbox_transport, input={"id": v2[0]["uid"]})
    assert one.status == "success" and one.output["event"] == v2[0]


def test_ciso_assistant_list_and_get_incidents(sandbox_transport: RecordingTransport) -> None:
    incidents = _records(
        run_in_sandbox("list_incidents", vendor="ciso_assistant", transport=sandbox_transport, input={}),
        "incidents",
        "threat.json",
    )
    assert len(incidents) == 40
    one = run_in_sandbox(
        "get_incident", vendor="ciso_assistant", transport=sandbox_transport, input={"id": incidents[0]["uid"]}
    )
    assert one.status == "success" and one.output["incident"] == incidents[0]
