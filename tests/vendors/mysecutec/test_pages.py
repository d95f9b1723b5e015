"""Reading MySecutec threat pages with only the mapper's fields (connector/vendors/mysecutec/pages.py)
gives the very records, dropped values and refusals that reading every field gives."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import pytest

from connector import hygiene
from connector.errors import BadVendorAnswer
from connector.sandbox import SandboxConfig
from connector.vendors.mysecutec import pages
from connector.vendors.mysecutec.mapping import normalize_threat
from connector.vendors.mysecutec.pages import threat_page
from tests.records_support import Mapped, mapped_with_drops, served_records

PAGINATION = {"limit": 1000, "offset": 0, "total": 300}


def _mapped(record: Any) -> Mapped:
    return mapped_with_drops(normalize_threat, record)


def _served(rate: float) -> list[Any]:
    sizes = {"sentinelone": 5, "mysecutec": 300, "nameshield": 5, "ciso_assistant": 5}
    config = SandboxConfig(sizes=sizes, rate_limits=False, messy=rate)
    return asyncio.run(served_records(config))["mysecutec"]


def _page(threats: list[Any]) -> bytes:
    return orjson.dumps({"pagination": PAGINATION, "threats": threats})


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0], ids=["clean", "some-messy", "all-messy"])
def test_sandbox_pages_map_alike_read_either_way(rate: float) -> None:
    served = _served(rate)
    kept, whole = threat_page(_page(served)), orjson.loads(_page(served))
    assert [_mapped(record) for record in kept["threats"]] == [_mapped(record) for record in whole["threats"]]
    assert kept["pagination"] == PAGINATION and len(kept["threats"]) == len(served) > 200
    if rate == 0.0:
        assert all(set(record) <= set(pages.Threat.__annotations__) for record in kept["threats"]), "the mapper's"


def test_each_messy_record_maps_alike_read_either_way() -> None:
    # One by one: a page with one record that does not fit is read whole, so a whole page proves little.
    for record in _served(1.0):
        kept = threat_page(_page([record]))["threats"]
        assert [_mapped(one) for one in kept] == [_mapped(record)]


class _Spy(dict[str, Any]):
    """A dict that notes each key read from it, by where it sits in the record."""

    def __init__(self, value: dict[str, Any], where: str, seen: dict[str, set[str]]) -> None:
        super().__init__({key: _spied(item, f"{where}.{key}", seen) for key, item in value.items()})
        self._where, self._seen = where, seen

    def get(self, key: Any, default: Any = None) -> Any:
        self._seen.setdefault(self._where, set()).add(str(key))
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._seen.setdefault(self._where, set()).add(str(key))
        return super().__getitem__(key)


def _spied(value: Any, where: str, seen: dict[str, set[str]]) -> Any:
    return _Spy(value, where, seen) if isinstance(value, dict) else value


SHAPES: dict[str, Any] = {"record": pages.Threat, "record.asset": pages.Asset,
                          "record.tech_solution": pages.TechSolution, "record.data": pages.Data,
                          "record.data.host": pages.Host}


def test_every_key_the_mapper_reads_is_kept() -> None:
    seen: dict[str, set[str]] = {}
    for record in [r for rate in (0.0, 1.0) for r in _served(rate) if isinstance(r, dict)]:
        with hygiene.recording(), contextlib.suppress(BadVendorAnswer):
            normalize_threat(_Spy(record, "record", seen))
    for where, keys in seen.items():
        assert where in SHAPES and keys <= set(SHAPES[where].__annotations__), where
    assert {"asset", "data", "tech_solution", "cvss_score"} <= seen["record"]


@pytest.mark.parametrize("odd", [
    {"id": "a1", "asset": "host-1"},
    {"id": "a1", "data": {"host": ["h"]}},
    {"name": "no id", "extra": 1},
    {"id": "***", "extra": 1},
    "text",
    None,
], ids=["asset-text", "host-list", "no-id", "masked-id", "text", "null"])
def test_a_page_with_a_threat_that_does_not_fit_is_read_whole(odd: Any) -> None:
    body = _page([{"id": "b2", "name": "fits", "extra": 3}, odd])
    assert threat_page(body) == orjson.loads(body), "whole: a refusal names every key the vendor sent"


def test_a_page_that_fits_keeps_the_mapper_fields_only() -> None:
    page = threat_page(_page([{"id": "b2", "name": "fits", "asset": None, "data": {"host": None, "x": 1}, "y": 2}]))
    assert page["threats"] == [{"id": "b2", "name": "fits", "asset": None, "data": {"host": None}}]


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"threats": null}', b'{"threats": "text"}', b'"page"', b"{}"])
def test_pages_that_do_not_fit_are_read_whole(body: bytes) -> None:
    assert threat_page(body) == orjson.loads(body)


def test_invalid_json_fails_as_orjson_says() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        threat_page(b'{"threats": [{"id": "1"}')
