"""Filtering labels given by name: an existing label's name becomes its id, a new one is created once.

The real server (upstream f990d7b1) turns every name in ``filtering_labels`` into a new label and
refuses a name a label already has (400 ``{"label": ["<name> is already used in this scope. ..."]}``),
so a second incident tagged "phishing" would fail. Before a write, each name is looked up in
``GET /api/filtering-labels/`` (``search``, then the exact name, compared as the server compares)
and replaced by the id found; only unknown names go to the server, which creates them. Should a
concurrent write create one of them in between, the write is refused with that error: the names are
looked up again and the write is sent once more.
"""

from __future__ import annotations

import uuid
from contextlib import aclosing
from typing import Any

from connector.context import RunContext
from connector.errors import VendorError
from connector.paging import OffsetPaging
from connector.vendors.ciso_assistant.mapping import same_ref_id

LABELS = "/api/filtering-labels/"
PAGE_SIZE = 100
PAGING = OffsetPaging(records_at=("results",), total_at=("count",))
TAKEN = "is already used in this scope"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def find_label(run: RunContext, name: str) -> str | None:
    """The id of the label named ``name`` (case-insensitive, trimmed), or None."""
    query: dict[str, Any] = {"search": name.strip(), "limit": PAGE_SIZE}
    async with aclosing(run.pages(LABELS, query, PAGING)) as pages:
        async for page in pages:
            for record in page.records:
                if isinstance(record, dict) and same_ref_id(record.get("label"), name) and record.get("id"):
                    return str(record["id"])
    return None


async def resolve_labels(run: RunContext, body: dict[str, Any]) -> None:
    """Replace each label name in ``body["filtering_labels"]`` by its label's id where one exists; a
    name given twice (in any case) is sent once. A dry run looks nothing up."""
    labels = body.get("filtering_labels")
    if not labels or run.dry_run:
        return
    resolved: dict[str, str] = {}
    for label in labels:
        if _is_uuid(label):
            resolved.setdefault(label.lower(), label)
            continue
        name = label.strip()
        if name.casefold() not in resolved:
            resolved[name.casefold()] = await find_label(run, name) or name
    body["filtering_labels"] = list(dict.fromkeys(resolved.values()))


def _label_taken(error: VendorError) -> bool:
    return error.status == 400 and "label: " in error.message and TAKEN in error.message


async def write_with_labels(run: RunContext, method: str, path: str, body: dict[str, Any]) -> Any:
    """Send a create or update whose labels may be names; a label created meanwhile by another
    write is looked up and the write sent again, once."""
    await resolve_labels(run, body)
    try:
        return await run.request(method, path, json=body)
    except VendorError as error:
        if not _label_taken(error):
            raise
    await resolve_labels(run, body)
    return await run.request(method, path, json=body)
