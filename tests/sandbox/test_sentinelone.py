"""The SentinelOne simulator: filters, sorting, paging, errors, the POST actions and the payload contract."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from connector.sandbox.sentinelone import create_app
from connector.sandbox.sentinelone.query import DOCUMENTED_PARAMS
from connector.sandbox.sentinelone.store import ThreatStore
from tests.conftest import doc, real_payload

TOKEN = "s1-test-token"
AUTH = {"Authorization": f"ApiToken {TOKEN}"}
THREATS = "/web/api/v2.1/threats"
SIZE = 150

Threat = dict[str, Any]


class Client:
    """Synchronous requests to an in-process ASGI app (httpx.ASGITransport, one event loop per request)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = AUTH) -> None:
        self.app, self.headers = app, headers

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Send one request and return its (fully read) answer."""

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://sandbox", headers=self.headers
            ) as c:
                return await c.request(method, path, **options)

        return asyncio.run(send())

    def get(self, path: str, **options: Any) -> httpx.Response:
        """GET ``path``."""
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        """POST to ``path``."""
        return self.request("POST", path, **options)


def _client(size: int = SIZE, seed: int = 7, **options: Any) -> Client:
    return Client(
        create_app(seed=seed, size=size, token=TOKEN, rate_limit=options.pop("rate_limit", False), **options)
    )


@pytest.fixture(scope="module")
def reader() -> Client:
    """A simulator shared by the read-only tests (none of them changes state)."""
    return _client()


@pytest.fixture
def writer() -> Client:
    """A fresh simulator for tests that change threats."""
    return _client()


@pytest.fixture(scope="module")
def everything(reader: Client) -> list[Threat]:
    """Every threat of ``reader``, in the default order."""
    return _walk(reader, limit=1000)


def _walk(
    client: Client, after_page: Callable[[list[Threat]], None] | None = None, **params: Any
) -> list[Threat]:
    """Follow nextCursor to the end; ``after_page(page)`` runs between pages (to change state mid-walk)."""
    found: list[Threat] = []
    cursor = None
    while True:
        answer = client.get(THREATS, params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["data"]
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            assert b'"nextCursor":null' in answer.content
            return found
        if after_page:
            after_page(body["data"])


def _ids(client: Client, **params: Any) -> list[str]:
    answer = client.get(THREATS, params={"limit": 1000, **params})
    assert answer.status_code == 200, answer.text
    return [threat["id"] for threat in answer.json()["data"]]


def _validation_error(answer: Any) -> str:
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["code"] == 4000010 and error["title"] == "Validation Error"
    return str(error["detail"])


def _info(threat: Threat, key: str) -> Any:
    return threat["threatInfo"][key]


def test_default_page_is_ten_oldest_threats(reader: Client, everything: list[Threat]) -> None:
    body = reader.get(THREATS).json()
    assert set(body) == {"data", "pagination"}
    assert body["pagination"]["totalItems"] == SIZE
    assert isinstance(body["pagination"]["nextCursor"], str)
    assert [t["id"] for t in body["data"]] == [t["id"] for t in everything[:10]]
    keys = [(_info(t, "createdAt"), t["id"]) for t in everything]
    assert keys == sorted(keys) and len(everything) == SIZE


def test_cursor_walk_returns_every_threat_once(reader: Client, everything: list[Threat]) -> None:
    walked = _walk(reader, limit=40)
    assert len(walked) == SIZE
    assert [t["id"] for t in walked] == [t["id"] for t in everything]


def test_cursor_walk_is_stable_while_threats_change(writer: Client) -> None:
    open_ids = _ids(writer, incidentStatusesNin="resolved")

    def resolve(page: list[Threat]) -> None:
        # The page just read leaves the filtered set: an offset cursor would now skip as many unseen ones.
        body = {"filter": {"ids": [t["id"] for t in page]}, "data": {"incidentStatus": "resolved"}}
        assert writer.post(f"{THREATS}/incident", json=body).json() == {"data": {"affected": len(page)}}

    walked = _walk(writer, after_page=resolve, limit=20, incidentStatusesNin="resolved")
    assert len(open_ids) > 60
    assert [t["id"] for t in walked] == open_ids


def test_descending_walk_by_updated_at(reader: Client, everything: list[Threat]) -> None:
    walked = _walk(reader, limit=50, sortBy="updatedAt", sortOrder="desc")
    keys = [(_info(t, "updatedAt"), t["id"]) for t in walked]
    assert keys == sorted(keys, reverse=True)
    assert sorted(t["id"] for t in walked) == sorted(t["id"] for t in everything)


def test_sort_by_threat_name(reader: Client) -> None:
    names = [
        _info(t, "threatName")
        for t in reader.get(THREATS, params={"limit": 1000, "sortBy": "threatName"}).json()["data"]
    ]
    assert names == sorted(names) and len(set(names)) > 3


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"skip": 1001}, "skip"),
        ({"skip": -1}, "skip"),
        ({"sortBy": "severity"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"incidentStatuses": "open"}, "incidentStatuses"),
        ({"confidenceLevels": "high"}, "confidenceLevels"),
        ({"createdAt__gte": "yesterday"}, "createdAt__gte"),
        ({"resolved": "maybe"}, "resolved"),
        ({"ids": ""}, "ids"),
    ],
)
def test_bad_parameters_are_validation_errors(reader: Client, params: dict[str, Any], needle: str) -> None:
    assert needle in _validation_error(reader.get(THREATS, params=params))


def test_limit_and_skip_bounds(reader: Client, everything: list[Threat]) -> None:
    assert len(reader.get(THREATS, params={"limit": 1000}).json()["data"]) == SIZE
    assert _ids(reader, skip=5, limit=3) == [t["id"] for t in everything[5:8]]
    assert reader.get(THREATS, params={"skip": 1000}).json()["data"] == []


def test_unknown_filter_is_rejected(reader: Client) -> None:
    answer = reader.get(THREATS, params={"severity": "critical"})
    assert answer.json() == {
        "errors": [
            {
                "code": 4000010,
                "detail": "unknown filter 'severity': not a parameter of GET /web/api/v2.1/threats",
                "title": "Validation Error",
            }
        ]
    }


def test_every_parameter_of_the_spec_is_known() -> None:
    spec_names = {parameter["name"] for parameter in doc("sentinelone/get_threats_parameters.json")}
    ours = {name.lower().replace("__", " ") for name in DOCUMENTED_PARAMS}
    assert ours == spec_names


def _expect(everything: list[Threat], keep: Callable[[Threat], bool]) -> list[str]:
    return [t["id"] for t in everything if keep(t)]


def test_list_filters(reader: Client, everything: list[Threat]) -> None:
    first, second = everything[3], everything[40]
    assert _ids(reader, ids=f"{second['id']},{first['id']}") == [first["id"], second["id"]]
    assert _ids(reader, ids=[first["id"], second["id"]]) == [first["id"], second["id"]]
    for name, key in (
        ("incidentStatuses", "incidentStatus"),
        ("analystVerdicts", "analystVerdict"),
        ("mitigationStatuses", "mitigationStatus"),
        ("confidenceLevels", "confidenceLevel"),
        ("classifications", "classification"),
    ):
        value = _info(first, key)
        included = _ids(reader, **{name: value})
        excluded = _ids(reader, **{name + "Nin": value})
        assert included == _expect(everything, lambda t, k=key, v=value: _info(t, k) == v)
        assert excluded == _expect(everything, lambda t, k=key, v=value: _info(t, k) != v)
        assert included and excluded
    two = _ids(reader, incidentStatuses="unresolved,in_progress")
    assert two == _expect(everything, lambda t: _info(t, "incidentStatus") in ("unresolved", "in_progress"))
    for name, key in (
        ("siteIds", "siteId"),
        ("accountIds", "accountId"),
        ("groupIds", "groupId"),
        ("agentIds", "agentId"),
    ):
        value = first["agentRealtimeInfo"][key]
        expected = _expect(everything, lambda t, k=key, v=value: t["agentRealtimeInfo"][k] == v)
        assert _ids(reader, **{name: value}) == expected and first["id"] in expected


def test_time_filters(reader: Client, everything: list[Threat]) -> None:
    low, high = _info(everything[20], "createdAt"), _info(everything[60], "createdAt")
    window = _ids(reader, createdAt__gte=low, createdAt__lt=high)
    assert window == [t["id"] for t in everything[20:60]]
    assert _ids(reader, createdAt__gt=low, createdAt__lte=high) == [t["id"] for t in everything[21:61]]
    assert _ids(reader, createdAt__gte="2026-01-01T00:00:00Z") == _expect(
        everything, lambda t: _info(t, "createdAt") >= "2026-01-01T00:00:00.000000Z"
    )
    recent = _ids(reader, updatedAt__gt="2026-06-01T00:00:00+00:00")
    assert recent == _expect(everything, lambda t: _info(t, "updatedAt") > "2026-06-01T00:00:00.000000Z")
    assert 0 < len(recent) < SIZE


def test_text_and_flag_filters(reader: Client, everything: list[Threat]) -> None:
    sample = next(t for t in everything if _info(t, "sha256"))
    host = sample["agentRealtimeInfo"]["agentComputerName"]
    assert _ids(reader, computerName__contains=host[2:8].swapcase()) == _expect(
        everything, lambda t: host[2:8].lower() in t["agentRealtimeInfo"]["agentComputerName"].lower()
    )
    assert _ids(reader, contentHashes=_info(sample, "sha256")) == [sample["id"]]
    assert _ids(reader, contentHash__contains=_info(sample, "sha1")[:12]) == [sample["id"]]
    assert _ids(reader, query="mimikatz") == _expect(
        everything, lambda t: "mimikatz" in _info(t, "threatName")
    )
    assert _ids(reader, resolved="true") == _expect(
        everything, lambda t: _info(t, "incidentStatus") == "resolved"
    )
    assert _ids(reader, resolved="FALSE") == _expect(
        everything, lambda t: _info(t, "incidentStatus") != "resolved"
    )
    assert _ids(reader, externalTicketExists="true") == _expect(
        everything, lambda t: _info(t, "externalTicketExists")
    )
    cluster = next(t for t in everything if t["kubernetesInfo"]["cluster"])["kubernetesInfo"]["cluster"]
    assert _ids(reader, k8sClusterName__contains=cluster) == _expect(
        everything, lambda t: t["kubernetesInfo"]["cluster"] == cluster
    )
    assert _ids(reader, awsRole__contains="admin") == []  # no cloud metadata on sandbox agents
    assert _ids(reader, tenant="true", countsFor="osTypes") == [t["id"] for t in everything]


def test_count_only_and_skip_count(reader: Client, everything: list[Threat]) -> None:
    resolved = len(_expect(everything, lambda t: _info(t, "incidentStatus") == "resolved"))
    counted = reader.get(THREATS, params={"countOnly": "true", "incidentStatuses": "resolved"}).json()
    assert counted == {"data": [], "pagination": {"totalItems": resolved, "nextCursor": None}}
    skipped = reader.get(
        THREATS, params={"skipCount": "true", "limit": 5, "incidentStatuses": "resolved"}
    ).json()
    assert skipped["pagination"]["totalItems"] is None and len(skipped["data"]) == 5
    assert isinstance(skipped["pagination"]["nextCursor"], str)


def test_cursor_must_match_the_sort(reader: Client) -> None:
    cursor = reader.get(THREATS, params={"limit": 5}).json()["pagination"]["nextCursor"]
    assert "cursor" in _validation_error(reader.get(THREATS, params={"cursor": cursor, "sortBy": "id"}))


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
    before = {t["id"]: t for t in _walk(writer, limit=1000)}
    newest = max(_info(t, "updatedAt") for t in before.values())
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
        assert _info(threat, "incidentStatus") == "in_progress"
        assert _info(threat, "incidentStatusDescription") == "In progress"
        assert _info(threat, "analystVerdict") == "true_positive"
        assert _info(threat, "updatedAt") > newest
    assert _ids(writer, updatedAt__gt=newest) == chosen


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
    assert needle in _validation_error(writer.post(f"{THREATS}/{path}", json=body))


def test_post_body_must_be_json(writer: Client) -> None:
    assert "JSON" in _validation_error(writer.post(f"{THREATS}/incident", content=b"{nope"))


def test_analyst_verdict_with_a_non_id_filter(writer: Client, everything: list[Threat]) -> None:
    host = everything[0]["agentRealtimeInfo"]["agentComputerName"]
    expected = _expect(everything, lambda t: t["agentRealtimeInfo"]["agentComputerName"] == host)
    answer = writer.post(
        f"{THREATS}/analyst-verdict",
        json={"filter": {"computerName__contains": [host]}, "data": {"analystVerdict": "false_positive"}},
    )
    assert answer.json() == {"data": {"affected": len(expected)}}
    assert _ids(writer, analystVerdicts="false_positive", computerName__contains=host) == expected


def test_notes_round_trip(writer: Client) -> None:
    first, second = _ids(writer, limit=2)
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
    assert _ids(writer, noteExists="true") == [first, second]


def test_mitigate_actions(writer: Client) -> None:
    target = _ids(writer, mitigationStatuses="not_mitigated", limit=1)
    answer = writer.post(f"{THREATS}/mitigate/kill", json={"filter": {"ids": [*target, "7"]}})
    assert answer.json() == {"data": {"affected": 1}}
    (threat,) = writer.get(THREATS, params={"ids": target[0]}).json()["data"]
    assert _info(threat, "mitigationStatus") == "mitigated"
    assert threat["mitigationStatus"][-1]["action"] == "kill"
    assert threat["mitigationStatus"][-1]["status"] == "success"
    writer.post(f"{THREATS}/mitigate/un-quarantine", json={"filter": {"ids": target}})
    (threat,) = writer.get(THREATS, params={"ids": target[0]}).json()["data"]
    assert _info(threat, "mitigationStatus") == "not_mitigated"
    assert [entry["action"] for entry in threat["mitigationStatus"]][-2:] == ["kill", "un-quarantine"]


def test_rate_limit_on_a_fake_clock() -> None:
    now = [100.0]
    client = _client(size=20, rate_limit=True, clock=lambda: now[0])
    assert [client.get(THREATS).status_code for _ in range(10)] == [200] * 10
    limited = client.get(THREATS)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["errors"][0]["title"] == "Too Many Requests"
    assert client.get("/web/api/v2.1/system/info").status_code == 200  # only /threats is limited
    now[0] += 0.1
    assert [client.get(THREATS).status_code for _ in range(2)] == [200, 429]


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    one, two, other = _client(size=40), _client(size=40), _client(size=40, seed=8)
    page = {"limit": 40}
    assert one.get(THREATS, params=page).content == two.get(THREATS, params=page).content
    assert set(_ids(one)).isdisjoint(_ids(other))


def _shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys with their shapes, a list's first element, a scalar's type."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _compare(real: Any, ours: Any, path: str) -> None:
    if real == "NoneType" or ours == "NoneType":
        return  # a null in either record says nothing about the other's type
    if isinstance(real, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(real), (
            f"{path}: extra {set(ours) - set(real)}, missing {set(real) - set(ours)}"
        )
        for key in real:
            _compare(real[key], ours[key], f"{path}.{key}")
    elif isinstance(real, list):
        assert isinstance(ours, list), path
        if real and ours:
            _compare(real[0], ours[0], f"{path}[0]")
    else:
        assert ours == real, f"{path}: {ours} in the sandbox, {real} in the real payload"


def test_threats_have_the_shape_of_real_payloads(everything: list[Threat]) -> None:
    page = real_payload("sentinelone/threats_page_eventcollector.json")
    assert set(page["pagination"]) == {"totalItems", "nextCursor"}
    real = page["data"][0]
    rich = [t for t in everything if t["indicators"] and t["mitigationStatus"]]
    for ours in (everything[0], rich[0], *rich[-2:]):
        _compare(_shape(real), _shape(ours), "threat")
    values = {
        field: {_info(t, field) for t in everything}
        for field in ("confidenceLevel", "analystVerdict", "incidentStatus")
    }
    assert values == {
        "confidenceLevel": {"malicious", "suspicious", "n/a"},
        "analystVerdict": {"true_positive", "suspicious", "false_positive", "undefined"},
        "incidentStatus": {"unresolved", "in_progress", "resolved"},
    }
    created = sorted(_info(t, "createdAt") for t in everything)
    assert created[0] >= "2024-11-01" and created[-1] < "2026-11-01" and created[-1] > "2026-05-01"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", c) for c in created)
    tactics = {tactic["name"] for t in rich for ind in t["indicators"] for tactic in ind["tactics"]}
    assert {"Execution", "Defense Evasion"} <= tactics


# --- threats built on demand --------------------------------------------------------------------


def test_threats_evicted_from_tiny_caches_are_rebuilt_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThreatStore, "ENCODED_BUDGET", 20_000)  # about four threats
    monkeypatch.setattr(ThreatStore, "BUILT_THREATS", 3)
    small, reference = _client(), _client()
    assert _walk(small, limit=7) == _walk(small, limit=1000) == _walk(reference, limit=1000)


def test_a_changed_threat_stays_changed_after_it_is_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThreatStore, "ENCODED_BUDGET", 20_000)
    monkeypatch.setattr(ThreatStore, "BUILT_THREATS", 3)
    client = _client()
    chosen = _walk(client, limit=1000)[-1]["id"]
    body = {"filter": {"ids": [chosen]}, "data": {"text": "seen"}}
    assert client.post(f"{THREATS}/notes", json=body).json() == {"data": {"affected": 1}}
    verdict = {"filter": {"ids": [chosen]}, "data": {"analystVerdict": "suspicious"}}
    assert client.post(f"{THREATS}/analyst-verdict", json=verdict).json() == {"data": {"affected": 1}}
    for _ in range(2):  # the second walk serves every threat again, long after the change was cached
        walked = {threat["id"]: threat for threat in _walk(client, limit=50)}
        assert _info(walked[chosen], "analystVerdict") == "suspicious"
        assert _ids(client, analystVerdicts="suspicious", ids=chosen) == [chosen]
    assert _ids(client, noteExists="true") == [chosen]


def test_a_hundred_thousand_threats_page_by_cursor() -> None:
    client = _client(size=100_000)
    first = client.get(THREATS, params={"limit": 1000}).json()
    assert first["pagination"]["totalItems"] == 100_000
    second = client.get(THREATS, params={"limit": 1000, "cursor": first["pagination"]["nextCursor"]}).json()
    page_ids = [threat["id"] for threat in first["data"] + second["data"]]
    assert len(set(page_ids)) == 2000
    created = [_info(threat, "createdAt") for threat in first["data"] + second["data"]]
    assert created == sorted(created)
    newest = client.get(THREATS, params={"limit": 1, "sortOrder": "desc"}).json()["data"][0]
    assert _info(newest, "createdAt") >= created[-1]


def test_same_seed_same_bytes_other_seed_other_threats() -> None:
    first, second, other = _client(seed=3), _client(seed=3), _client(seed=4)
    params = {"limit": 100, "sortBy": "threatName"}
    assert first.get(THREATS, params=params).content == second.get(THREATS, params=params).content
    assert first.get(THREATS, params=params).content != other.get(THREATS, params=params).content


def test_a_change_moves_the_matches_kept_for_a_filter() -> None:
    client = _client()
    params = {"limit": 5, "incidentStatuses": "unresolved"}
    first = client.get(THREATS, params=params).json()
    total, chosen = first["pagination"]["totalItems"], first["data"][0]["id"]
    resolve = {"filter": {"ids": [chosen]}, "data": {"incidentStatus": "resolved"}}
    assert client.post(f"{THREATS}/incident", json=resolve).json() == {"data": {"affected": 1}}
    again = client.get(THREATS, params=params).json()
    assert again["pagination"]["totalItems"] == total - 1
    assert chosen not in [threat["id"] for threat in again["data"]]
    assert client.get(THREATS, params={"noteExists": "true"}).json()["pagination"]["totalItems"] == 0
    note = {"filter": {"ids": [chosen]}, "data": {"text": "resolved by hand"}}
    assert client.post(f"{THREATS}/notes", json=note).json() == {"data": {"affected": 1}}
    assert [t["id"] for t in client.get(THREATS, params={"noteExists": "true"}).json()["data"]] == [chosen]
