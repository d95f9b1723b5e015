"""Every record every mapper builds is valid by construction: it validates, in full and with format
checking, against the JSON Schema generated from the models; and it is laid out as the model dumps it.

Sources: the sandbox's data (clean, and every record damaged by the messy sandbox), and every real
payload in tests/fixtures/real. Hypothesis cases are in tests/vendors/test_properties.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic_core import PydanticUndefined

from connector import records
from connector import threat as threat_models
from connector.errors import BadVendorAnswer
from connector.sandbox import SandboxConfig
from connector.threat import Event, Threat
from connector.vendors.ciso_assistant.mapping import normalize_incident
from connector.vendors.mysecutec.mapping import normalize_log
from connector.vendors.mysecutec.mapping import normalize_threat as mysecutec_threat
from connector.vendors.nameshield.mapping import normalize_event
from connector.vendors.sentinelone.threats import normalize_threat as sentinelone_threat
from tests.conftest import REAL
from tests.records_support import STORE, assert_valid, served_records

SIZES = {"sentinelone": 400, "mysecutec": 300, "nameshield": 300, "ciso_assistant": 60}
Mapper = Callable[..., dict[str, Any]]


def map_all(mapper: Mapper, raw: list[Any], schema: str) -> tuple[int, int]:
    """Map every record; each is valid or one BadVendorAnswer line. (mapped, refused)."""
    mapped = refused = 0
    for record in raw:
        try:
            out = mapper(record, include_raw=True)
        except BadVendorAnswer as exc:
            assert "\n" not in exc.message and exc.message.split(":")[0] in SIZES, exc.message
            refused += 1
            continue
        assert_valid(out, schema)
        mapped += 1
    return mapped, refused


@pytest.mark.parametrize("rate", [0.0, 1.0], ids=["clean", "all-messy"])
def test_every_sandbox_record_maps_to_a_valid_record_or_one_line(rate: float) -> None:
    served = asyncio.run(served_records(SandboxConfig(sizes=SIZES, rate_limits=False, messy=rate)))
    results = {
        "sentinelone": map_all(sentinelone_threat, served["sentinelone"], "threat.json"),
        "mysecutec": map_all(mysecutec_threat, served["mysecutec"], "threat.json"),
        "logs": map_all(normalize_log, served["logs"], "event.json"),
        "nameshield": map_all(normalize_event, served["nameshield"], "event.json"),
        "ciso_assistant": map_all(normalize_incident, served["ciso_assistant"], "threat.json"),
    }
    assert results["sentinelone"] == (400, 0), "even damaged, every SentinelOne record maps"
    assert results["nameshield"] == (len(served["nameshield"]), 0) and len(served["nameshield"]) > 100
    assert results["ciso_assistant"] == (60, 0)
    assert results["logs"][0] > 15 and results["logs"][1] == 0
    mapped, refused = results["mysecutec"]
    assert mapped + refused == len(served["mysecutec"]) > 250
    assert refused == 0 if rate == 0 else 0 < refused < 60, "only masked ids are refused"


def _real(vendor: str) -> list[Path]:
    return sorted((REAL / vendor).glob("*.json"))


def _incidents(exchange: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident records (either face) in one recorded CISO Assistant answer."""
    body = exchange["response"].get("body")
    path = exchange["request"]["path"].split("?")[0]
    if exchange["response"]["status"] >= 300 or not path.startswith("/api/incidents/") or not isinstance(body, dict):
        return []
    found = body["results"] if isinstance(body.get("results"), list) else [body]
    # Metrics answers also come as results (of {name, value}): an incident has an id and a severity.
    return [item for item in found if isinstance(item, dict) and "id" in item and "severity" in item]


def test_every_real_payload_maps_to_a_valid_record() -> None:
    s1 = [record for path in _real("sentinelone") for record in json.loads(path.read_text())["data"]]
    assert map_all(sentinelone_threat, s1, "threat.json") == (6, 0)
    ns = [json.loads(path.read_text()) for path in _real("nameshield")]
    assert map_all(normalize_event, [doc.get("data", doc) for doc in ns], "event.json") == (1, 0)
    exchanges = [x for path in _real("ciso_assistant") for x in json.loads(path.read_text())["exchanges"]]
    incidents = [record for exchange in exchanges for record in _incidents(exchange)]
    mapped, refused = map_all(normalize_incident, incidents, "threat.json")
    assert mapped == len(incidents) > 30 and refused == 0


def test_builders_lay_records_out_as_the_models_dump_them() -> None:
    minimal = {"uid": "v:1", "vendor": "v", "vendor_id": "1", "kind": "detection", "title": "t",
               "severity_id": 4, "status_id": 1}
    built = records.threat(dict(minimal))
    dumped = Threat.model_validate(minimal).model_dump(mode="json")
    assert built == dumped and list(built) == list(dumped)
    assert type(built["severity_id"]) is int and type(built["kind"]) is str
    event = records.event(uid="v:e", vendor="v", vendor_id="e", type="x", time="2024-05-01T10:00:00Z", summary="s")
    assert list(event) == list(Event.model_fields)
    first, second = records.resource(), records.resource()
    first["ip"].append("10.0.0.1")
    assert second["ip"] == [], "defaults are never shared between records"
    with pytest.raises(TypeError, match="Threat: no field"):
        records.threat({**minimal, "colour": "red"})


BUILDERS = {"Event": records.event, "Resource": records.resource, "Vulnerability": records.vulnerability,
            "Attack": records.attack, "DnsRecord": records.dns_record, "Indicator": records.indicator,
            "Change": records.change, "Container": records.container, "Cloud": records.cloud, "File": records.file,
            "Process": records.process}
"""Each part's builder (compiled from its layout) by layout name; Threat is built from the template."""


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_each_compiled_builder_writes_its_layout_out(name: str) -> None:
    layout, build = records.LAYOUTS[name], BUILDERS[name]
    values = {field: f"v{index}" for index, field in enumerate(layout.template)}
    built = build(**values)
    assert built == values and list(built) == list(layout.template), "every field given, in the layout's order"
    first = build(**{next(iter(layout.template)): "x"})
    second = build(**{next(iter(layout.template)): "x"})
    expected = {**layout.template, next(iter(layout.template)): "x", **{f: make() for f, make in layout.factories}}
    assert first == second == expected and list(first) == list(layout.template), "the others take their defaults"
    for field, _ in layout.factories:
        assert first[field] is not second[field], "defaults are never shared between records"
    with pytest.raises(TypeError, match=f"{build.__name__}.. got an unexpected keyword argument 'colour'"):
        build(colour="red")


@pytest.mark.parametrize("name", ["Container", "Cloud", "File", "Process"])
def test_an_optional_part_of_nulls_is_none(name: str) -> None:
    build, fields = BUILDERS[name], list(records.LAYOUTS[name].template)
    assert build() is None and build(**dict.fromkeys(fields)) is None
    assert build(**{fields[-1]: 0}) == {**dict.fromkeys(fields), fields[-1]: 0}, "zero is a value"
    assert (build.__doc__ or "").endswith("or None when every value is null.")


def test_a_field_no_keyword_can_name_is_refused_when_the_layout_is_compiled() -> None:
    layout = records.Layout("Odd", {"ok": None, "not-ok": None, "class": None}, ())
    with pytest.raises(ValueError, match=re.escape("Odd: field(s) not-ok, class cannot be keyword arguments")):
        records._compiled(layout, "odd", "An odd part.")


def test_the_observable_builder_is_its_layout() -> None:
    assert list(records.observable("ip", "10.0.0.1")) == list(records.LAYOUTS["Observable"].template)


@pytest.mark.parametrize("name", sorted(records.LAYOUTS))
def test_each_layout_read_from_the_generated_schemas_is_its_models(name: str) -> None:
    model = getattr(threat_models, name)
    expected = {field: info.get_default() for field, info in model.model_fields.items()}
    expected = {field: None if value is PydanticUndefined else value for field, value in expected.items()}
    layout = records.LAYOUTS[name]
    assert list(layout.template) == list(expected) and layout.template == expected
    factories = {field: info.default_factory() for field, info in model.model_fields.items() if info.default_factory}
    assert {field: make() for field, make in layout.factories} == factories


def test_the_schema_refuses_what_hygiene_removes() -> None:
    validator: Draft202012Validator = STORE.validator("threat.json")
    base = records.threat({"uid": "v:1", "vendor": "v", "vendor_id": "1", "kind": "detection", "title": "t",
                           "severity_id": 0, "status_id": 0})
    bad_observables = [("ip", "127.0.0.1"), ("ip", "fe80::1"), ("ip", "10.0.0"), ("file_hash.sha1", "unknown"),
                       ("file_hash.md5", "A" * 32), ("domain", "Example.COM"), ("email", "redacted"),
                       ("url", "not a url")]
    for kind, value in bad_observables:
        assert not validator.is_valid({**base, "observables": [records.observable(kind, value)]}), (kind, value)
    assert not validator.is_valid({**base, "resources": [records.resource(ip=["999.1.1.1"])]})
    assert not validator.is_valid({**base, "created_at": "2024-05-01 10:00:00"})
    assert validator.is_valid({**base, "resources": [records.resource(ip=["fe80::1", "127.0.0.1"])]})
