"""Reading ``GET /threats`` pages with only the mapper's fields (connector/vendors/sentinelone/pages.py)
gives the very records, dropped values and refusals that reading every field gives."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import orjson
import pytest

from connector import hygiene
from connector.errors import BadVendorAnswer
from connector.sandbox import SandboxConfig
from connector.vendors.sentinelone import pages
from connector.vendors.sentinelone.pages import threat_page
from connector.vendors.sentinelone.threats import (
    CONTAINER_FIELDS,
    FLAT_AGENT,
    FLAT_INFO,
    FLAT_MARKERS,
    normalize_threat,
)
from tests.conftest import REAL
from tests.pure_python import from_source
from tests.records_support import Mapped, mapped_with_drops, served_records


def _mapped(record: Any) -> Mapped:
    return mapped_with_drops(normalize_threat, record)


def _both_ways(page: bytes) -> list[Any]:
    kept, whole = threat_page(page), orjson.loads(page)
    assert [_mapped(record) for record in kept["data"]] == [_mapped(record) for record in whole["data"]]
    assert kept.get("pagination") == whole.get("pagination")
    return list(kept["data"])


def _served(rate: float) -> list[Any]:
    sizes = {"sentinelone": 400, "mysecutec": 20, "nameshield": 20, "ciso_assistant": 5}
    config = SandboxConfig(sizes=sizes, rate_limits=False, messy=rate)
    return asyncio.run(served_records(config))["sentinelone"]


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0], ids=["clean", "some-messy", "all-messy"])
def test_sandbox_pages_map_alike_read_either_way(rate: float) -> None:
    served = _served(rate)
    page = orjson.dumps({"data": served, "pagination": {"nextCursor": "c2", "totalItems": 400}})
    kept = _both_ways(page)
    assert len(kept) == 400
    if rate == 0.0:
        assert all(set(record) <= set(pages.Threat.__annotations__) for record in kept), "only the mapper's fields"


def test_real_pages_map_alike_read_either_way() -> None:
    files = sorted((REAL / "sentinelone").glob("*.json"))
    assert files
    for path in files:
        kept = _both_ways(path.read_bytes())
        assert len(kept) == len(json.loads(path.read_text())["data"]) > 0


def test_flat_v2_0_records_map_alike_read_either_way() -> None:
    flat = {old: f"value of {old}" for old in FLAT_INFO}
    flat |= {"id": "1234567890", "agentComputerName": "host-1", "agentIp": "10.1.2.3", "resolved": True,
             "markedAsBenign": False, "fileSize": 12, "rank": 7, "engines": ["a", "b"]}
    _both_ways(orjson.dumps({"data": [flat, {**flat, "id": "1234567891", "resolved": False}]}))


class _Spy(dict[str, Any]):
    """A dict that notes each key read from it, by where it sits in the record."""

    def __init__(self, value: dict[str, Any], where: str, seen: dict[str, set[str]]) -> None:
        super().__init__(value)
        self._where, self._seen = where, seen

    def _note(self, key: Any) -> None:
        self._seen.setdefault(self._where, set()).add(str(key))

    def get(self, key: Any, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: Any) -> bool:
        self._note(key)
        return super().__contains__(key)

    def keys(self) -> Any:
        # The flat-shape check intersects the record's keys with its markers: those are read.
        self._seen.setdefault(self._where, set()).update({"<keys>"})
        return super().keys()


LEVELS = {"threatInfo": pages.ThreatInfo, "agentRealtimeInfo": pages.AgentRealtimeInfo,
          "agentDetectionInfo": pages.AgentDetectionInfo}


def test_every_key_the_mapper_reads_is_kept() -> None:
    # The mapper's source: compiled, it reads a dict without the methods a subclass overrides.
    source = from_source("connector.vendors.sentinelone.threats")
    records = [r for rate in (0.0, 1.0) for r in _served(rate) if isinstance(r, dict)]
    for path in sorted((REAL / "sentinelone").glob("*.json")):
        records += json.loads(path.read_text())["data"]
    seen: dict[str, set[str]] = {}
    for record in records:
        parts = {key: _Spy(value, key, seen) if key in LEVELS and isinstance(value, dict) else value
                 for key, value in record.items()}
        with hygiene.recording(), contextlib.suppress(BadVendorAnswer):
            source.normalize_threat(_Spy(parts, "record", seen))
    assert seen["record"] - {"<keys>"} <= set(pages.Threat.__annotations__)
    for level, shape in LEVELS.items():
        assert seen[level] <= set(shape.__annotations__), level
    assert {"threatInfo", "id", "rank", "indicators"} <= seen["record"]


def test_every_field_of_the_flat_shape_is_kept() -> None:
    flat = {*FLAT_INFO, *FLAT_AGENT, *FLAT_MARKERS, *CONTAINER_FIELDS}
    assert flat <= set(pages.Threat.__annotations__)
    assert set(FLAT_INFO.values()) <= set(pages.ThreatInfo.__annotations__)


def test_records_that_do_not_fit_are_read_whole() -> None:
    odd = [1, "x", None, {"id": "1", "threatInfo": "text", "extra": 1}, {"threatInfo": {"threatId": "9"}, "extra": 2}]
    fit = {"id": "2", "threatInfo": {"threatName": "t"}, "extra": 3}
    page = threat_page(orjson.dumps({"data": [*odd, fit], "pagination": {"nextCursor": None}}))
    assert page["data"][:5] == odd, "what does not fit the shape, or has no id to be named by, is read whole"
    assert page["data"][5] == {"id": "2", "threatInfo": {"threatName": "t"}}, "a fitting record: the kept fields"


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"data": null}', b'{"data": "text"}', b'"page"', b"{}"])
def test_pages_that_do_not_fit_are_read_whole(body: bytes) -> None:
    assert threat_page(body) == orjson.loads(body)


def test_invalid_json_fails_as_orjson_says() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        threat_page(b'{"data": [{"id": "1"}')


@pytest.mark.parametrize("rate", [0.0, 1.0], ids=["clean", "all-messy"])
def test_a_page_read_in_one_pass_keeps_what_reading_each_record_keeps(rate: float) -> None:
    served = [record for record in _served(rate) if isinstance(record, dict) and "id" in record]
    odd = 1  # a record that is no object: the page is read record by record
    one_pass = threat_page(orjson.dumps({"data": served, "pagination": {"nextCursor": None}}))["data"]
    each = threat_page(orjson.dumps({"data": [*served, odd], "pagination": {"nextCursor": None}}))["data"]
    assert each[-1] == odd
    assert one_pass == each[:-1]
    assert [type(record) for record in one_pass] == [type(record) for record in each[:-1]]


def test_a_fitting_record_without_an_id_is_read_whole_on_a_page_that_fits() -> None:
    page = threat_page(orjson.dumps({"data": [{"id": "1", "extra": 1}, {"threatInfo": {"threatId": "9"}, "extra": 2}]}))
    assert page["data"] == [{"id": "1"}, {"threatInfo": {"threatId": "9"}, "extra": 2}]
