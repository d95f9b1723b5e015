"""The SentinelOne simulator: GET /threats, its cursor paging, sorting, parameters and filters."""

from __future__ import annotations

from typing import Any

import pytest

from connector.sandbox.sentinelone.query import DOCUMENTED_PARAMS
from tests.conftest import doc
from tests.sandbox.sentinelone.conftest import (
    SIZE,
    THREATS,
    Client,
    Threat,
    expect,
    ids_of,
    info_of,
    validation_error,
    walk_all,
)


def test_default_page_is_ten_oldest_threats(reader: Client, everything: list[Threat]) -> None:
    body = reader.get(THREATS).json()
    assert set(body) == {"data", "pagination"}
    assert body["pagination"]["totalItems"] == SIZE
    assert isinstance(body["pagination"]["nextCursor"], str)
    assert [t["id"] for t in body["data"]] == [t["id"] for t in everything[:10]]
    keys = [(info_of(t, "createdAt"), t["id"]) for t in everything]
    assert keys == sorted(keys) and len(everything) == SIZE


def test_cursor_walk_returns_every_threat_once(reader: Client, everything: list[Threat]) -> None:
    walked = walk_all(reader, limit=40)
    assert len(walked) == SIZE
    assert [t["id"] for t in walked] == [t["id"] for t in everything]


def test_cursor_walk_is_stable_while_threats_change(writer: Client) -> None:
    open_ids = ids_of(writer, incidentStatusesNin="resolved")

    def resolve(page: list[Threat]) -> None:
        # The page just read leaves the filtered set: an offset cursor would now skip as many unseen ones.
        body = {"filter": {"ids": [t["id"] for t in page]}, "data": {"incidentStatus": "resolved"}}
        assert writer.post(f"{THREATS}/incident", json=body).json() == {"data": {"affected": len(page)}}

    walked = walk_all(writer, after_page=resolve, limit=20, incidentStatusesNin="resolved")
    assert len(open_ids) > 60
    assert [t["id"] for t in walked] == open_ids


def test_descending_walk_by_updated_at(reader: Client, everything: list[Threat]) -> None:
    walked = walk_all(reader, limit=50, sortBy="updatedAt", sortOrder="desc")
    keys = [(info_of(t, "updatedAt"), t["id"]) for t in walked]
    assert keys == sorted(keys, reverse=True)
    assert sorted(t["id"] for t in walked) == sorted(t["id"] for t in everything)


def test_sort_by_threat_name(reader: Client) -> None:
    names = [
        info_of(t, "threatName")
        for t in reader.get(THREATS, params={"limit": 1000, "sortBy": "threatName"}).json()["data"]
    ]
    assert names == sorted(names) and len(set(names)) > 3


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"skip": 1001}, "skip"),
        ({"skip": -1}, "skip"),
        ({"sortBy": "severity"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"incidentStatuses": "open"}, "incidentStatuses"),
        ({"confidenceLevels": "high"}, "confidenceLevels"),
        ({"createdAt__gte": "yesterday"}, "createdAt__gte"),
        ({"resolved": "maybe"}, "resolved"),
        ({"ids": ""}, "ids"),
    ],
)
def test_bad_parameters_are_validation_errors(reader: Client, params: dict[str, Any], needle: str) -> None:
    assert needle in validation_error(reader.get(THREATS, params=params))


def test_limit_and_skip_bounds(reader: Client, everything: list[Threat]) -> None:
    assert len(reader.get(THREATS, params={"limit": 1000}).json()["data"]) == SIZE
    assert ids_of(reader, skip=5, limit=3) == [t["id"] for t in everything[5:8]]
    assert reader.get(THREATS, params={"skip": 1000}).json()["data"] == []


def test_unknown_filter_is_rejected(reader: Client) -> None:
    answer = reader.get(THREATS, params={"severity": "critical"})
    assert answer.json() == {
        "errors": [
            {
                "code": 4000010,
                "detail": "unknown filter 'severity': not a parameter of GET /web/api/v2.1/threats",
                "title": "Validation Error",
            }
        ]
    }


def test_every_parameter_of_the_spec_is_known() -> None:
    spec_names = {parameter["name"] for parameter in doc("sentinelone/get_threats_parameters.json")}
    ours = {name.lower().replace("__", " ") for name in DOCUMENTED_PARAMS}
    assert ours == spec_names


def test_list_filters(reader: Client, everything: list[Threat]) -> None:
    first, second = everything[3], everything[40]
    assert ids_of(reader, ids=f"{second['id']},{first['id']}") == [first["id"], second["id"]]
    assert ids_of(reader, ids=[first["id"], second["id"]]) == [first["id"], second["id"]]
    for name, key in (
        ("incidentStatuses", "incidentStatus"),
        ("analystVerdicts", "analystVerdict"),
        ("mitigationStatuses", "mitigationStatus"),
        ("confidenceLevels", "confidenceLevel"),
        ("classifications", "classification"),
    ):
        value = info_of(first, key)
        included = ids_of(reader, **{name: value})
        excluded = ids_of(reader, **{name + "Nin": value})
        assert included == expect(everything, lambda t, k=key, v=value: info_of(t, k) == v)
        assert excluded == expect(everything, lambda t, k=key, v=value: info_of(t, k) != v)
        assert included and excluded
    two = ids_of(reader, incidentStatuses="unresolved,in_progress")
    assert two == expect(everything, lambda t: info_of(t, "incidentStatus") in ("unresolved", "in_progress"))
    for name, key in (
        ("siteIds", "siteId"),
        ("accountIds", "accountId"),
        ("groupIds", "groupId"),
        ("agentIds", "agentId"),
    ):
        value = first["agentRealtimeInfo"][key]
        expected = expect(everything, lambda t, k=key, v=value: t["agentRealtimeInfo"][k] == v)
        assert ids_of(reader, **{name: value}) == expected and first["id"] in expected


def test_time_filters(reader: Client, everything: list[Threat]) -> None:
    low, high = info_of(everything[20], "createdAt"), info_of(everything[60], "createdAt")
    window = ids_of(reader, createdAt__gte=low, createdAt__lt=high)
    assert window == [t["id"] for t in everything[20:60]]
    assert ids_of(reader, createdAt__gt=low, createdAt__lte=high) == [t["id"] for t in everything[21:61]]
    assert ids_of(reader, createdAt__gte="2026-01-01T00:00:00Z") == expect(
        everything, lambda t: info_of(t, "createdAt") >= "2026-01-01T00:00:00.000000Z"
    )
    recent = ids_of(reader, updatedAt__gt="2026-06-01T00:00:00+00:00")
    assert recent == expect(everything, lambda t: info_of(t, "updatedAt") > "2026-06-01T00:00:00.000000Z")
    assert 0 < len(recent) < SIZE


def test_text_and_flag_filters(reader: Client, everything: list[Threat]) -> None:
    sample = next(t for t in everything if info_of(t, "sha256"))
    host = sample["agentRealtimeInfo"]["agentComputerName"]
    assert ids_of(reader, computerName__contains=host[2:8].swapcase()) == expect(
        everything, lambda t: host[2:8].lower() in t["agentRealtimeInfo"]["agentComputerName"].lower()
    )
    assert ids_of(reader, contentHashes=info_of(sample, "sha256")) == [sample["id"]]
    assert ids_of(reader, contentHash__contains=info_of(sample, "sha1")[:12]) == [sample["id"]]
    assert ids_of(reader, query="mimikatz") == expect(
        everything, lambda t: "mimikatz" in info_of(t, "threatName")
    )
    assert ids_of(reader, resolved="true") == expect(
        everything, lambda t: info_of(t, "incidentStatus") == "resolved"
    )
    assert ids_of(reader, resolved="FALSE") == expect(
        everything, lambda t: info_of(t, "incidentStatus") != "resolved"
    )
    assert ids_of(reader, externalTicketExists="true") == expect(
        everything, lambda t: info_of(t, "externalTicketExists")
    )
    cluster = next(t for t in everything if t["kubernetesInfo"]["cluster"])["kubernetesInfo"]["cluster"]
    assert ids_of(reader, k8sClusterName__contains=cluster) == expect(
        everything, lambda t: t["kubernetesInfo"]["cluster"] == cluster
    )
    assert ids_of(reader, awsRole__contains="admin") == []  # no cloud metadata on sandbox agents
    assert ids_of(reader, tenant="true", countsFor="osTypes") == [t["id"] for t in everything]


def test_count_only_and_skip_count(reader: Client, everything: list[Threat]) -> None:
    resolved = len(expect(everything, lambda t: info_of(t, "incidentStatus") == "resolved"))
    counted = reader.get(THREATS, params={"countOnly": "true", "incidentStatuses": "resolved"}).json()
    assert counted == {"data": [], "pagination": {"totalItems": resolved, "nextCursor": None}}
    skipped = reader.get(
        THREATS, params={"skipCount": "true", "limit": 5, "incidentStatuses": "resolved"}
    ).json()
    assert skipped["pagination"]["totalItems"] is None and len(skipped["data"]) == 5
    assert isinstance(skipped["pagination"]["nextCursor"], str)


def test_cursor_must_match_the_sort(reader: Client) -> None:
    cursor = reader.get(THREATS, params={"limit": 5}).json()["pagination"]["nextCursor"]
    assert "cursor" in validation_error(reader.get(THREATS, params={"cursor": cursor, "sortBy": "id"}))
