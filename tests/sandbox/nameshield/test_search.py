"""The Nameshield CTI simulator: the deprecated POST /cti/v1/events/search, and the rate limit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.nameshield.conftest import EVENTS, OWN, SUBSIDIARIES, Api, assert_error, ids, of_customers


def test_search_defaults_include_subsidiaries(api: Api) -> None:
    family = of_customers(OWN, *SUBSIDIARIES)
    for response in (api.post("/cti/v1/events/search", json={}), api.post("/cti/v1/events/search")):
        body = response.json()
        assert body["message"] == "OK"
        assert {k: v for k, v in body["data"].items() if k != "results"} == {
            "limit": 100, "offset": 0, "total": len(family),
        }
        assert body["data"]["results"] == family[:100]


@pytest.mark.parametrize("body, customers", [
    ({"include_customer_children_events": False}, (OWN,)),
    ({"include_customer_children_events": True}, (OWN, *SUBSIDIARIES)),
    ({"customer_id": 43}, (43,)),
    ({"customer_id": 44, "include_customer_children_events": False}, (44,)),
    ({"include_customer_children_events": None}, (OWN, *SUBSIDIARIES)),
])
def test_search_customer_scope(api: Api, body: dict[str, Any], customers: tuple[int, ...]) -> None:
    response = api.post("/cti/v1/events/search", json=body | {"limit": 500})
    assert ids(response) == [e["id"] for e in of_customers(*customers)]


def test_search_offset_walk_yields_every_event_once(api: Api) -> None:
    family, seen, offset = of_customers(OWN, *SUBSIDIARIES), [], 0
    while offset < len(family) + 40:
        data = api.post("/cti/v1/events/search", json={"limit": 40, "offset": offset}).json()["data"]
        assert data["limit"] == 40 and data["offset"] == offset and data["total"] == len(family)
        seen += [event["id"] for event in data["results"]]
        offset += 40
    assert seen == [event["id"] for event in family]


def _matches(event: dict[str, Any], name: str, operator: str, value: Any) -> bool:
    nested = {"brand": event["brand"]["name"], "criticality": event["criticality"]["level"]}
    text = str(nested.get(name, event.get(name))).lower()
    if operator == "IN":
        return text in {choice.lower() for choice in value}
    needle = str(value).lower()
    return {"EQUALS": text == needle, "CONTAINS": needle in text,
            "STARTS_WITH": text.startswith(needle), "ENDS_WITH": text.endswith(needle)}[operator]


@pytest.mark.parametrize("name, operator, value", [
    ("id", "EQUALS", EVENTS[3]["id"].upper()),
    ("domain", "EQUALS", EVENTS[0]["domain"]),
    ("domain", "CONTAINS", "-LOGIN"),
    ("domain", "STARTS_WITH", "globex"),
    ("domain", "ENDS_WITH", ".com"),
    ("type", "EQUALS", "DOMAIN_REPORTED"),
    ("type", "IN", ["DOMAIN_DETECTED"]),
    ("brand", "EQUALS", "umbrella"),
    ("brand", "IN", ["Acme", "Hooli"]),
    ("criticality", "IN", ["HIGH", "MEDIUM"]),
    ("criticality", "STARTS_WITH", "N"),
])
def test_search_each_operator(api: Api, name: str, operator: str, value: Any) -> None:
    body = {"query_parameters": [{"name": name, "operator": operator, "value": value}], "limit": 500}
    expected = [e["id"] for e in of_customers(OWN, *SUBSIDIARIES) if _matches(e, name, operator, value)]
    assert expected and ids(api.post("/cti/v1/events/search", json=body)) == expected


@pytest.mark.parametrize("junction", ["AND", "OR", None])
def test_search_junction(api: Api, junction: str | None) -> None:
    criteria = [("domain", "ENDS_WITH", ".com"), ("criticality", "EQUALS", "HIGH")]
    body: dict[str, Any] = {
        "query_parameters": [{"name": n, "operator": o, "value": v} for n, o, v in criteria],
        "limit": 500,
        "junction": junction,
    }
    combine = any if junction == "OR" else all
    family = of_customers(OWN, *SUBSIDIARIES)
    expected = [e["id"] for e in family if combine(_matches(e, *c) for c in criteria)]
    assert ids(api.post("/cti/v1/events/search", json=body)) == expected
    assert 0 < len(expected) < len(family)


@pytest.mark.parametrize("start_key, end_key", [("started_at", "ended_at"), ("started_At", "ended_At")])
def test_search_top_level_filters_and_misspelt_keys(api: Api, start_key: str, end_key: str) -> None:
    body = {start_key: "2025-03-01 00:00:00", end_key: "2026-03-01 00:00:00", "criticality": "MEDIUM"}
    expected = [e["id"] for e in of_customers(OWN, *SUBSIDIARIES) if e["criticality"]["level"] == "MEDIUM"
                and "2025-03-01T00:00:00" <= e["date"] <= "2026-03-01T00:00:00"]
    assert expected and ids(api.post("/cti/v1/events/search", json=body | {"limit": 500})) == expected


def _criterion(**fields: Any) -> dict[str, Any]:
    return {"query_parameters": [{"name": "domain", "operator": "EQUALS", "value": "x"} | fields]}


@pytest.mark.parametrize("body, mentions", [
    (_criterion(name="severity"), "name"),
    (_criterion(name=None), "name"),
    (_criterion(operator="LIKE"), "operator"),
    (_criterion(operator="equals"), "operator"),
    (_criterion(operator="IN", value="x"), "value"),
    (_criterion(value=["x"]), "value"),
    (_criterion(value=None), "value"),
    ({"query_parameters": {"name": "domain"}}, "query_parameters"),
    ({"query_parameters": ["domain"]}, "query_parameters[0]"),
    ({"junction": "XOR"}, "junction"),
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
    ({"limit": "10"}, "limit"), ({"limit": True}, "limit"),
    ({"offset": -1}, "offset"),
    ({"customer_id": "42"}, "customer_id"),
    ({"include_customer_children_events": "yes"}, "include_customer_children_events"),
    ({"started_at": "2023-10-01"}, "started_at"), ({"ended_At": "2023-10-31T00:00:00"}, "ended_at"),
    ({"started_at": 20231001}, "started_at"),
    ([], "object"),
])
def test_bad_search_bodies_get_400(api: Api, body: Any, mentions: str) -> None:
    assert_error(api.post("/cti/v1/events/search", json=body), 400, mentions)


def test_malformed_json_gets_400(api: Api) -> None:
    headers = {"Content-Type": "application/json"}
    response = api.post("/cti/v1/events/search", content=b'{"limit": 10', headers=headers)
    assert_error(response, 400, "JSON")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _burst(client: Api, count: int) -> list[int]:
    return [client.get("/cti/v2/events", params={"size": 1}).status_code for _ in range(count)]


def test_rate_limit_is_600_per_5_minutes_sliding() -> None:
    clock = FakeClock()
    client = Api(size=5, rate_limit=True, clock=clock)
    try:
        assert client.get("/cti/v2/events", token="wrong").status_code == 401  # refused: not counted
        assert _burst(client, 300) == [200] * 300
        clock.now += 100
        assert _burst(client, 300) == [200] * 300
        clock.now += 50
        refused = client.get("/cti/v2/events")
        assert_error(refused, 429, "Too Many Requests")
        assert refused.headers["retry-after"] == "150"
        clock.now += 149.5
        assert client.get("/cti/v2/events").headers["retry-after"] == "1"
        clock.now += 0.5  # the first 300 leave the window; 429s above did not take slots
        assert _burst(client, 300) == [200] * 300
        assert client.get("/cti/v2/events").headers["retry-after"] == "100"
    finally:
        client.close()


def test_rate_limit_can_be_switched_off() -> None:
    client = Api(size=5, rate_limit=False)
    try:
        assert set(_burst(client, 650)) == {200}
    finally:
        client.close()
