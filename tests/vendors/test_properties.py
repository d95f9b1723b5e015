"""Property tests: documented vendor records, damaged in every way hypothesis finds (keys dropped,
values nulled or spelled "None", types swapped, strings joined, odd unicode), always map to a record
that validates in full against the schema, or to one BadVendorAnswer line; never another exception.
A mapped finding is also a valid OCSF event.

Seeds are records as the sandbox serves them and the real payloads of tests/fixtures/real.
Derandomized, so every run tries the same cases.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import BadVendorAnswer
from connector.ocsf import to_ocsf
from connector.sandbox import SandboxConfig
from connector.sandbox.messy import s1_flat
from connector.vendors.ciso_assistant.mapping import normalize_incident
from connector.vendors.mysecutec.mapping import normalize_log
from connector.vendors.mysecutec.mapping import normalize_threat as mysecutec_threat
from connector.vendors.nameshield.mapping import normalize_event
from connector.vendors.sentinelone.threats import normalize_threat as sentinelone_threat
from tests.conftest import REAL
from tests.records_support import assert_ocsf, assert_valid, served_records

MAPPERS: dict[str, tuple[Callable[..., dict[str, Any]], str]] = {
    "sentinelone": (sentinelone_threat, "threat.json"),
    "mysecutec": (mysecutec_threat, "threat.json"),
    "logs": (normalize_log, "event.json"),
    "nameshield": (normalize_event, "event.json"),
    "ciso_assistant": (normalize_incident, "threat.json"),
}
NULL_TEXTS = ("None", "null", "N/A", "-", "", "NULL", " none ")
SETTINGS = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _seeds() -> dict[str, list[dict[str, Any]]]:
    sizes = {"sentinelone": 8, "mysecutec": 8, "nameshield": 8, "ciso_assistant": 8}
    served = asyncio.run(served_records(SandboxConfig(sizes=sizes, rate_limits=False)))
    seeds = {vendor: list(found[:8]) for vendor, found in served.items()}
    seeds["sentinelone"] += [s1_flat(copy.deepcopy(record), random.Random(1)) for record in seeds["sentinelone"][:2]]
    for path in sorted((REAL / "sentinelone").glob("*.json")):
        seeds["sentinelone"] += json.loads(path.read_text())["data"]
    for path in sorted((REAL / "nameshield").glob("*.json")):
        document = json.loads(path.read_text())
        seeds["nameshield"].append(document.get("data", document))
    return seeds


SEEDS = _seeds()


def _slots(value: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside ``value`` (keys and list indexes), parents before children."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*trail, key)
        yield from _slots(child, (*trail, key))


def _damage(draw: st.DrawFn, value: Any) -> Any:
    kind = draw(st.sampled_from(
        ("drop", "null", "null_text", "integer", "float", "boolean", "int_list", "object", "joined", "text", "long")
    ))
    if kind == "null":
        return None
    if kind == "null_text":
        return draw(st.sampled_from(NULL_TEXTS))
    if kind == "integer":
        return draw(st.integers(min_value=-(2**63), max_value=2**63))
    if kind == "float":
        return draw(st.floats(allow_nan=True, allow_infinity=True))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "int_list":
        return draw(st.lists(st.integers(-5, 5), max_size=3))
    if kind == "object":
        return {"value": value, "str": draw(st.text(max_size=5))}
    if kind == "joined":
        return f"{value}, {value};{value}" if not isinstance(value, dict | list) else [value, value]
    if kind == "long":
        return "x" * 20_000
    if kind == "text":
        return draw(st.text(max_size=40))
    return _DROP


_DROP = object()


@st.composite
def damaged(draw: st.DrawFn, vendor: str) -> Any:
    """One seed record of ``vendor`` with one to eight of its values damaged; rarely not an object at all."""
    record = copy.deepcopy(draw(st.sampled_from(SEEDS[vendor])))
    if draw(st.integers(0, 40)) == 0:
        return draw(st.sampled_from((None, 42, "record", [1, 2], [record])))
    slots = list(_slots(record))
    for trail in draw(st.lists(st.sampled_from(slots), min_size=1, max_size=8)) if slots else []:
        parent: Any = record
        for step in trail[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break  # an earlier damage replaced this branch
        else:
            if isinstance(parent, dict | list):
                try:
                    replacement = _damage(draw, parent[trail[-1]])
                except (KeyError, IndexError, TypeError):
                    continue
                if replacement is _DROP and isinstance(parent, dict):
                    del parent[trail[-1]]
                elif replacement is not _DROP:
                    parent[trail[-1]] = replacement
    return record


def _maps_or_refuses(vendor: str, record: Any) -> None:
    mapper, schema = MAPPERS[vendor]
    try:
        out = mapper(record, include_raw=False)
    except BadVendorAnswer as exc:
        assert "\n" not in exc.message and len(exc.message) < 400, exc.message
        return
    assert_valid(out, schema)
    if vendor != "logs":  # a threat log entry is no finding
        assert_ocsf(to_ocsf(out))


@pytest.mark.parametrize("vendor", sorted(MAPPERS))
def test_seeds_map_cleanly(vendor: str) -> None:
    mapper, schema = MAPPERS[vendor]
    assert SEEDS[vendor]
    for record in SEEDS[vendor]:
        assert_valid(mapper(record), schema)


@SETTINGS
@given(record=damaged("sentinelone"))
def test_damaged_sentinelone_threats(record: Any) -> None:
    _maps_or_refuses("sentinelone", record)


@SETTINGS
@given(record=damaged("mysecutec"))
def test_damaged_mysecutec_threats(record: Any) -> None:
    _maps_or_refuses("mysecutec", record)


@SETTINGS
@given(record=damaged("logs"))
def test_damaged_mysecutec_logs(record: Any) -> None:
    _maps_or_refuses("logs", record)


@SETTINGS
@given(record=damaged("nameshield"))
def test_damaged_nameshield_events(record: Any) -> None:
    _maps_or_refuses("nameshield", record)


@SETTINGS
@given(record=damaged("ciso_assistant"))
def test_damaged_ciso_assistant_incidents(record: Any) -> None:
    _maps_or_refuses("ciso_assistant", record)


def test_the_seeds_include_the_real_payloads() -> None:
    s1 = json.loads((REAL / "sentinelone/threats_2_1_raw_response.json").read_text())["data"]
    assert all(record in SEEDS["sentinelone"] for record in s1)
    event = json.loads((REAL / "nameshield/get_event_v2_doc_example.json").read_text())
    assert event.get("data", event) in SEEDS["nameshield"]
