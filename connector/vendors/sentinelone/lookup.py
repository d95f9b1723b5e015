"""SentinelOne's get_threat: one threat by id.

SentinelOne has no single-threat GET; ``GET /threats?ids=<id>`` is how its own console reads one.
An id it does not know is an empty page, which fails the action in one line (exit 1), as the
other vendors' 404 does.
"""

from __future__ import annotations

from typing import Any

from connector.context import RunContext
from connector.errors import VendorError
from connector.vendors.sentinelone.mapping import NAME
from connector.vendors.sentinelone.reads import THREATS, find_threats
from connector.vendors.sentinelone.threats import normalize_threat


async def get_threat(run: RunContext, request: dict[str, Any]) -> dict[str, Any]:
    """One threat by its id, in the common shape."""
    threat_id = request["id"]
    found = await find_threats(run, [threat_id])
    record = found.get(threat_id)
    if record is None:
        raise VendorError(f"{NAME}: threat {threat_id} not found (GET {THREATS}?ids={threat_id}: no such threat)", 404)
    return {"threat": run.emit(normalize_threat(record, include_raw=bool(request.get("include_raw"))))}
