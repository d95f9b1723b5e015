"""The CISO Assistant simulator: trailing slash, auth, methods, throttle, determinism; the spec as a contract."""

from __future__ import annotations

import pytest

from connector.sandbox.ciso_assistant import create_app
from tests.conftest import doc
from tests.sandbox.ciso_assistant.conftest import (
    SEED,
    SEVERITY_VALUES,
    SIZE,
    TOKEN,
    Client,
    FakeClock,
    full_body,
    ids_of,
)


@pytest.mark.parametrize("path", ["/api/incidents", "/api/incidents/severity", "/api/incidents/{id}"])
def test_missing_trailing_slash_is_a_redirect_that_changes_nothing(api: Client, path: str) -> None:
    url = path.format(id=ids_of(api.everything())[0])
    for method in ("GET", "POST"):
        answer = api.request(method, url, json={"name": "x"}, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"], answer.content) == (301, url + "/", b"")
    assert len(api.everything()) == SIZE
    assert api.get("/api/nowhere").status_code == 404


def test_authentication_errors(api: Client) -> None:
    missing = api.get("/api/incidents/", token=None)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    assert missing.headers["www-authenticate"] == "Token"
    wrong = api.get("/api/incidents/", token="nope")
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid token."})
    bearer = api.get("/api/incidents/", token=None, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.json() == {"detail": "Authentication credentials were not provided."}
    assert api.post("/api/incidents/batch-action/", token="nope", json={}).status_code == 401


def test_method_not_allowed_is_drf_405(api: Client) -> None:
    answer = api.request("PATCH", "/api/incidents/")
    assert (answer.status_code, answer.json()) == (405, {"detail": 'Method "PATCH" not allowed.'})
    assert answer.headers["allow"] == "GET, POST, HEAD, OPTIONS"


def test_throttle_answers_429_with_retry_after(clock: FakeClock) -> None:
    assert Client(create_app(seed=SEED, size=5, token=TOKEN, clock=clock)).get(
        "/api/incidents/severity/").status_code == 200  # no throttle unless asked, like the real server
    api = Client(create_app(seed=SEED, size=5, token=TOKEN, throttle=20, clock=clock))
    assert [api.get("/api/incidents/severity/").status_code for _ in range(20)] == [200] * 20
    throttled = api.get("/api/incidents/severity/")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json() == {"detail": "Request was throttled. Expected available in 1 second."}
    clock.now += 1.01
    assert api.get("/api/incidents/severity/").status_code == 200


def test_same_seed_same_data_and_ids(clock: FakeClock) -> None:
    def session(seed: int) -> tuple[bytes, str]:
        api = Client(create_app(seed=seed, size=40, token=TOKEN, rate_limit=False, clock=clock))
        listing = api.get("/api/incidents/?limit=1000").content
        return listing, api.post("/api/incidents/", json={"name": "Replay"}).json()["id"]

    assert session(7) == session(7)
    assert session(7)[0] != session(8)[0]


def test_seeded_records_look_real(api: Client) -> None:
    everything = api.everything()
    assert [r["ref_id"] for r in everything] == [f"INC-{n:04d}" for n in range(1, SIZE + 1)]
    assert {r["severity"] for r in everything} == set(SEVERITY_VALUES)
    assert {r["status"] for r in everything} == {"New", "Ongoing", "Resolved", "Closed", "Dismissed"}
    assert {r["folder"]["str"] for r in everything} == {"Global", "Corporate IT", "Industrial Operations"}
    assert all("2024-11-01" <= r["created_at"] <= "2026-11-01" for r in everything)
    assert any("Ransomware" in r["name"] for r in everything)
    assert all(r["owners"] and r["qualifications"] for r in everything)


@pytest.fixture
def documented() -> dict[str, set[str]]:
    """Top-level keys of each operation's documented response sample."""
    return {operation: set(keys) for operation, keys in doc("ciso_assistant/response_keys.json").items()}


def test_answers_carry_at_least_the_documented_fields(
    api: Client, documented: dict[str, set[str]], refs: dict[str, list[str]]
) -> None:
    # the real server answers more than the spec documents (occurred_at, resolution, ...): a superset
    created = api.post("/api/incidents/", json=full_body(refs)).json()
    assert documented["incidents_create"] <= set(created)
    url = f"/api/incidents/{created['id']}/"
    assert documented["incidents_update"] <= set(api.request("PUT", url, json={"name": "n"}).json())
    assert documented["incidents_partial_update"] <= set(api.request("PATCH", url, json={}).json())
    assert documented["incidents_retrieve"] <= set(api.get(url).json())
    listing = api.get("/api/incidents/?limit=2").json()
    assert documented["incidents_list"] <= set(listing)
