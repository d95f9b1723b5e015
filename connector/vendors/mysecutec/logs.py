"""Bindings over threat audit logs: get_threat_logs (one threat) and list_events (many, by time).

list_events reads the logs of ``threat_ids``, or else of the threats updated since ``since`` (a
change to a threat moves its ``updated_at``, so a threat with a log entry in the window was updated
at or after its start; the end of the window is not sent, since the threat may have changed again
after it). Each threat's log is read whole, oldest first, and the entries are kept to the window,
merged and sorted oldest first (then by uid, so the order is stable for checkpoints).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Any

from connector.context import RunContext
from connector.errors import BadInput, BadVendorAnswer, VendorError
from connector.paging import query_value
from connector.vendors.mysecutec.api import (
    THREAT_LOGS,
    THREATS,
    Totals,
    gather_bounded,
    not_found,
    read_pages,
    threat_path,
)
from connector.vendors.mysecutec.mapping import NAME, normalize_log
from connector.vendors.mysecutec.query import instant
from connector.vendors.mysecutec.reads import matching_threats

LOG_ORDER = "created_at,id"
OTHER_VENDORS_INPUTS = ("api", "criteria", "junction", "sort")
"""list_events inputs of Nameshield's binding that mean nothing here."""
THREAT_SELECTORS = ("severity", "search", "vendor_filters")
"""list_events inputs that choose the threats when no threat_ids are given."""


async def get_threat_logs(run: RunContext, input: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    """One threat's audit log (vendor order, newest first unless ``sort`` says), from ``offset``."""
    threat_id = input["id"]
    path = threat_path(THREAT_LOGS, threat_id, "input.id")
    query: dict[str, Any] = {"include_system": query_value(input.get("include_system", True))}
    if input.get("sort"):
        query["sort"] = query_value(input["sort"])
    include_raw = bool(input.get("include_raw"))
    totals = Totals()
    entries = read_pages(run, path, query, "logs", totals, max_records=input.get("limit"),
                         offset=input.get("offset", 0), resumable=True)
    try:
        async with aclosing(entries) as pages:
            async for page in pages:
                for entry in page:
                    log = run.map_record(normalize_log, entry, include_raw=include_raw)
                    if log is not None:
                        yield log
    except VendorError as exc:
        if exc.status == 404:
            raise VendorError(f"{NAME}: threat {threat_id} not found (GET {path}: 404)", 404) from None
        raise
    run.fields["total"] = totals.total


async def list_events(run: RunContext, input: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    """Log entries of many threats in the since/until window, oldest first.

    The entries of every threat are merged and sorted before the first is yielded, so this read
    holds them all (it is bounded by the window) and cannot resume.
    """
    for name in OTHER_VENDORS_INPUTS:
        if name in input:
            raise BadInput(f"input.{name}: not used by mysecutec (Nameshield only)")
    if "threat_ids" in input:
        for name in THREAT_SELECTORS:
            if name in input:
                raise BadInput(f"input.{name}: selects threats only when input.threat_ids is absent")
        by_id = {tid: threat_path(THREAT_LOGS, tid, f"input.threat_ids[{i}]")
                 for i, tid in enumerate(input["threat_ids"])}
        threat_ids, paths = list(by_id), list(by_id.values())
    else:
        selection = {name: input[name] for name in ("since", *THREAT_SELECTORS) if name in input}
        threats = matching_threats(run, selection, Totals(), until=False)
        threat_ids = [threat["vendor_id"] async for batch in threats for threat in batch]
        try:
            paths = [threat_path(THREAT_LOGS, tid, "threat id") for tid in threat_ids]
        except BadInput as exc:
            # The vendor's own data, not the caller's: a bad answer, not bad input.
            raise BadVendorAnswer(f"{NAME}: GET {THREATS}: listed a {exc.message}") from None
    query = {"include_system": query_value(input.get("include_system", True)), "sort": LOG_ORDER}

    async def read(path: str) -> list[dict[str, Any]] | VendorError:
        try:
            return [entry async for page in read_pages(run, path, query, "logs", Totals()) for entry in page]
        except VendorError as exc:
            if not_found(exc):
                return exc
            raise

    answers = await gather_bounded(paths, read)
    include_raw = bool(input.get("include_raw"))
    since = instant(input["since"]) if "since" in input else None
    until = instant(input["until"]) if "until" in input else None
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    for threat_id, answer in zip(threat_ids, answers, strict=True):
        if isinstance(answer, VendorError):
            run.item_failed(threat_id, "not_found", answer.message)
            continue
        for entry in answer:
            event = run.map_record(normalize_log, entry, include_raw=include_raw)
            if event is None:
                continue
            moment = instant(event["time"])
            if (since is None or moment >= since) and (until is None or moment <= until):
                events.append((moment, event["uid"], event))
    run.nothing_succeeded = bool(threat_ids) and len(run.item_errors) == len(threat_ids)
    events.sort(key=lambda item: (item[0], item[1]))
    run.fields["total"] = len(events)
    for _, _, event in events[: input["limit"]] if "limit" in input else events:
        yield event
