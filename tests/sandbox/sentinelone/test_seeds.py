"""The SentinelOne simulator: seeds, the shape of real payloads, threats built on demand."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connector.sandbox.sentinelone.store import ThreatStore
from tests.conftest import real_payload
from tests.sandbox.sentinelone.conftest import THREATS, Threat, ids_of, info_of, new_client, walk_all


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    one, two, other = new_client(size=40), new_client(size=40), new_client(size=40, seed=8)
    page = {"limit": 40}
    assert one.get(THREATS, params=page).content == two.get(THREATS, params=page).content
    assert set(ids_of(one)).isdisjoint(ids_of(other))


def _shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys with their shapes, a list's first element, a scalar's type."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _compare(real: Any, ours: Any, path: str) -> None:
    if real == "NoneType" or ours == "NoneType":
        return  # a null in either record says nothing about the other's type
    if isinstance(real, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(real), (
            f"{path}: extra {set(ours) - set(real)}, missing {set(real) - set(ours)}"
        )
        for key in real:
            _compare(real[key], ours[key], f"{path}.{key}")
    elif isinstance(real, list):
        assert isinstance(ours, list), path
        if real and ours:
            _compare(real[0], ours[0], f"{path}[0]")
    else:
        assert ours == real, f"{path}: {ours} in the sandbox, {real} in the real payload"


def test_threats_have_the_shape_of_real_payloads(everything: list[Threat]) -> None:
    page = real_payload("sentinelone/threats_page_eventcollector.json")
    assert set(page["pagination"]) == {"totalItems", "nextCursor"}
    real = page["data"][0]
    rich = [t for t in everything if t["indicators"] and t["mitigationStatus"]]
    for ours in (everything[0], rich[0], *rich[-2:]):
        _compare(_shape(real), _shape(ours), "threat")
    values = {
        field: {info_of(t, field) for t in everything}
        for field in ("confidenceLevel", "analystVerdict", "incidentStatus")
    }
    assert values == {
        "confidenceLevel": {"malicious", "suspicious", "n/a"},
        "analystVerdict": {"true_positive", "suspicious", "false_positive", "undefined"},
        "incidentStatus": {"unresolved", "in_progress", "resolved"},
    }
    created = sorted(info_of(t, "createdAt") for t in everything)
    assert created[0] >= "2024-11-01" and created[-1] < "2026-11-01" and created[-1] > "2026-05-01"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", c) for c in created)
    tactics = {tactic["name"] for t in rich for ind in t["indicators"] for tactic in ind["tactics"]}
    assert {"Execution", "Defense Evasion"} <= tactics


def test_threats_evicted_from_tiny_caches_are_rebuilt_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThreatStore, "ENCODED_BUDGET", 20_000)  # about four threats
    monkeypatch.setattr(ThreatStore, "BUILT_THREATS", 3)
    small, reference = new_client(), new_client()
    assert walk_all(small, limit=7) == walk_all(small, limit=1000) == walk_all(reference, limit=1000)


def test_a_changed_threat_stays_changed_after_it_is_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThreatStore, "ENCODED_BUDGET", 20_000)
    monkeypatch.setattr(ThreatStore, "BUILT_THREATS", 3)
    client = new_client()
    chosen = walk_all(client, limit=1000)[-1]["id"]
    body = {"filter": {"ids": [chosen]}, "data": {"text": "seen"}}
    assert client.post(f"{THREATS}/notes", json=body).json() == {"data": {"affected": 1}}
    verdict = {"filter": {"ids": [chosen]}, "data": {"analystVerdict": "suspicious"}}
    assert client.post(f"{THREATS}/analyst-verdict", json=verdict).json() == {"data": {"affected": 1}}
    for _ in range(2):  # the second walk serves every threat again, long after the change was cached
        walked = {threat["id"]: threat for threat in walk_all(client, limit=50)}
        assert info_of(walked[chosen], "analystVerdict") == "suspicious"
        assert ids_of(client, analystVerdicts="suspicious", ids=chosen) == [chosen]
    assert ids_of(client, noteExists="true") == [chosen]


def test_a_hundred_thousand_threats_page_by_cursor() -> None:
    client = new_client(size=100_000)
    first = client.get(THREATS, params={"limit": 1000}).json()
    assert first["pagination"]["totalItems"] == 100_000
    second = client.get(THREATS, params={"limit": 1000, "cursor": first["pagination"]["nextCursor"]}).json()
    page_ids = [threat["id"] for threat in first["data"] + second["data"]]
    assert len(set(page_ids)) == 2000
    created = [info_of(threat, "createdAt") for threat in first["data"] + second["data"]]
    assert created == sorted(created)
    newest = client.get(THREATS, params={"limit": 1, "sortOrder": "desc"}).json()["data"][0]
    assert info_of(newest, "createdAt") >= created[-1]


def test_same_seed_same_bytes_other_seed_other_threats() -> None:
    first, second, other = new_client(seed=3), new_client(seed=3), new_client(seed=4)
    params = {"limit": 100, "sortBy": "threatName"}
    assert first.get(THREATS, params=params).content == second.get(THREATS, params=params).content
    assert first.get(THREATS, params=params).content != other.get(THREATS, params=params).content


def test_a_change_moves_the_matches_kept_for_a_filter() -> None:
    client = new_client()
    params = {"limit": 5, "incidentStatuses": "unresolved"}
    first = client.get(THREATS, params=params).json()
    total, chosen = first["pagination"]["totalItems"], first["data"][0]["id"]
    resolve = {"filter": {"ids": [chosen]}, "data": {"incidentStatus": "resolved"}}
    assert client.post(f"{THREATS}/incident", json=resolve).json() == {"data": {"affected": 1}}
    again = client.get(THREATS, params=params).json()
    assert again["pagination"]["totalItems"] == total - 1
    assert chosen not in [threat["id"] for threat in again["data"]]
    assert client.get(THREATS, params={"noteExists": "true"}).json()["pagination"]["totalItems"] == 0
    note = {"filter": {"ids": [chosen]}, "data": {"text": "resolved by hand"}}
    assert client.post(f"{THREATS}/notes", json=note).json() == {"data": {"affected": 1}}
    assert [t["id"] for t in client.get(THREATS, params={"noteExists": "true"}).json()["data"]] == [chosen]
