"""test_connection: reachability, authentication and the permission to read incidents, each reported.

One ``GET /api/incidents/?limit=1`` answers all three (see :mod:`connector.probe` for which error
fails which check).
"""

from __future__ import annotations

from typing import Any

from connector.context import RunContext
from connector.errors import BadVendorAnswer, VendorError
from connector.probe import TOKEN_ACCEPTED, failed_check, probe_answer
from connector.vendors.ciso_assistant.incidents import INCIDENTS


async def check_connection(run: RunContext, document: dict[str, Any]) -> dict[str, Any]:
    """Probe the incidents list once and say which of the three checks passed."""
    where = f"{run.connection.base_url}{INCIDENTS}"
    passed = {
        "reachability": f"{where} answered",
        "authentication": TOKEN_ACCEPTED,
        "permissions": "may read incidents",
    }
    try:
        body = await run.request("GET", INCIDENTS, params={"limit": 1})
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(count, int):
            raise BadVendorAnswer(f"{where} answered, but not with an incident list")
    except VendorError as exc:
        return probe_answer(run, passed, failed_check(exc))
    passed["permissions"] = f"may read incidents ({count} visible)"
    return probe_answer(run, passed)
