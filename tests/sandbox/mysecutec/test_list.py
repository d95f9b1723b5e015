"""The MySecutec TAM simulator: auth, rate limit and routing; the threats list, its paging, filters, search and sort."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from connector.sandbox.mysecutec import RATE_LIMIT_PER_SECOND, create_app
from connector.sandbox.mysecutec.data import SEVERITIES
from tests.sandbox.mysecutec.conftest import (
    DELETED,
    LIVE,
    SEED,
    SIZE,
    STORED,
    TOKEN,
    Client,
    assert_error,
    everything,
    ids,
    make_client,
    module_of,
)

RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}
Key = Callable[[dict[str, Any]], Any]


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
