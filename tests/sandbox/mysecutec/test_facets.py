"""The MySecutec TAM simulator: filter facets and aggregate, the spec's examples as a contract, built threats."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from connector.sandbox.common import iso_z
from connector.sandbox.mysecutec.store import Store
from tests.conftest import doc
from tests.sandbox.mysecutec.conftest import (
    LIVE,
    NOW,
    SIZE,
    UNKNOWN_ID,
    Client,
    assert_error,
    everything,
    fresh_unsolved,
    ids,
    make_client,
    module_of,
)


def test_filter_facets_unfiltered_and_filtered(client: Client) -> None:
    unfiltered = client.get("/tam/v1/threats/filter").json()
    for facet in ("statuses", "severities", "system_statuses", "license_modules"):
        assert all(entry["filtered_total"] == entry["unfiltered_total"] for entry in unfiltered[facet])
    assert sum(e["unfiltered_total"] for e in unfiltered["statuses"]) == len(LIVE)
    assert sum(e["unfiltered_total"] for e in unfiltered["severities"]) == sum(
        bool(r["severity"]) for r in LIVE)
    assert sum(e["unfiltered_total"] for e in unfiltered["user_statuses"]) == sum(
        bool(r["user_status"]) for r in LIVE)
    filtered = client.get("/tam/v1/threats/filter?license_module=dnm&severity=critical,high").json()
    kept = [r for r in LIVE if module_of(r) == "dnm" and r["severity"] in ("critical", "high")]
    assert {e["value"]: e["filtered_total"] for e in filtered["license_modules"]} == {
        "asm": 0, "lcm": 0, "m365": 0, "dnm": len(kept)}
    assert {e["value"]: e["filtered_total"] for e in filtered["statuses"]} == {
        status: sum(r["status"] == status for r in kept) for status in ("unsolved", "solved", "accepted",
                                                                        "false_positive")}
    assert [e["unfiltered_total"] for e in filtered["severities"]] == [
        e["unfiltered_total"] for e in unfiltered["severities"]]
    assert_error(client.get("/tam/v1/threats/filter?severity=urgent"), 400, "bad_request")


def _aggregate(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/tam/v1/threats/aggregate", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_aggregate_by_severity_and_year(client: Client) -> None:
    body = {"group_by": [{"path": "severity", "alias": "severity"},
                         {"path": "first_seen_at.year", "alias": "year"}],
            "select": [{"path": "id", "alias": "count"}]}
    answer = _aggregate(client, body)
    expected: dict[tuple[Any, Any], int] = {}
    for r in LIVE:
        key = (r["severity"], int(r["first_seen_at"][:4]) if r["first_seen_at"] else None)
        expected[key] = expected.get(key, 0) + 1
    assert {(row["severity"], row["year"]): row["count"] for row in answer["results"]} == expected
    assert answer["total"] == answer["pagination"]["total"] == len(expected)
    assert answer["results"][0]["severity"] == "critical" and answer["results"][-1]["severity"] is None


def test_aggregate_by_month_and_data_paths_with_jsonb_filters(client: Client) -> None:
    lcm_only = {"license_module": ["lcm"]}
    months = _aggregate(client, {"group_by": [{"path": "first_seen_at.month"}], "filters": lcm_only})
    assert {row["month"] for row in months["results"]} <= {*range(1, 13), None}
    assert sum(row["count"] for row in months["results"]) == sum(module_of(r) == "lcm" for r in LIVE)
    body = {"group_by": [{"path": "data.item_type"}, {"path": "data.enriched.breach.source_id"}],
            "filters": {"license_module": ["dnm"],
                        "jsonb_filters": [{"path": "data.item_type", "values": ["BOTNET", "BLACK_MARKET"]}]}}
    rows = _aggregate(client, body)["results"]
    expected: dict[tuple[str, str], int] = {}
    for r in LIVE:
        if r["data"].get("item_type") in ("BOTNET", "BLACK_MARKET"):
            key = (r["data"]["item_type"], r["data"]["enriched"]["breach"]["source_id"])
            expected[key] = expected.get(key, 0) + 1
    assert {(row["item_type"], row["source_id"]): row["count"] for row in rows} == expected
    by_category = {"group_by": [{"path": "data.enriched.breach.category", "alias": "category"}],
                   "filters": {"license_module": ["dnm"]}}
    categories = _aggregate(client, by_category)["results"]
    assert {row["category"] for row in categories} >= {"stealer_log", "paste"}
    assert sum(row["count"] for row in categories) == sum(module_of(r) == "dnm" for r in LIVE)


def test_aggregate_pages_its_groups(client: Client) -> None:
    body: dict[str, Any] = {"group_by": [{"path": "asset_id"}], "limit": 5, "offset": 0}
    first = _aggregate(client, body)
    second = _aggregate(client, {**body, "offset": 5})
    assert first["pagination"] == {"limit": 5, "offset": 0, "total": len({r["asset_id"] for r in LIVE})}
    assert len(first["results"]) == 5 and first["results"][-1]["asset_id"] < second["results"][0]["asset_id"]
    assert _aggregate(client, {})["results"] == [{"count": len(LIVE)}]


@pytest.mark.parametrize("body", [
    {"group_by": [{"path": "colour"}]},
    {"group_by": [{"path": "first_seen_at.week"}]},
    {"select": [{"path": "nothing", "alias": "count"}]},
    {"filters": {"license_module": ["edr"]}},
    {"filters": {"jsonb_filters": [{"path": "owner", "values": ["x"]}]}},
    {"filters": {"severity": ["high"]}},
    {"group_by": [{"path": "severity", "alias": "count"}]},
    {"limit": 0},
])
def test_bad_aggregate_bodies_are_400(client: Client, body: dict[str, Any]) -> None:
    response = client.post("/tam/v1/threats/aggregate", json=body)
    assert response.status_code == 400 and set(response.json()) == {"error"}


def assert_same_shape(documented: Any, answered: Any, nullable: frozenset[str], where: str = "$") -> None:
    """Same keys and value types, recursively.

    A documented null or empty object accepts anything of its kind, and a field the spec calls nullable
    may be null.
    """
    if documented is None or (answered is None and where.rsplit(".", 1)[-1] in nullable):
        return
    if isinstance(documented, dict):
        assert isinstance(answered, dict), where
        if documented:
            assert set(answered) == set(documented), (where, set(answered) ^ set(documented))
            for key, value in documented.items():
                assert_same_shape(value, answered[key], nullable, f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(answered, list), where
        for index, item in enumerate(answered if documented else []):
            assert_same_shape(documented[0], item, nullable, f"{where}[{index}]")
    else:
        assert type(answered) is type(documented), (where, documented, answered)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The spec's example requests, its JSON blocks and the fields its models mark nullable."""
    return {"requests": [(r["method"], r["target"]) for r in doc("mysecutec/example_requests.json")],
            "blocks": doc("mysecutec/examples.json"), "nullable": frozenset(doc("mysecutec/nullable_fields.json"))}


def _block(spec: dict[str, Any], *keys: str) -> Any:
    """The spec's JSON block holding all of ``keys``."""
    return next(block for block in spec["blocks"] if all(key in block for key in keys))


def _request(spec: dict[str, Any], method: str, ending: str, real_id: str = "") -> str:
    """The spec's example target of ``method`` whose path ends with ``ending``, with a real threat id."""
    targets = [re.sub(r"t1234-5678(-abcd-ef90)?", real_id, target) for verb, target in spec["requests"]
               if verb == method]
    return next(target for target in targets if target.split("?")[0].endswith(ending))


def test_contract_list_get_and_patch(client: Client, spec: dict[str, Any]) -> None:
    assert {"note", "cvss_score", "severity", "first_seen_at", "year", "month"} <= spec["nullable"]
    assert "id" not in spec["nullable"] and "name" in spec["nullable"]  # name: the aggregate entry's
    documented = _block(spec, "pagination", "threats")
    answered = client.get(_request(spec, "GET", "/threats/")).json()
    assert answered["pagination"]["limit"] == 10 and answered["threats"]
    assert all(t["severity"] in ("critical", "high") for t in answered["threats"])
    assert_same_shape(documented, answered, spec["nullable"])
    real_id = answered["threats"][0]["id"]
    one = client.get(_request(spec, "GET", real_id, real_id)).json()
    assert_same_shape(documented["threats"][0], one, spec["nullable"])
    patch_body = _block(spec, "note", "user_status")
    patched = client.patch(_request(spec, "PATCH", real_id, real_id), json=patch_body).json()
    assert_same_shape(documented["threats"][0], patched, spec["nullable"])
    assert (patched["note"], patched["user_status"]) == ("Risk accepted per review", "accepted")
    logs = client.get(_request(spec, "GET", "/logs", real_id)).json()
    assert logs["pagination"]["limit"] == 5
    assert {entry["operation"] for entry in logs["logs"][:2]} == {"status_change", "note_change"}
    assert_same_shape(_block(spec, "logs"), logs, spec["nullable"])


def test_contract_bulk_status(client: Client, spec: dict[str, Any]) -> None:
    request = json.loads(json.dumps(_block(spec, "threat_ids")).replace("<id1>", LIVE[0]["id"])
                         .replace("<id2>", UNKNOWN_ID))
    answered = client.patch(_request(spec, "PATCH", "/status"), json=request).json()
    documented = _block(spec, "successful")
    assert_same_shape(documented, answered, spec["nullable"])
    assert answered["summary"] == documented["summary"]
    assert answered["failed"][0]["error_type"] == documented["failed"][0]["error_type"]
    assert answered["failed"][0]["error_message"] == documented["failed"][0]["error_message"]


def test_contract_filter_and_aggregate(client: Client, spec: dict[str, Any]) -> None:
    documented = _block(spec, "statuses")
    answered = client.get(_request(spec, "GET", "/filter")).json()
    assert_same_shape(documented, answered, spec["nullable"])
    for facet, entries in documented.items():
        assert [(e["label"], e["value"]) for e in answered[facet]] == [
            (e["label"], e["value"]) for e in entries]
    request = _block(spec, "group_by")
    documented_answer = _block(spec, "results")
    as_documented = _aggregate(client, request)
    assert_same_shape(documented_answer, as_documented, spec["nullable"])
    # The documented filters combine asm with a DNM item type, which no threat has; DNM shows the rows.
    dnm = _aggregate(client, {**request, "filters": {"license_module": ["dnm"]}})
    assert dnm["results"]
    assert_same_shape(documented_answer, dnm, spec["nullable"])


def test_a_tiny_cache_of_built_threats_serves_the_seeded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Store, "BUILT_THREATS", 3)
    with make_client() as client:
        walked = [record for offset in range(0, SIZE, 7)
                  for record in client.get(f"/tam/v1/threats/?limit=7&offset={offset}&sort=id").json()["threats"]]
        assert walked == sorted(LIVE, key=lambda record: record["id"])
        assert everything(client, "severity=critical")["threats"] == [
            r for r in sorted(LIVE, key=lambda r: r["created_at"], reverse=True) if r["severity"] == "critical"]


def test_a_change_survives_eviction_and_moves_the_cached_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Store, "BUILT_THREATS", 3)
    record = fresh_unsolved()
    with make_client() as client:
        assert record["id"] in ids(everything(client, "status=unsolved"))
        body = {"threat_ids": [record["id"]], "user_status": "solved"}
        assert client.patch("/tam/v1/threats/status", json=body).json()["summary"]["total_successful"] == 1
        everything(client, "sort=name")  # builds every threat again through the tiny cache
        assert record["id"] not in ids(everything(client, "status=unsolved"))
        assert record["id"] in ids(everything(client, "status=solved"))
        changed = client.get(f"/tam/v1/threats/{record['id']}").json()
        assert (changed["user_status"], changed["status"], changed["updated_at"]) == ("solved", "solved", iso_z(NOW))
        logs = client.get(f"/tam/v1/threats/{record['id']}/logs?include_system=false").json()["logs"]
        assert [entry["operation"] for entry in logs] == ["status_change"]
