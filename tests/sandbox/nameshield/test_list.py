"""The Nameshield CTI simulator: GET /cti/v2/events, its filters and sorting, and one event by id."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.sandbox.nameshield import generate_events
from tests.sandbox.nameshield.conftest import OWN, STRANGER, Api, assert_error, ids, of_customers

RANK = {level: rank for rank, level in enumerate(("NONE", "LOW", "MEDIUM", "HIGH"))}
SORT_VALUES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda event: event["id"],
    "date": lambda event: event["date"],
    "type": lambda event: event["type"],
    "brand": lambda event: event["brand"]["name"],
    "domain": lambda event: event["domain"],
    "criticality": lambda event: RANK[event["criticality"]["level"]],
}


def ordered(events: list[dict[str, Any]], orders: list[tuple[str, bool]]) -> list[str]:
    """Ids of ``events`` sorted by (attribute, descending) pairs, then by id, with a comparator."""
    def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
        for attribute, descending in [*orders, ("id", False)]:
            a, b = SORT_VALUES[attribute](left), SORT_VALUES[attribute](right)
            if a != b:
                return (1 if a > b else -1) * (-1 if descending else 1)
        return 0

    return [event["id"] for event in sorted(events, key=functools.cmp_to_key(compare))]


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
