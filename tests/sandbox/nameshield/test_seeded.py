"""The Nameshield CTI simulator: the seeded data, auth and routing."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from connector.sandbox.common import ANCHOR, TWO_YEARS
from connector.sandbox.nameshield import create_app, generate_events
from connector.sandbox.nameshield.data import BRANDS, CRITICALITY_NAMES, EVENT_TYPES
from tests.sandbox.nameshield.conftest import EVENTS, OWN, SEED, STRANGER, SUBSIDIARIES, TOKEN, Api, assert_error

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


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
