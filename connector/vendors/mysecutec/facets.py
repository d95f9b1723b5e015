"""Counting bindings: get_threat_filters (facets of the list view) and aggregate_threats (KPI groups).

The aggregate endpoint is a POST that changes nothing; the HTTP layer still holds every non-GET
back in a dry run, so a dry run of aggregate_threats answers no results.
"""

from __future__ import annotations

from typing import Any

from connector.context import RunContext
from connector.errors import BadInput, BadVendorAnswer
from connector.paging import query_value
from connector.vendors.mysecutec.api import AGGREGATE, FILTERS
from connector.vendors.mysecutec.mapping import NAME


async def get_threat_filters(run: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """The facets of the threat list (values, labels, unfiltered and filtered counts)."""
    filters = input.get("filters") or {}
    if "sort" in filters:
        raise BadInput("input.filters.sort: the filter endpoint counts, it does not sort")
    query = {name: query_value(value) for name, value in filters.items()}
    body = await run.request("GET", FILTERS, params=query)
    if not isinstance(body, dict):
        raise BadVendorAnswer(f"{NAME}: GET {FILTERS}: expected facets, not {type(body).__name__}")
    return {"facets": {name: entries for name, entries in body.items() if isinstance(entries, list)}}


async def aggregate_threats(run: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """Threat counts grouped by fields (``severity``, ``first_seen_at.year``, ``data.item_type``...)."""
    body = await run.request("POST", AGGREGATE, json=input, read_only=True)
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise BadVendorAnswer(f"{NAME}: POST {AGGREGATE}: the answer has no results list")
    total = body.get("total")
    if not isinstance(total, int):
        total = (body.get("pagination") or {}).get("total")
    return {"results": results, "total": total if isinstance(total, int) else None}
