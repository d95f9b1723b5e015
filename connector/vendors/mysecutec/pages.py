"""Reading a page of ``GET /tam/v1/threats/``: only the fields the threat mapper reads.

Decoding every field of a threat into Python objects costs as much as mapping it, and the mapper
reads about half of them. So a page is read with msgspec against the shapes below: fields they do
not name are skipped while parsing. A page any of whose threats does not fit (an ``asset`` that is
no object, a threat that is no object at all) is read whole instead, exactly as before, and so is
one with a threat whose id the mapper would refuse: its refusal names every key the threat has. A
page that is not ``{"threats": [...]}`` is read whole too, and its errors are the usual ones.
``include_raw`` reads whole pages: the raw record is the vendor's.

Every key the mapper reads must be named here: a test maps every sandbox and messy record both
ways and compares, and another records each key the mapper reads.
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec
import orjson

from connector import hygiene


class Asset(TypedDict, total=False):
    """``asset``: the threat's asset."""

    id: Any
    name: Any
    type: Any


class TechSolution(TypedDict, total=False):
    """``tech_solution``: the module that found the threat."""

    license_module_slug: Any


class Host(TypedDict, total=False):
    """``data.host``: the host of an agent's finding."""

    hostname: Any
    os: Any


class Data(TypedDict, total=False):
    """``data``: the finding's details."""

    host: Host | None


class Threat(TypedDict, total=False):
    """One threat: what the mapper reads of it."""

    id: Any
    name: Any
    description: Any
    external_id: Any
    cvss_score: Any
    cvss_vector: Any
    severity: Any
    status: Any
    user_status: Any
    system_status: Any
    first_seen_at: Any
    created_at: Any
    updated_at: Any
    asset_id: Any
    asset: Asset | None
    tech_solution: TechSolution | None
    data: Data | None


class _Page(TypedDict, total=False):
    threats: list[Threat]
    pagination: Any


_PAGE = msgspec.json.Decoder(_Page)


def threat_page(content: bytes) -> Any:
    """A page of threats, each holding only what the mapper reads (see the module's text)."""
    try:
        page: dict[str, Any] = dict(_PAGE.decode(content))
    except msgspec.MsgspecError:
        return orjson.loads(content)  # not a page of threats that fit: read whole, with orjson's errors
    # Outside a mapping nothing records what ident drops: this only asks whether the mapper would refuse it.
    if any(hygiene.ident(threat.get("id"), "vendor_id") is None for threat in page.get("threats", ())):
        return orjson.loads(content)
    return page
