"""The Nameshield CTI simulator: the documented and real payloads as a contract; events built on demand."""

from __future__ import annotations

from typing import Any

import pytest

from connector.sandbox.nameshield.store import EventStore
from tests.conftest import doc, real_payload
from tests.sandbox.nameshield.conftest import OWN, SUBSIDIARIES, Api, of_customers


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
