"""The MySecutec TAM simulator: records as served; get, patch and logs of one threat; bulk status."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from connector.sandbox.common import ANCHOR, TWO_YEARS, iso_z
from connector.sandbox.mysecutec.cvss import base_score
from connector.sandbox.mysecutec.data import ITEM_TYPES, SEVERITIES
from tests.sandbox.mysecutec.conftest import (
    DELETED,
    LIVE,
    NOW,
    SEED,
    STORED,
    UNKNOWN_ID,
    Client,
    assert_error,
    everything,
    fresh_unsolved,
    ids,
    make_client,
)


def test_records_are_realistic_and_consistent() -> None:
    bands = {
        "critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9),
        "info": (0.0, 0.0),
    }
    for record in LIVE:
        module = record["tech_solution"]["license_module_slug"]
        assert record["status"] == (record["user_status"] or record["system_status"])
        assert record["cvss_category"]["code"] == (record["severity"] or "unknown")
        assert iso_z(ANCHOR - TWO_YEARS - timedelta(days=1)) <= record["created_at"] <= iso_z(ANCHOR)
        assert record["created_at"] <= record["status_updated_at"] <= record["updated_at"]
        assert record["asset"]["id"] == record["asset_id"]
        if record["cvss_score"] is not None:
            low, high = bands[record["severity"]]
            assert low <= record["cvss_score"] <= high
            assert re.fullmatch(r"CVSS:3\.1/AV:[NALP]/AC:[LH]/PR:[NLH]/UI:[NR]/S:U/C:[NLH]/I:[NLH]/A:[NLH]",
                                record["cvss_vector"])
        if module == "lcm":
            assert re.fullmatch(r"CVE-\d{4}-\d{4,5}", record["external_id"])
            assert record["name"].startswith(record["external_id"])
        if module == "dnm":
            assert record["data"]["item_type"] in ITEM_TYPES and record["cvss_score"] is None
            assert set(record["data"]["enriched"]["breach"]) == {"category", "source_id", "name"}
    modules = {r["tech_solution"]["license_module_slug"] for r in LIVE}
    assert modules == {"asm", "dnm", "lcm", "m365"}
    assert any(r["severity"] is None for r in LIVE)
    assert any(r["cvss_score"] is None and r["severity"] for r in LIVE)


@pytest.mark.parametrize(("vector", "score"), [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
])
def test_cvss_scores_follow_the_specification(vector: str, score: float) -> None:
    assert base_score(vector) == score


def test_seeded_scores_agree_with_their_vectors_and_spread_like_real_cves() -> None:
    scored = [r for r in LIVE if r["cvss_score"] is not None]
    assert all(r["cvss_score"] == base_score(r["cvss_vector"]) for r in scored)
    severities = {severity: sum(r["severity"] == severity for r in scored) for severity in SEVERITIES}
    assert severities["high"] > severities["low"] and severities["critical"] > 0


def test_same_seed_same_answers_other_seed_other_data() -> None:
    with make_client() as one, make_client() as two, make_client(seed=SEED + 1) as other:
        query = "/tam/v1/threats/?limit=50&sort=-risk_priority_score"
        assert one.get(query).content == two.get(query).content
        assert not set(ids(one.get(query).json())) & set(ids(other.get(query).json()))
        logs = f"/tam/v1/threats/{LIVE[3]['id']}/logs"
        assert one.get(logs).content == two.get(logs).content


def test_get_one_threat(client: Client) -> None:
    record = LIVE[5]
    assert client.get(f"/tam/v1/threats/{record['id']}").json() == record
    assert client.get(f"/tam/v1/threats/{record['id'].upper()}").json() == record
    not_found = client.get(f"/tam/v1/threats/{UNKNOWN_ID}")
    assert_error(not_found, 404, "not_found")
    assert not_found.json()["error"]["message"] == "Threat not found"
    assert_error(client.get("/tam/v1/threats/t1234-5678-abcd-ef90"), 400, "invalid_id")


def test_patch_updates_the_threat_and_logs_each_change(client: Client) -> None:
    record = fresh_unsolved()
    url = f"/tam/v1/threats/{record['id']}"
    before = len(client.get(f"{url}/logs?limit=1000").json()["logs"])
    body = {"note": "Risk accepted per review", "user_status": "accepted"}
    updated = client.patch(url, json=body).json()
    stamp = iso_z(NOW)
    assert updated["note"] == "Risk accepted per review"
    assert (updated["user_status"], updated["status"]) == ("accepted", "accepted")
    assert updated["updated_at"] == updated["status_updated_at"] == stamp
    assert updated["system_status"] == "unsolved" and updated["created_at"] == record["created_at"]
    assert client.get(url).json() == updated
    assert record["id"] in ids(everything(client, "status=accepted"))
    logs = client.get(f"{url}/logs?limit=1000").json()
    assert logs["pagination"]["total"] == before + 2
    mine = {e["operation"]: e for e in logs["logs"] if e["created_by"] == "api-user@sandbox.local"}
    assert mine["status_change"]["change_data"] == {"field": "user_status", "old_value": None,
                                                    "new_value": "accepted"}
    assert mine["note_change"]["change_data"] == {"field": "note", "old_value": None,
                                                  "new_value": "Risk accepted per review"}
    assert mine["note_change"]["created_at"] == stamp and logs["logs"][0]["created_at"] == stamp


def test_patch_maps_documented_aliases_and_null_clears(client: Client) -> None:
    url = f"/tam/v1/threats/{fresh_unsolved()['id']}"
    assert client.patch(url, json={"user_status": "patched"}).json()["status"] == "solved"
    assert client.patch(url, json={"user_status": "rejected"}).json()["user_status"] == "false_positive"
    body = {"user_status": None, "unsolved_annotation_note": "Waiting for a fix"}
    cleared = client.patch(url, json=body).json()
    assert (cleared["user_status"], cleared["status"]) == (None, "unsolved")
    assert cleared["unsolved_annotation_note"] == "Waiting for a fix"
    logs = client.get(f"{url}/logs?include_system=false&sort=created_at").json()["logs"]
    operations = [entry["operation"] for entry in logs]
    assert operations.count("status_change") == 3 and operations.count("annotation_change") == 1


def test_patch_without_a_real_change_leaves_the_threat_alone(client: Client) -> None:
    stored = next(t for t in STORED if not t.deleted and t.record["note"] is not None)
    url = f"/tam/v1/threats/{stored.record['id']}"
    assert client.patch(url, json={"note": stored.record["note"]}).json() == stored.record
    assert client.get(f"{url}/logs").json()["pagination"]["total"] == len(stored.logs)


@pytest.mark.parametrize("body", [
    b'{"priority": "high"}', b'{"user_status": "closed"}', b'{"note": 5}', b"not json", b"[]", b"",
])
def test_bad_patch_bodies_are_400(client: Client, body: bytes) -> None:
    response = client.patch(f"/tam/v1/threats/{LIVE[0]['id']}", content=body,
                            headers={"Content-Type": "application/json"})
    assert_error(response, 400, "validation_error")
    assert client.get(f"/tam/v1/threats/{LIVE[0]['id']}").json() == LIVE[0]


def test_patch_on_unknown_threat_is_404(client: Client) -> None:
    assert_error(client.patch(f"/tam/v1/threats/{UNKNOWN_ID}", json={"note": "x"}), 404, "not_found")


def test_logs_paging_sort_and_system_events(client: Client) -> None:
    stored = max(STORED, key=lambda t: (not t.deleted, len(t.logs)))
    url = f"/tam/v1/threats/{stored.record['id']}/logs"
    assert len(stored.logs) >= 3 and {e["created_by"] for e in stored.logs} > {"system"}
    newest_first = client.get(url).json()
    assert newest_first["pagination"] == {"limit": 20, "offset": 0, "total": len(stored.logs)}
    newest = sorted(stored.logs, key=lambda entry: entry["created_at"], reverse=True)
    assert [e["id"] for e in newest_first["logs"]] == [e["id"] for e in newest]
    oldest = client.get(f"{url}?sort=created_at&limit=1&offset=0").json()["logs"]
    assert oldest[0]["operation"] == "sync" and oldest[0]["created_by"] == "system"
    humans = client.get(f"{url}?include_system=false").json()
    assert humans["logs"] and all(e["operation"] not in ("sync", "merge") for e in humans["logs"])
    assert humans["pagination"]["total"] == sum(e["created_by"] != "system" for e in stored.logs)
    second = client.get(f"{url}?limit=1&offset=1").json()
    assert second["logs"] == newest_first["logs"][1:2]
    assert_error(client.get(f"{url}?sort=severity"), 400, "bad_request")
    assert_error(client.get(f"{url}?include_system=perhaps"), 400, "bad_request")
    assert_error(client.get(f"/tam/v1/threats/{UNKNOWN_ID}/logs"), 404, "not_found")


def test_bulk_status_partial_success(client: Client) -> None:
    first, second = LIVE[10]["id"], LIVE[11]["id"]
    body = {"threat_ids": [first, UNKNOWN_ID, "not-a-uuid", second, first, DELETED[0]["id"]],
            "user_status": "false_positive", "user_status_note": "Scanner noise"}
    answer = client.patch("/tam/v1/threats/status", json=body)
    assert answer.status_code == 200
    result = answer.json()
    assert result["successful"] == [{"threat_id": first, "user_status": "false_positive"},
                                    {"threat_id": second, "user_status": "false_positive"}]
    assert [(f["threat_id"], f["error_type"]) for f in result["failed"]] == [
        (UNKNOWN_ID, "not_found"), ("not-a-uuid", "invalid_id"), (DELETED[0]["id"], "not_found")]
    assert result["summary"] == {"total_attempted": 5, "total_successful": 2, "total_failed": 3,
                                 "success_rate": 0.4}
    threat = client.get(f"/tam/v1/threats/{first}").json()
    assert (threat["user_status"], threat["status"]) == ("false_positive", "false_positive")
    assert threat["updated_at"] == iso_z(NOW)
    entries = [e for e in client.get(f"/tam/v1/threats/{first}/logs").json()["logs"]
               if e["created_by"] == "api-user@sandbox.local"]
    assert len(entries) == 1
    assert entries[0]["change_data"] == {"field": "user_status", "old_value": LIVE[10]["user_status"],
                                         "new_value": "false_positive", "note": "Scanner noise"}


def test_bulk_status_takes_up_to_1000_ids(client: Client) -> None:
    many = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1000)]
    full = client.patch("/tam/v1/threats/status", json={"threat_ids": many, "user_status": "solved"}).json()
    assert full["summary"] == {"total_attempted": 1000, "total_successful": 0, "total_failed": 1000,
                               "success_rate": 0.0}
    body = {"threat_ids": [*many, UNKNOWN_ID], "user_status": "solved"}
    too_many = client.patch("/tam/v1/threats/status", json=body)
    assert_error(too_many, 400, "validation_error")
    assert "threat_ids" in too_many.json()["error"]["message"]


@pytest.mark.parametrize("body", [
    {"threat_ids": [], "user_status": "solved"},
    {"threat_ids": [UNKNOWN_ID]},
    {"threat_ids": [UNKNOWN_ID], "user_status": "patched"},
    {"threat_ids": UNKNOWN_ID, "user_status": "solved"},
    {"threat_ids": [UNKNOWN_ID], "user_status": "solved", "comment": "x"},
])
def test_bad_bulk_bodies_are_400(client: Client, body: dict[str, Any]) -> None:
    assert_error(client.patch("/tam/v1/threats/status", json=body), 400, "validation_error")
