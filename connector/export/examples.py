"""Parameter examples for the exports, taken from one run of the embedded sandbox.

A platform shows a parameter's example beside its field, so an example is a value the action
accepts: an id is a real vendor id, a date a record's date, a name a record's name. They come
from a few reads against the seeded sandbox (the same records every time, so the committed
examples stay equal to the generator's output); a parameter the records say nothing about keeps
the example its schema gives (a default, the first options).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from connector import run_action
from connector.export.description import ActionDescription, Param
from connector.sandbox import SandboxConfig, running_sandbox

_SIZES = {"sentinelone": 3, "mysecutec": 3, "nameshield": 3, "ciso_assistant": 3}
_READS = (
    ("get_threats", "sentinelone", "threats"),
    ("get_threats", "mysecutec", "threats"),
    ("list_events", "nameshield", "events"),
    ("list_incidents", "ciso_assistant", "incidents"),
)
Record = dict[str, Any]


@cache
def sandbox_records() -> dict[str, Record]:
    """The first record of each vendor's read on the seeded sandbox (incidents with their raw record)."""
    found: dict[str, Record] = {}
    with running_sandbox(SandboxConfig(sizes=_SIZES, rate_limits=False)) as url:
        for action, vendor, key in _READS:
            envelope = run_action(action, {"limit": 1, "include_raw": True}, vendor=vendor, sandbox=url)
            found[vendor] = envelope.output[key][0]
    return found


def example(action: ActionDescription, param: Param) -> str:
    """The example of ``param`` of ``action``: from the action's first vendor's sandbox record, or the schema's."""
    record = sandbox_records()[action.vendors[0]]
    threat: Record = record.get("threat") or record  # an event carries its threat
    rule = _RULES.get(param.property)
    value = rule(threat) if rule else None
    if value in (None, "", [], {}):
        return param.example or _FALLBACK.get(param.kind, str(threat["title"]))
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _raw_ids(field: str) -> Callable[[Record], Any]:
    def pick(record: Record) -> Any:
        value = (record.get("raw") or {}).get(field)
        items = value if isinstance(value, list) else [value] if value else []
        return ",".join(item["id"] for item in items[:2] if isinstance(item, dict) and "id" in item)

    return pick


def _first_observable(record: Record) -> Any:
    return next((item["value"] for item in record.get("observables") or []), record["title"])


_RULES: dict[str, Callable[[Record], Any]] = {
    "ids": lambda record: record["vendor_id"],
    "id": lambda record: record["vendor_id"],
    "threat_id": lambda record: record["vendor_id"],
    "threat_ids": lambda record: record["vendor_id"],
    "search": _first_observable,
    "asset": lambda record: next((item["name"] for item in record.get("resources") or []), None),
    "since": lambda record: record.get("first_seen") or record.get("created_at"),
    "until": lambda record: record.get("updated_at") or record.get("last_seen"),
    "reported_at": lambda record: record.get("created_at"),
    "name": lambda record: record["title"],
    "description": lambda record: record.get("description"),
    "ref_id": lambda record: record["uid"],
    "text": lambda record: f"Reviewed: {record['title']}",
    "note": lambda record: f"Reviewed: {record['title']}",
    "annotation": lambda record: f"Reviewed: {record['title']}",
    "vendor_status": lambda record: record.get("vendor_status"),
    "link": lambda record: record.get("url"),
    "ordering": lambda record: "-created_at",
    "sort": lambda record: "created_at",
    "field": lambda record: "status",
    "value": lambda record: record.get("vendor_status") or record["status"],
    "from_threat": lambda record: {key: record[key] for key in ("uid", "title", "severity", "description")},
    "folder": lambda record: ((record.get("raw") or {}).get("folder") or {}).get("id"),
    "owners": _raw_ids("owners"),
    "assets": _raw_ids("assets"),
    "threats": _raw_ids("threats"),
    "qualifications": _raw_ids("qualifications"),
    "entities": _raw_ids("entities"),
    "filtering_labels": _raw_ids("filtering_labels"),
}
"""How each input property's example is read from a record; the others keep their schema's."""

_FALLBACK = {"json": "{}", "integer": "10", "number": "10", "boolean": "false"}
