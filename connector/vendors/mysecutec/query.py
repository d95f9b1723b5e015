"""Common filters -> the query of ``GET /tam/v1/threats/``, and the check that keeps the result exact.

severity: the common names map back through SEVERITY_BY_LABEL (informational -> info); ``unknown``
has no vendor value (no severity and no score), so asking for it reads without a severity filter
and filters here. LOSSY: a threat with no severity label but a CVSS score maps by its score band,
yet the vendor's severity filter does not see it. status: new -> unsolved, resolved -> solved,
suppressed -> accepted + false_positive; in_progress and closed match nothing. since/until bound
``updated_at``; asset is an asset id (``asset_id``: names are matched by ``search``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.errors import BadInput
from connector.paging import query_value
from connector.vendors.mysecutec.mapping import SEVERITY_BY_LABEL, STATUS_BY_LABEL

DEFAULT_SORT = "created_at,id"
"""Oldest first: a threat created while the pages are read lands after them instead of shifting them."""


def threat_query(filters: dict[str, Any], *, until: bool = True) -> dict[str, Any] | None:
    """The list query for get_threats' common filters plus the vendor's own; None when nothing can match.

    ``until=False`` leaves the upper bound on updated_at out (list_events: a threat with a log entry
    in the window may have been updated again after it).
    """
    query: dict[str, Any] = {}
    severities = filters.get("severity") or []
    if severities and "unknown" not in severities:
        query["severity"] = [label for label, sev in SEVERITY_BY_LABEL.items() if sev.name in severities]
        if not query["severity"]:
            return None
    if "status" in filters:
        query["status"] = [label for label, sid in STATUS_BY_LABEL.items() if sid.name in filters["status"]]
        if not query["status"]:
            return None
    if "since" in filters:
        query["updated_at_from"] = filters["since"]
    if "until" in filters and until:
        query["updated_at_to"] = filters["until"]
    if "search" in filters:
        query["search"] = filters["search"]
    if "asset" in filters:
        query["asset_id"] = filters["asset"]
    own = filters.get("vendor_filters") or {}
    for name in own:
        if name in query:
            raise BadInput(f"input.vendor_filters.{name}: also set by a common filter; give only one of them")
    query.update(own)
    query.setdefault("sort", DEFAULT_SORT)
    return {name: query_value(value) for name, value in query.items()}


def pushed_down(filters: dict[str, Any]) -> bool:
    """Whether the vendor applies every common filter itself, so ``limit`` may stop the read early."""
    return "unknown" not in (filters.get("severity") or [])


def keeps(threat: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether a mapped threat passes the common filters (what the vendor could not filter, and a check)."""
    if filters.get("severity") and threat["severity"] not in filters["severity"]:
        return False
    if filters.get("status") and threat["status"] not in filters["status"]:
        return False
    if "since" in filters or "until" in filters:
        if threat["updated_at"] is None:
            return False
        updated = instant(threat["updated_at"])
        if "since" in filters and updated < instant(filters["since"]):
            return False
        if "until" in filters and updated > instant(filters["until"]):
            return False
    return "asset" not in filters or any(resource["uid"] == filters["asset"] for resource in threat["resources"])


def instant(value: str) -> datetime:
    """An RFC 3339 instant (the input schema checked the format; RFC 3339 allows a lower-case t and z)."""
    return datetime.fromisoformat(value.upper())
