"""The Nameshield CTI simulator: every documented parameter, errors, paging, rate limit and the doc's shapes.

Expected answers are computed here from ``generate_events`` with plain Python, independently of the
simulator's own filtering and sorting code.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connector.sandbox.common import ANCHOR, TWO_YEARS
from connector.sandbox.nameshield import create_app, generate_events
from connector.sandbox.nameshield.data import BRANDS, CRITICALITY_NAMES, EVENT_TYPES
from connector.sandbox.nameshield.store import EventStore
from tests.conftest import doc, real_payload

SEED = 1101
SIZE = 400
TOKEN = "ns-sandbox-token"
OWN, SUBSIDIARIES, STRANGER = 42, (43, 44), 7
EVENTS = generate_events(SEED, SIZE)
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
RANK = {level: rank for rank, level in enumerate(("NONE", "LOW", "MEDIUM", "HIGH"))}
SORT_VALUES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda event: event["id"],
    "date": lambda event: event["date"],
    "type": lambda event: event["type"],
    "brand": lambda event: event["brand"]["name"],
    "domain": lambda event: event["domain"],
    "criticality": lambda event: RANK[event["criticality"]["level"]],
}


class Api:
    """Synchronous calls into one simulator app over httpx's in-memory ASGI transport (no sockets)."""

    def __init__(self, **app_options: Any) -> None:
        options = {"seed": SEED, "size": SIZE, "token": TOKEN, "rate_limit": False, **app_options}
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=create_app(**options))
        self._client = httpx.AsyncClient(transport=transport, base_url="http://sandbox")

    def request(
        self, method: str, path: str, token: str | None = TOKEN, headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with ``Authorization: Bearer <token>`` (none when ``token`` is None) plus ``headers``."""
        auth = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self._runner.run(self._client.request(method, path, headers=auth | (headers or {}), **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    client = Api()
    yield client
    client.close()


def of_customers(*customers: int) -> list[dict[str, Any]]:
    """Events of these customers in the default order: date, then id."""
    return sorted((e for e in EVENTS if e["customer_id"] in customers), key=lambda e: (e["date"], e["id"]))


def ordered(events: list[dict[str, Any]], orders: list[tuple[str, bool]]) -> list[str]:
    """Ids of ``events`` sorted by (attribute, descending) pairs, then by id, with a comparator."""
    def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
        for attribute, descending in [*orders, ("id", False)]:
            a, b = SORT_VALUES[attribute](left), SORT_VALUES[attribute](right)
            if a != b:
                return (1 if a > b else -1) * (-1 if descending else 1)
        return 0

    return [event["id"] for event in sorted(events, key=functools.cmp_to_key(compare))]


def ids(response: httpx.Response) -> list[str]:
    """Ids of the events in a v2 page or a v1 search answer."""
    data = response.json()["data"]
    return [event["id"] for event in (data["results"] if isinstance(data, dict) else data)]


def assert_error(response: httpx.Response, status: int, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "data"} and body["data"] is None
    assert mentions in body["message"]


# --- the seeded data ----------------------------------------------------------------------------

def test_same_seed_same_events_other_seed_other_events() -> None:
    assert generate_events(SEED, 50) == EVENTS[:50]
    assert generate_events(SEED + 1, 50) != EVENTS[:50]


def test_events_look_like_nameshield_data() -> None:
    brands = {brand.id: brand for brand in BRANDS}
    for event in EVENTS:
        assert re.fullmatch(UUID4, event["id"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", event["date"])
        moment = datetime.fromisoformat(event["date"])
        assert ANCHOR - TWO_YEARS <= moment <= ANCHOR
        assert event["type"] in EVENT_TYPES
        assert event["criticality"]["name"] == CRITICALITY_NAMES[event["criticality"]["level"]]
        brand = brands[event["brand"]["id"]]
        assert event["brand"]["name"] == brand.name and brand.customer_id == event["customer_id"]
        assert event["domain"].startswith(brand.name.lower())
        assert all(comment["date"] >= event["date"] for comment in event["comments"])
        for record in event["observed_data"]["dns_records"]:
            assert record["type"] in {"NS", "MX", "A", "CNAME", "AAAA"}
            assert (":" in record["ip"]) == (record["type"] == "AAAA")
        whois = event["observed_data"]["whois"]
        if whois is not None:
            assert whois["creation_date"] <= event["date"]
            assert whois["creation_date"] < whois["expiration_date"]
    observed = [event["observed_data"] for event in EVENTS]
    # Real data is patchy; the sandbox must exercise clients on every gap as well as on full records.
    assert any(o["whois"] is None for o in observed) and any(o["website"] is None for o in observed)
    assert any(o["dns_records"] == [] for o in observed)
    assert any(o["whois"] and o["whois"]["owner_email"] is None for o in observed)
    assert {e["type"] for e in EVENTS} == set(EVENT_TYPES)
    assert {e["criticality"]["level"] for e in EVENTS} == set(CRITICALITY_NAMES)
    assert {e["customer_id"] for e in EVENTS} == {OWN, *SUBSIDIARIES, STRANGER}


def test_same_seed_answers_byte_for_byte() -> None:
    first, second, other = Api(), Api(), Api(seed=SEED + 1)
    try:
        for path in ("/cti/v2/events?size=50&sort=domain", f"/cti/v2/events/{EVENTS[0]['id']}"):
            assert first.get(path).content == second.get(path).content
        assert first.post("/cti/v1/events/search", json={}).content == second.post(
            "/cti/v1/events/search", json={}
        ).content
        assert first.get("/cti/v2/events").content != other.get("/cti/v2/events").content
    finally:
        for client in (first, second, other):
            client.close()


def test_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        create_app(seed=SEED, size=-1, token=TOKEN)


# --- auth and routing ---------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/cti/v2/events"),
    ("GET", f"/cti/v2/events/{EVENTS[0]['id']}"),
    ("POST", "/cti/v1/events/search"),
])
@pytest.mark.parametrize("header", [
    None, "Bearer wrong-token", f"Token {TOKEN}", f"ApiToken {TOKEN}", "Bearer ", TOKEN,
])
def test_missing_or_wrong_credentials_get_401(api: Api, method: str, path: str, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = api.request(method, path, token=None, headers=headers, json={})
    assert_error(response, 401, "Unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_route_and_wrong_method_use_the_error_shape(api: Api) -> None:
    assert_error(api.get("/cti/v3/events"), 404, "Not Found")
    response = api.post("/cti/v2/events", json={})
    assert_error(response, 405, "Method Not Allowed")
    assert "GET" in response.headers["allow"]


# --- GET /cti/v2/events -------------------------------------------------------------------------

def test_list_defaults_to_own_customer_by_date_100_a_page(api: Api) -> None:
    own = of_customers(OWN)
    body = api.get("/cti/v2/events").json()
    assert [e["id"] for e in body["data"]] == [e["id"] for e in own[:100]]
    assert body["data"][0] == own[0]
    assert {k: v for k, v in body.items() if k != "data"} == {
        "current_page": 0, "total_pages": math.ceil(len(own) / 100), "total_items": len(own),
        "page_size": 100, "has_next": True, "has_previous": False,
    }


def test_walking_every_page_yields_every_event_once(api: Api) -> None:
    own, size, seen, page = of_customers(OWN), 37, [], 0
    while True:
        body = api.get("/cti/v2/events", params={"size": size, "page": page}).json()
        assert body["current_page"] == page and body["page_size"] == size
        assert body["has_previous"] == (page > 0) and body["total_pages"] == math.ceil(len(own) / size)
        seen += [event["id"] for event in body["data"]]
        if not body["has_next"]:
            break
        page += 1
    assert seen == [event["id"] for event in own] and len(set(seen)) == len(own)
    assert page == body["total_pages"] - 1
    beyond = api.get("/cti/v2/events", params={"size": size, "page": page + 5}).json()
    assert beyond["data"] == [] and not beyond["has_next"] and beyond["has_previous"]


def test_size_500_is_the_maximum(api: Api) -> None:
    body = api.get("/cti/v2/events", params={"size": 500}).json()
    assert len(body["data"]) == len(of_customers(OWN)) and body["total_pages"] == 1
    assert len(api.get("/cti/v2/events", params={"size": 1}).json()["data"]) == 1


@pytest.mark.parametrize("name, value", [
    ("size", "0"), ("size", "501"), ("size", "-1"), ("size", "ten"), ("size", "1.5"),
    ("page", "-1"), ("page", "first"), ("customerId", "acme"),
])
def test_bad_paging_or_customer_values_get_400(api: Api, name: str, value: str) -> None:
    assert_error(api.get("/cti/v2/events", params={name: value}), 400, name)


@pytest.mark.parametrize("customer", [43, 44])
def test_customer_id_selects_one_subsidiary_only(api: Api, customer: int) -> None:
    body = api.get("/cti/v2/events", params={"customerId": customer, "size": 500}).json()
    assert [e["id"] for e in body["data"]] == [e["id"] for e in of_customers(customer)]
    assert body["total_items"] > 0 and {e["customer_id"] for e in body["data"]} == {customer}


def test_explicit_own_customer_equals_default(api: Api) -> None:
    assert api.get("/cti/v2/events", params={"customerId": OWN}).content == api.get("/cti/v2/events").content


def test_empty_values_count_as_absent(api: Api) -> None:
    names = ("size", "page", "customerId", "criticality", "domain", "startedAt", "endedAt", "sort")
    blank = api.get("/cti/v2/events", params=dict.fromkeys(names, ""))
    assert blank.content == api.get("/cti/v2/events").content


@pytest.mark.parametrize("customer", [STRANGER, 99999])
def test_customers_outside_the_hierarchy_are_forbidden(api: Api, customer: int) -> None:
    assert_error(api.get("/cti/v2/events", params={"customerId": customer}), 403, str(customer))
    assert_error(api.post("/cti/v1/events/search", json={"customer_id": customer}), 403, str(customer))


@pytest.mark.parametrize("level", ["NONE", "LOW", "MEDIUM", "HIGH"])
def test_criticality_filter(api: Api, level: str) -> None:
    body = api.get("/cti/v2/events", params={"criticality": level, "size": 500}).json()
    expected = [e["id"] for e in of_customers(OWN) if e["criticality"]["level"] == level]
    assert expected and [e["id"] for e in body["data"]] == expected


@pytest.mark.parametrize("value", ["high", "CRITICAL", "3"])
def test_unknown_criticality_gets_400(api: Api, value: str) -> None:
    assert_error(api.get("/cti/v2/events", params={"criticality": value}), 400, "criticality")
    assert_error(api.post("/cti/v1/events/search", json={"criticality": value}), 400, "criticality")


@pytest.mark.parametrize("needle", ["ACME-", "globex.", "nothing-like-this"])
def test_domain_filter_is_a_case_insensitive_contains(api: Api, needle: str) -> None:
    body = api.get("/cti/v2/events", params={"domain": needle, "size": 500}).json()
    expected = [e["id"] for e in of_customers(OWN) if needle.lower() in e["domain"]]
    assert [e["id"] for e in body["data"]] == expected
    assert body["total_pages"] == math.ceil(len(expected) / 500)


def test_started_and_ended_at_bound_the_dates(api: Api) -> None:
    own = of_customers(OWN)
    start, end = own[60]["date"][:19].replace("T", " "), own[200]["date"][:19].replace("T", " ")
    def within(event: dict[str, Any], low: str | None, high: str | None) -> bool:
        moment = datetime.fromisoformat(event["date"])
        return (low is None or moment >= _utc(low)) and (high is None or moment <= _utc(high))

    for low, high in ((start, None), (None, end), (start, end)):
        params = {k: v for k, v in (("startedAt", low), ("endedAt", high)) if v is not None} | {"size": 500}
        expected = [e["id"] for e in own if within(e, low, high)]
        assert ids(api.get("/cti/v2/events", params=params)) == expected and expected
    assert api.get("/cti/v2/events", params={"startedAt": end, "endedAt": start}).json()["total_items"] == 0


def test_date_bounds_are_inclusive() -> None:
    # Only an event on a whole second can sit exactly on a bound: find a seed whose data has one.
    seed, event = next(
        (seed, event) for seed in range(1000) for event in generate_events(seed, 50)
        if event["date"].endswith(".000Z") and event["customer_id"] == OWN
    )
    client = Api(seed=seed, size=50)
    try:
        bound = event["date"][:19].replace("T", " ")
        for name in ("startedAt", "endedAt"):
            assert event["id"] in ids(client.get("/cti/v2/events", params={name: bound, "size": 500}))
        exact = client.get("/cti/v2/events", params={"startedAt": bound, "endedAt": bound})
        assert ids(exact) == [event["id"]]
        search = client.post("/cti/v1/events/search", json={"started_at": bound, "ended_at": bound})
        assert ids(search) == [event["id"]]
    finally:
        client.close()


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


@pytest.mark.parametrize("name", ["startedAt", "endedAt"])
@pytest.mark.parametrize("value", [
    "2024-12-31T15:30:45", "2024-12-31", "2024-13-01 00:00:00", "31/12/2024 15:30:45",
    "2024-12-31 15:30:45Z", "2024-1-5 1:2:3",
])
def test_dates_in_another_format_get_400(api: Api, name: str, value: str) -> None:
    assert_error(api.get("/cti/v2/events", params={name: value}), 400, name)


def test_the_documented_request_works(api: Api) -> None:
    body = api.get("/cti/v2/events?criticality=LOW&startedAt=2024-12-31%2015:30:45").json()
    expected = [e["id"] for e in of_customers(OWN)
                if e["criticality"]["level"] == "LOW" and e["date"] >= "2024-12-31T15:30:45"]
    assert [e["id"] for e in body["data"]] == expected[:100] and body["total_items"] == len(expected)


# --- sorting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("attribute", list(SORT_VALUES))
@pytest.mark.parametrize("direction", ["asc", "desc", "DESC", None])
def test_each_sort_attribute_both_directions(api: Api, attribute: str, direction: str | None) -> None:
    value = attribute if direction is None else f"{attribute},{direction}"
    response = api.get("/cti/v2/events", params={"sort": value, "size": 500})
    descending = direction is not None and direction.lower() == "desc"
    assert ids(response) == ordered(of_customers(OWN), [(attribute, descending)])


@pytest.mark.parametrize("params, orders", [
    ([("sort", "criticality,desc"), ("sort", "domain,asc")], [("criticality", True), ("domain", False)]),
    ([("sort", "type,brand")], [("type", False), ("brand", False)]),
    ([("sort", "type,asc"), ("sort", "brand,asc")], [("type", False), ("brand", False)]),
    ([("sort", "brand,domain,desc")], [("brand", True), ("domain", True)]),
    ([("sort", "date,desc"), ("sort", "domain")], [("date", True), ("domain", False)]),
])
def test_multi_valued_sort_in_both_documented_forms(
    api: Api, params: list[tuple[str, str]], orders: list[tuple[str, bool]]
) -> None:
    response = api.get("/cti/v2/events", params=[*params, ("size", "500")])
    assert ids(response) == ordered(of_customers(OWN), orders)


def test_criticality_sorts_by_rank_not_alphabet(api: Api) -> None:
    page = api.get("/cti/v2/events?sort=criticality&size=500").json()
    levels = [event["criticality"]["level"] for event in page["data"]]
    assert levels == sorted(levels, key=RANK.__getitem__) and levels[0] == "NONE" and levels[-1] == "HIGH"


@pytest.mark.parametrize("value", ["severity", "date,sideways", "desc", "date,Domain"])
def test_unknown_sort_gets_400(api: Api, value: str) -> None:
    assert_error(api.get("/cti/v2/events", params={"sort": value}), 400, "sort")


# --- GET /cti/v2/events/{id} --------------------------------------------------------------------

def test_get_event_by_id(api: Api) -> None:
    own, subsidiary = of_customers(OWN)[5], of_customers(43)[0]
    assert api.get(f"/cti/v2/events/{own['id']}").json() == own
    assert api.get(f"/cti/v2/events/{own['id'].upper()}").json() == own
    assert api.get(f"/cti/v2/events/{subsidiary['id']}").json() == subsidiary


@pytest.mark.parametrize("event_id", [
    of_customers(STRANGER)[0]["id"], "00000000-0000-4000-8000-000000000000", "nope",
])
def test_unknown_or_foreign_event_gets_404(api: Api, event_id: str) -> None:
    assert_error(api.get(f"/cti/v2/events/{event_id}"), 404, "not found")


# --- POST /cti/v1/events/search -----------------------------------------------------------------

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


# --- rate limit ---------------------------------------------------------------------------------

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


# --- contract: the documentation's and real payloads' shapes ------------------------------------

def assert_same_shape(actual: Any, reference: Any, path: str = "$", *, nulls: bool = True) -> None:
    """Same keys and JSON types recursively; with ``nulls``, an object or text may be null (unobserved)."""
    if actual is None and nulls:
        assert isinstance(reference, dict | str), f"{path} is null where the reference has {reference!r}"
        return
    assert type(actual) is type(reference), f"{path}: {type(actual).__name__} != {type(reference).__name__}"
    if isinstance(reference, dict):
        assert actual.keys() == reference.keys(), f"{path}: keys {sorted(actual)} != {sorted(reference)}"
        for key, value in reference.items():
            assert_same_shape(actual[key], value, f"{path}.{key}", nulls=nulls)
    elif isinstance(reference, list) and reference:
        for index, item in enumerate(actual):
            assert_same_shape(item, reference[0], f"{path}[{index}]", nulls=nulls)


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_null(item) for item in value)
    return value is None


@pytest.fixture(scope="module")
def doc_examples() -> dict[str, Any]:
    return {
        "v2_page": doc("nameshield/v2_list_response.json"),
        "v1_request": doc("nameshield/v1_search_request.json"),
        "v1_response": doc("nameshield/v1_search_response.json"),
    }


def test_v2_page_has_the_documented_shape(api: Api, doc_examples: dict[str, Any]) -> None:
    page = api.get("/cti/v2/events", params={"size": 500}).json()
    assert_same_shape(page, doc_examples["v2_page"])
    complete = [event for event in page["data"] if not _has_null(event)]
    assert complete, "no event without nulls to check strictly"
    for event in complete:
        assert_same_shape(event, doc_examples["v2_page"]["data"][0], nulls=False)


def test_v1_search_has_the_documented_shape(api: Api, doc_examples: dict[str, Any]) -> None:
    answer = api.post("/cti/v1/events/search", json={"limit": 500}).json()
    assert_same_shape(answer, doc_examples["v1_response"])
    # The documented request asks for October 2023, before the seeded two years: a valid, empty answer.
    documented = api.post("/cti/v1/events/search", json=doc_examples["v1_request"]).json()
    assert documented == {"message": "OK", "data": {"limit": 10, "offset": 0, "total": 0, "results": []}}


def test_get_event_has_the_shape_of_the_real_payload(api: Api) -> None:
    payload = real_payload("nameshield/get_event_v2_doc_example.json")
    for event in of_customers(OWN, *SUBSIDIARIES)[:60]:
        assert_same_shape(api.get(f"/cti/v2/events/{event['id']}").json(), payload)


# --- events built on demand ---------------------------------------------------------------------


def test_events_evicted_from_a_tiny_cache_are_rebuilt_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EventStore, "ENCODED_BUDGET", 5_000)  # about four events
    client = Api()
    try:
        for _ in range(2):
            walked = [event for page in range(4) for event in
                      client.get("/cti/v2/events", params={"size": 100, "page": page}).json()["data"]]
            assert walked == of_customers(OWN)
        assert client.get(f"/cti/v2/events/{walked[0]['id']}").json() == walked[0]
    finally:
        client.close()
