"""The MySecutec TAM simulator: every documented parameter and operation, errors, paging, rate limit, shapes.

Expected answers are computed here with plain Python from the seeded records (``build_threats``), not with
the simulator's own filter and sort code. The contract tests replay the spec's example requests and compare
the answers with the spec's example responses, key by key and type by type.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from connector.sandbox.common import ANCHOR, TWO_YEARS, iso_z
from connector.sandbox.mysecutec import RATE_LIMIT_PER_SECOND, create_app
from connector.sandbox.mysecutec.cvss import base_score
from connector.sandbox.mysecutec.data import ITEM_TYPES, SEVERITIES, build_threats
from connector.sandbox.mysecutec.store import Store
from tests.conftest import doc

SEED = 2024
SIZE = 300
TOKEN = "tam-sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = ANCHOR + timedelta(days=20)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
STORED = build_threats(SEED, SIZE)
LIVE = [threat.record for threat in STORED if not threat.deleted]
DELETED = [threat.record for threat in STORED if threat.deleted]
RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}
Key = Callable[[dict[str, Any]], Any]


def module_of(record: dict[str, Any]) -> str:
    """The license module of a threat."""
    return str(record["tech_solution"]["license_module_slug"])


class Client:
    """Synchronous calls into one ASGI app over httpx's in-memory transport (no sockets)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = AUTH) -> None:
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=headers)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, run to completion."""
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET ``url``."""
        return self.request("GET", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """PATCH ``url``."""
        return self.request("PATCH", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST ``url``."""
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """DELETE ``url``."""
        return self.request("DELETE", url, **kwargs)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


def make_client(headers: dict[str, str] = AUTH, **options: Any) -> Client:
    """A client of a fresh simulator (state is per app), authenticated unless told otherwise."""
    settings: dict[str, Any] = {"seed": SEED, "size": SIZE, "token": TOKEN, "rate_limit": False,
                                "now": lambda: NOW, **options}
    return Client(create_app(**settings), headers)


@pytest.fixture
def client() -> Iterator[Client]:
    """A fresh simulator with the suite's seed and size and no rate limit."""
    with make_client() as test_client:
        yield test_client


def ids(answer: dict[str, Any]) -> list[str]:
    """The threat ids of a list answer, in order."""
    return [threat["id"] for threat in answer["threats"]]


def everything(client: Client, query: str = "") -> dict[str, Any]:
    """The whole filtered list in one page."""
    response = client.get(f"/tam/v1/threats/?limit=1000&{query}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The MySecutec error body with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# --- auth, rate limit, routing -------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {TOKEN}"},
])
def test_requests_without_the_bearer_token_are_refused(headers: dict[str, str]) -> None:
    with make_client(headers) as stranger:
        response = stranger.get("/tam/v1/threats/?limit=1")
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_rate_limit_answers_429_with_retry_after_until_the_clock_moves() -> None:
    moment = [100.0]
    with make_client(rate_limit=True, clock=lambda: moment[0]) as limited:
        statuses = [limited.get("/tam/v1/threats/?limit=1").status_code for _ in range(RATE_LIMIT_PER_SECOND)]
        assert statuses == [200] * RATE_LIMIT_PER_SECOND
        refused = limited.get("/tam/v1/threats/?limit=1")
        assert_error(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "1"
        moment[0] += 1.0
        assert limited.get("/tam/v1/threats/?limit=1").status_code == 200


def test_without_rate_limit_bursts_pass(client: Client) -> None:
    burst = range(3 * RATE_LIMIT_PER_SECOND)
    assert {client.get("/tam/v1/threats/?limit=1").status_code for _ in burst} == {200}


def test_unknown_routes_and_methods_use_the_error_body(client: Client) -> None:
    assert_error(client.get("/tam/v1/assets/"), 404, "not_found")
    response = client.delete(f"/tam/v1/threats/{LIVE[0]['id']}")
    assert_error(response, 405, "method_not_allowed")
    assert "PATCH" in response.headers["allow"]


# --- list: paging -----------------------------------------------------------------------------------------


def test_default_page_and_totals(client: Client) -> None:
    answer = client.get("/tam/v1/threats/").json()
    assert answer["pagination"] == {
        "limit": 20, "offset": 0, "total": len(LIVE), "unfiltered_total": len(LIVE),
        "next": "/tam/v1/threats/?limit=20&offset=20", "previous": None,
    }
    newest = sorted(LIVE, key=lambda record: record["created_at"], reverse=True)[:20]
    assert ids(answer) == [record["id"] for record in newest]
    assert client.get("/tam/v1/threats?limit=3").json() == client.get("/tam/v1/threats/?limit=3").json()


def test_following_next_links_returns_every_threat_once_and_keeps_the_filters(client: Client) -> None:
    url: str | None = "/tam/v1/threats/?severity=high,critical&sort=name&limit=7"
    seen: list[str] = []
    pages = []
    while url is not None:
        pagination = client.get(url).json()
        pages.append(pagination["pagination"])
        seen += ids(pagination)
        url = pagination["pagination"]["next"]
    expected = sorted((r for r in LIVE if r["severity"] in ("high", "critical")), key=lambda r: r["name"])
    assert seen == [record["id"] for record in expected]
    assert pages[1]["previous"] == "/tam/v1/threats/?limit=7&offset=0&severity=high,critical&sort=name"
    assert pages[2]["previous"] == "/tam/v1/threats/?limit=7&offset=7&severity=high,critical&sort=name"
    assert {page["total"] for page in pages} == {len(expected)}
    assert pages[-1]["next"] is None


def test_limit_is_capped_at_1000(client: Client) -> None:
    answer = client.get("/tam/v1/threats/?limit=5000&offset=280").json()
    assert answer["pagination"]["limit"] == 1000
    assert len(answer["threats"]) == len(LIVE) - 280
    assert answer["pagination"]["previous"] == "/tam/v1/threats/?limit=1000&offset=0"


def test_links_keep_the_mount_prefix() -> None:
    host = Starlette(routes=[Mount("/mysecutec", app=create_app(seed=SEED, size=SIZE, token=TOKEN))])
    with Client(host) as mounted:
        first = mounted.get("/mysecutec/tam/v1/threats/?limit=50&license_module=lcm").json()
        base = "/mysecutec/tam/v1/threats/?limit=50"
        assert first["pagination"]["next"] == f"{base}&offset=50&license_module=lcm"
        second = mounted.get(first["pagination"]["next"]).json()
        assert second["pagination"]["previous"] == f"{base}&offset=0&license_module=lcm"
        assert not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize("query", [
    "limit=abc", "limit=0", "offset=-1", "sort=bogus", "sort=-cvss_score,colour", "severity=urgent",
    "status=patched", "license_module=edr", "threat_type=botnet", "deleted=maybe",
    "first_seen_from=yesterday", "updated_at_to=2026-13-01",
])
def test_bad_query_parameters_are_400(client: Client, query: str) -> None:
    assert_error(client.get(f"/tam/v1/threats/?{query}"), 400, "bad_request")


# --- list: filters, search, sort ------------------------------------------------------------------------

FIELD_OF: dict[str, Key] = {
    "severity": lambda r: r["severity"],
    "status": lambda r: r["status"],
    "system_status": lambda r: r["system_status"],
    "user_status": lambda r: r["user_status"],
    "license_module": module_of,
    "threat_type": lambda r: r["data"].get("item_type"),
    "breach_category": lambda r: r["data"].get("enriched", {}).get("breach", {}).get("category"),
    "asset_id": lambda r: r["asset_id"],
}


@pytest.mark.parametrize(("name", "values"), [
    ("severity", ["critical", "high"]), ("severity", ["info"]), ("status", ["accepted", "false_positive"]),
    ("system_status", ["solved"]), ("user_status", ["unsolved", "solved"]),
    ("license_module", ["dnm", "m365"]),
    ("threat_type", ["BOTNET", "PII_EXPOSURE"]), ("breach_category", ["stealer_log", "paste"]),
    ("asset_id", [LIVE[0]["asset_id"], LIVE[1]["asset_id"]]),
])
def test_each_filter_keeps_exactly_the_matching_threats(client: Client, name: str, values: list[str]) -> None:
    expected = [r["id"] for r in LIVE if FIELD_OF[name](r) in values]
    answer = everything(client, f"{name}={','.join(values)}&sort=id")
    assert expected and ids(answer) == sorted(expected)
    assert answer["pagination"]["total"] == len(expected)
    assert answer["pagination"]["unfiltered_total"] == len(LIVE)
    repeated = "&".join(f"{name}={value}" for value in values)
    assert ids(everything(client, f"{repeated}&sort=id")) == sorted(expected)


def test_filters_combine_with_and(client: Client) -> None:
    answer = everything(client, "license_module=lcm&severity=high,medium&system_status=unsolved")
    expected = {r["id"] for r in LIVE if module_of(r) == "lcm"
                and r["severity"] in ("high", "medium") and r["system_status"] == "unsolved"}
    assert expected and set(ids(answer)) == expected


def test_search_is_case_insensitive_over_name_description_external_id_and_asset(client: Client) -> None:
    cve = next(r for r in LIVE if r["external_id"].startswith("CVE-"))["external_id"]
    assert set(ids(everything(client, f"search={cve.lower()}"))) == {r["id"] for r in LIVE
                                                                      if r["external_id"] == cve}
    host = next(r for r in LIVE if r["asset"]["type"] == "host")["asset"]["name"]
    by_host = everything(client, f"search={host.upper()}")
    assert {r["id"] for r in LIVE if host.lower() in r["asset"]["name"].lower()} <= set(ids(by_host))
    word = "stealer"
    expected = {r["id"] for r in LIVE if any(word in r[key].lower() for key in ("name", "description"))}
    assert expected and set(ids(everything(client, "search=STEALER"))) == expected


def test_related_to_asset_id_follows_the_organisation_of_the_asset(client: Client) -> None:
    root = next(t for t in STORED if not t.deleted and t.record["asset"]["type"] == "domain")
    root_id, root_name = root.record["asset_id"], root.record["asset"]["name"]
    answer = everything(client, f"related_to_asset_id={root_id}")
    related = {t.record["id"] for t in STORED if not t.deleted and root_id in t.related_asset_ids}
    assert set(ids(answer)) == related
    names = {threat["asset"]["name"] for threat in answer["threats"]}
    assert root_name in names and any(name.endswith("." + root_name) for name in names)
    subdomain = next(t for t in answer["threats"] if t["asset"]["type"] == "subdomain")["asset_id"]
    narrow = everything(client, f"related_to_asset_id={subdomain}")
    assert {threat["asset_id"] for threat in narrow["threats"]} <= {subdomain, root_id}
    assert subdomain in {threat["asset_id"] for threat in narrow["threats"]}


def test_first_seen_date_range_includes_whole_days_and_drops_nulls(client: Client) -> None:
    answer = everything(client, "first_seen_from=2025-03-01&first_seen_to=2025-06-30")
    expected = {r["id"] for r in LIVE
                if r["first_seen_at"] and "2025-03-01" <= r["first_seen_at"][:10] <= "2025-06-30"}
    assert expected and set(ids(answer)) == expected
    assert any(r["first_seen_at"] is None for r in LIVE)


def test_updated_at_range_takes_date_times(client: Client) -> None:
    query = "updated_at_from=2026-06-01T00:00:00Z&updated_at_to=2026-08-01T12:00:00"
    expected = {r["id"] for r in LIVE
                if "2026-06-01T00:00:00" <= r["updated_at"] <= "2026-08-01T12:00:00.000000Z"}
    assert expected and set(ids(everything(client, query))) == expected


def test_deleted_threats_appear_only_when_asked(client: Client) -> None:
    assert DELETED
    default = everything(client)
    assert not {r["id"] for r in DELETED} & set(ids(default))
    assert all("deleted" not in threat for threat in default["threats"])
    shown = everything(client, "deleted=true")
    assert shown["pagination"]["total"] == SIZE and shown["pagination"]["unfiltered_total"] == len(LIVE)
    assert {t["id"] for t in shown["threats"] if t["deleted"]} == {r["id"] for r in DELETED}
    assert_error(client.get(f"/tam/v1/threats/{DELETED[0]['id']}"), 404, "not_found")


def _assert_sorted(threats: list[dict[str, Any]], keys: list[tuple[Key, bool]]) -> None:
    """Each neighbour pair is in order by the first key that differs, nulls last in both directions."""
    for before, after in itertools.pairwise(threats):
        for key, descending in keys:
            a, b = key(before), key(after)
            if a == b:
                continue
            in_order = b is None or (a is not None and (a > b if descending else a < b))
            assert in_order, (before["id"], after["id"])
            break


@pytest.mark.parametrize("sort", [
    "-cvss_score,name", "cvss_score,-name", "-severity,-first_seen_at", "severity,id",
])
def test_multi_field_sort_in_both_directions(client: Client, sort: str) -> None:
    keys: dict[str, Key] = {
        "cvss_score": lambda r: r["cvss_score"], "name": lambda r: r["name"], "id": lambda r: r["id"],
        "severity": lambda r: RANK.get(r["severity"]), "first_seen_at": lambda r: r["first_seen_at"],
    }
    threats = everything(client, f"sort={sort}")["threats"]
    assert len(threats) == len(LIVE)
    _assert_sorted(threats, [(keys[name.lstrip("-")], name.startswith("-")) for name in sort.split(",")])
    first = sort.split(",")[0]
    nulls = [keys[first.lstrip("-")](t) is None for t in threats]
    assert any(nulls) and nulls == sorted(nulls)


def test_severity_sort_starts_with_critical(client: Client) -> None:
    assert everything(client, "sort=-severity")["threats"][0]["severity"] == "critical"
    assert everything(client, "sort=severity")["threats"][0]["severity"] == "info"


# --- records -----------------------------------------------------------------------------------------


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


# --- get, patch, logs ------------------------------------------------------------------------------------


def test_get_one_threat(client: Client) -> None:
    record = LIVE[5]
    assert client.get(f"/tam/v1/threats/{record['id']}").json() == record
    assert client.get(f"/tam/v1/threats/{record['id'].upper()}").json() == record
    not_found = client.get(f"/tam/v1/threats/{UNKNOWN_ID}")
    assert_error(not_found, 404, "not_found")
    assert not_found.json()["error"]["message"] == "Threat not found"
    assert_error(client.get("/tam/v1/threats/t1234-5678-abcd-ef90"), 400, "invalid_id")


def _fresh_unsolved() -> dict[str, Any]:
    return next(r for r in LIVE if r["user_status"] is None and r["system_status"] == "unsolved"
                and r["note"] is None and r["unsolved_annotation_note"] is None)


def test_patch_updates_the_threat_and_logs_each_change(client: Client) -> None:
    record = _fresh_unsolved()
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
    url = f"/tam/v1/threats/{_fresh_unsolved()['id']}"
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


# --- bulk status -------------------------------------------------------------------------------------------


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


# --- filter facets and aggregate ---------------------------------------------------------------------------


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


# --- contract: the spec's examples ------------------------------------------------------------------------


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


# --- threats built on demand --------------------------------------------------------------------


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
    record = _fresh_unsolved()
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
