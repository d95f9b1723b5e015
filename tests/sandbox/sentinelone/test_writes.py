"""The SentinelOne simulator: auth, the state-changing POSTs, notes, mitigation and the rate limit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.sentinelone.conftest import (
    THREATS,
    TOKEN,
    Client,
    Threat,
    expect,
    ids_of,
    info_of,
    new_client,
    validation_error,
    walk_all,
)


@pytest.mark.parametrize("header", [None, "ApiToken wrong", f"Bearer {TOKEN}"])
def test_authentication_failures(reader: Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    anonymous = Client(reader.app, headers)
    for answer in (anonymous.get(THREATS), anonymous.get("/web/api/v2.1/system/info")):
        assert answer.status_code == 401
        (error,) = answer.json()["errors"]
        assert error["code"] == 4010010 and error["title"] == "Authentication Failed" and error["detail"]


def test_system_info_and_unknown_paths(reader: Client) -> None:
    info = reader.get("/web/api/v2.1/system/info").json()["data"]
    assert set(info) == {"build", "patch", "release", "version"}
    missing = reader.get("/web/api/v2.1/threats/123/bogus")
    assert missing.status_code == 404 and missing.json()["errors"][0]["title"] == "Resource not found"
    assert reader.request("DELETE", THREATS).status_code == 405


def test_incident_update_counts_and_changes(writer: Client) -> None:
    before = {t["id"]: t for t in walk_all(writer, limit=1000)}
    newest = max(info_of(t, "updatedAt") for t in before.values())
    chosen = list(before)[:2]
    answer = writer.post(
        f"{THREATS}/incident",
        json={
            "filter": {"ids": [*chosen, "999999999999999999"]},
            "data": {"incidentStatus": "in_progress", "analystVerdict": "true_positive"},
        },
    )
    assert answer.json() == {"data": {"affected": 2}}
    for threat in writer.get(THREATS, params={"ids": ",".join(chosen)}).json()["data"]:
        assert info_of(threat, "incidentStatus") == "in_progress"
        assert info_of(threat, "incidentStatusDescription") == "In progress"
        assert info_of(threat, "analystVerdict") == "true_positive"
        assert info_of(threat, "updatedAt") > newest
    assert ids_of(writer, updatedAt__gt=newest) == chosen


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("incident", {"filter": {"ids": ["1"]}, "data": {"incidentStatus": "closed"}}, "incidentStatus"),
        (
            "incident",
            {"filter": {"ids": ["1"]}, "data": {"analystVerdict": "true_positive"}},
            "incidentStatus",
        ),
        ("incident", {"filter": {}, "data": {"incidentStatus": "resolved"}}, "filter"),
        ("incident", {"data": {"incidentStatus": "resolved"}}, "filter"),
        ("incident", {"filter": {"bogus": ["1"]}, "data": {"incidentStatus": "resolved"}}, "unknown filter"),
        ("incident", {"filter": {"limit": 3}, "data": {"incidentStatus": "resolved"}}, "limit"),
        (
            "analyst-verdict",
            {"filter": {"ids": ["1"]}, "data": {"analystVerdict": "benign"}},
            "analystVerdict",
        ),
        ("analyst-verdict", {"filter": {"ids": ["1"]}, "data": {"analystVerdict": "undefined", "x": 1}}, "x"),
        ("notes", {"filter": {"ids": ["1"]}, "data": {"text": "  "}}, "text"),
        ("mitigate/format-disk", {"filter": {"ids": ["1"]}}, "action"),
    ],
)
def test_bad_posts_are_validation_errors(
    writer: Client, path: str, body: dict[str, Any], needle: str
) -> None:
    assert needle in validation_error(writer.post(f"{THREATS}/{path}", json=body))


def test_post_body_must_be_json(writer: Client) -> None:
    assert "JSON" in validation_error(writer.post(f"{THREATS}/incident", content=b"{nope"))


def test_analyst_verdict_with_a_non_id_filter(writer: Client, everything: list[Threat]) -> None:
    host = everything[0]["agentRealtimeInfo"]["agentComputerName"]
    expected = expect(everything, lambda t: t["agentRealtimeInfo"]["agentComputerName"] == host)
    answer = writer.post(
        f"{THREATS}/analyst-verdict",
        json={"filter": {"computerName__contains": [host]}, "data": {"analystVerdict": "false_positive"}},
    )
    assert answer.json() == {"data": {"affected": len(expected)}}
    assert ids_of(writer, analystVerdicts="false_positive", computerName__contains=host) == expected


def test_notes_round_trip(writer: Client) -> None:
    first, second = ids_of(writer, limit=2)
    answer = writer.post(
        f"{THREATS}/notes",
        json={"filter": {"ids": [first, second, "42"]}, "data": {"text": "escalated to IR"}},
    )
    assert answer.json() == {"data": {"affected": 2}}
    notes = writer.get(f"{THREATS}/{first}/notes").json()
    assert notes["pagination"] == {"totalItems": 1, "nextCursor": None}
    (note,) = notes["data"]
    assert note["text"] == "escalated to IR" and note["creator"] and note["createdAt"].endswith("Z")
    assert set(note) == {"createdAt", "creator", "creatorId", "edited", "id", "text", "updatedAt"}
    assert writer.get(f"{THREATS}/42/notes").json()["data"] == []
    assert ids_of(writer, noteExists="true") == [first, second]


def test_mitigate_actions(writer: Client) -> None:
    target = ids_of(writer, mitigationStatuses="not_mitigated", limit=1)
    answer = writer.post(f"{THREATS}/mitigate/kill", json={"filter": {"ids": [*target, "7"]}})
    assert answer.json() == {"data": {"affected": 1}}
    (threat,) = writer.get(THREATS, params={"ids": target[0]}).json()["data"]
    assert info_of(threat, "mitigationStatus") == "mitigated"
    assert threat["mitigationStatus"][-1]["action"] == "kill"
    assert threat["mitigationStatus"][-1]["status"] == "success"
    writer.post(f"{THREATS}/mitigate/un-quarantine", json={"filter": {"ids": target}})
    (threat,) = writer.get(THREATS, params={"ids": target[0]}).json()["data"]
    assert info_of(threat, "mitigationStatus") == "not_mitigated"
    assert [entry["action"] for entry in threat["mitigationStatus"]][-2:] == ["kill", "un-quarantine"]


def test_rate_limit_on_a_fake_clock() -> None:
    now = [100.0]
    client = new_client(size=20, rate_limit=True, clock=lambda: now[0])
    assert [client.get(THREATS).status_code for _ in range(10)] == [200] * 10
    limited = client.get(THREATS)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["errors"][0]["title"] == "Too Many Requests"
    assert client.get("/web/api/v2.1/system/info").status_code == 200  # only /threats is limited
    now[0] += 0.1
    assert [client.get(THREATS).status_code for _ in range(2)] == [200, 429]
