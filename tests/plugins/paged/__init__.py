"""A test vendor whose get_threats binding streams cursor pages through a naive mapper.

The mapper indexes and calls what a record should hold, so an odd record makes it raise what
real code raises (KeyError, TypeError, AttributeError, ValueError): the host must isolate each.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from connector.context import RunContext
from connector.hookspecs import hookimpl
from connector.hygiene import drop
from connector.paging import CursorPaging
from connector.vendor import Vendor

SEVERITY_ID = {"low": 2, "high": 4}


def normalize(record: dict[str, Any]) -> dict[str, Any]:
    """A record ``{id, name, severity, hosts: [{name}]}`` as a common threat, trusting its shape.

    A ``url`` that is not http(s) is dropped, as hygiene drops a value it cannot use.
    """
    url = record.get("url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        drop("url", "not an http(s) URL")
        url = None
    return {
        "uid": f"paged:{record['id']}",
        "vendor": "paged",
        "vendor_id": str(record["id"]),
        "kind": "detection",
        "title": record["name"].strip(),
        "severity_id": SEVERITY_ID[record["severity"]],
        "status_id": 1,
        "resources": [{"name": host["name"]} for host in record["hosts"]],
        "score": float(record.get("score", 0)),
        "url": url,
    }


async def get_threats(run: RunContext, filters: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    """Every item of ``GET /items``, page by cursor, mapped one by one."""
    async for page in run.pages("/items", {"limit": 3}, CursorPaging(records_at=("items",)), resumable=True):
        for record in page.records:
            threat = run.map_record(normalize, record)
            if threat is not None:
                yield threat
    run.fields["total"] = None


async def get_threats_in_batches(
    run: RunContext, filters: dict[str, Any]
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """The same items, each page's threats yielded in one list (as a binding that maps a page at once)."""
    async for page in run.pages("/items", {"limit": 3}, CursorPaging(records_at=("items",)), resumable=True):
        threats = [run.map_record(normalize, record) for record in page.records]
        yield [threat for threat in threats if threat is not None]
    run.fields["total"] = None


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """The paged vendor, and the same one yielding its threats a page at a time."""
    register(Vendor(name="paged", title="Paged test vendor", auth_scheme="Bearer",
                    bindings={"get_threats": get_threats}, endpoints={"get_threats": ["GET /items"]}))
    register(Vendor(name="paged_batches", title="Paged test vendor, in batches", auth_scheme="Bearer",
                    bindings={"get_threats": get_threats_in_batches}, endpoints={"get_threats": ["GET /items"]}))
