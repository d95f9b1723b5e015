"""The CISO Assistant incidents simulator: DRF list semantics, both record faces, errors, batch, exports.

Expected values are computed here from the full list (``limit=1000``) with plain Python, not with
the simulator's own filtering code; the contract test reads the documented field lists from the spec.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections import Counter
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from connector.sandbox.ciso_assistant import create_app
from connector.sandbox.common import ANCHOR
from tests.conftest import doc

SEED = 2024
SIZE = 150
TOKEN = "ciso-sandbox-token"
MISSING_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
SEVERITY_VALUES = {"Critical": 1, "Major": 2, "Moderate": 3, "Minor": 4, "Low": 5, "unknown": 6}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


class FakeClock:
    """A settable ``time.time`` stand-in, starting at common.ANCHOR."""

    def __init__(self) -> None:
        self.now = ANCHOR.timestamp()

    def __call__(self) -> float:
        return self.now


class Client:
    """Synchronous calls into one app through httpx's in-memory ASGI transport."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, *, token: str | None = TOKEN, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Token {token}"} if token is not None else {}
        headers.update(kwargs.pop("headers", {}))

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
                return await client.request(method, url, headers=headers, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def everything(self, **params: Any) -> list[dict[str, Any]]:
        """Every incident (read shape) in the default order."""
        answer = self.get("/api/incidents/", params={"limit": 1000, **params})
        assert answer.status_code == 200
        results: list[dict[str, Any]] = answer.json()["results"]
        return results


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Client:
    return Client(create_app(seed=SEED, size=SIZE, token=TOKEN, rate_limit=False, clock=clock))


@pytest.fixture
def refs(api: Client) -> dict[str, list[str]]:
    """Ids of the seeded related objects, by field, gathered from the records."""
    found: dict[str, list[str]] = {}
    for record in api.everything():
        for field in ("owners", "assets", "threats", "qualifications", "entities", "filtering_labels"):
            for ref in record[field]:
                found.setdefault(field, [])
                if ref["id"] not in found[field]:
                    found[field].append(ref["id"])
        found.setdefault("folder", [])
        if record["folder"]["id"] not in found["folder"]:
            found["folder"].append(record["folder"]["id"])
    return found


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


# --- list: envelope, paging -------------------------------------------------------------------------


def test_list_without_limit_uses_the_default_page_of_5000(api: Client) -> None:
    body = api.get("/api/incidents/").json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == SIZE
    assert len(body["results"]) == SIZE
    assert body["next"] is None and body["previous"] is None
    assert [record["ref_id"] for record in body["results"][:3]] == ["INC-0001", "INC-0002", "INC-0003"]


def test_walking_next_returns_every_incident_exactly_once(api: Client) -> None:
    url: str | None = "/api/incidents/?limit=37&status=closed&status=resolved&status=new&status=ongoing"
    expected = [r["id"] for r in api.everything() if r["status"] != "Dismissed"]
    seen: list[str] = []
    pages = 0
    while url is not None:
        body = api.get(url).json()
        assert body["count"] == len(expected)
        seen += _ids(body["results"])
        url = body["next"]
        pages += 1
    assert seen == expected
    assert pages == -(-len(expected) // 37)


def test_previous_links_drop_offset_on_the_first_page(api: Client) -> None:
    body = api.get("/api/incidents/", params={"limit": 10, "offset": 25, "search": "on"}).json()
    assert body["previous"] == "/api/incidents/?limit=10&offset=15&search=on"
    body = api.get("/api/incidents/", params={"limit": 10, "offset": 5}).json()
    assert body["previous"] == "/api/incidents/?limit=10"
    assert body["next"] == "/api/incidents/?limit=10&offset=15"


def test_bad_limit_and_offset_fall_back_like_drf(api: Client) -> None:
    assert len(api.get("/api/incidents/?limit=0").json()["results"]) == SIZE
    assert len(api.get("/api/incidents/?limit=abc").json()["results"]) == SIZE
    first = api.get("/api/incidents/?limit=5&offset=-3").json()
    assert [r["ref_id"] for r in first["results"]] == [f"INC-{n:04d}" for n in range(1, 6)]
    assert api.get("/api/incidents/?offset=1000").json()["results"] == []


def test_links_carry_the_mount_point(clock: FakeClock) -> None:
    inner = create_app(seed=SEED, size=SIZE, token=TOKEN, rate_limit=False, clock=clock)
    host = Client(Starlette(routes=[Mount("/ciso_assistant", app=inner)]))
    body = host.get("/ciso_assistant/api/incidents/?limit=50&offset=50").json()
    assert body["next"] == "/ciso_assistant/api/incidents/?limit=50&offset=100"
    assert body["previous"] == "/ciso_assistant/api/incidents/?limit=50"
    follow = host.get(body["next"]).json()
    assert len(follow["results"]) == SIZE - 100


# --- list: filters, search, ordering ----------------------------------------------------------------


def test_status_and_severity_filters_take_repeated_values(api: Client) -> None:
    everything = api.everything()
    chosen = api.everything(status=["new", "ongoing"], severity=["1", "2"])
    expected = [
        r["id"] for r in everything
        if r["status"] in {"New", "Ongoing"} and r["severity"] in {"Critical", "Major"}
    ]
    assert expected
    assert _ids(chosen) == expected


def test_detection_filter(api: Client) -> None:
    everything = api.everything()
    chosen = api.everything(detection="externally_detected")
    assert _ids(chosen) == [r["id"] for r in everything if r["detection"] == "External"]


def test_relation_filters_accept_commas_and_repeats(api: Client, refs: dict[str, list[str]]) -> None:
    everything = api.everything()
    first, second = refs["owners"][:2]
    expected = [r["id"] for r in everything if {first, second} & {o["id"] for o in r["owners"]}]
    assert _ids(api.everything(owners=f"{first},{second}")) == expected
    assert _ids(api.everything(owners=[first, second])) == expected
    folder = refs["folder"][0]
    asset = refs["assets"][0]
    expected = [
        r["id"] for r in everything if r["folder"]["id"] == folder and asset in {a["id"] for a in r["assets"]}
    ]
    assert expected
    assert _ids(api.everything(folder=folder, assets=asset)) == expected


def test_id_filter_takes_a_comma_separated_list_and_ignores_unknown_ids(api: Client) -> None:
    wanted = _ids(api.everything())[3:6]
    chosen = api.everything(id=",".join([*wanted, MISSING_ID]))
    assert _ids(chosen) == wanted


def test_invalid_filter_values_are_400_with_django_filter_messages(api: Client) -> None:
    answer = api.get("/api/incidents/", params={"owners": MISSING_ID, "severity": "7", "status": "open"})
    assert answer.status_code == 400
    assert answer.json() == {
        "owners": [f"Select a valid choice. {MISSING_ID} is not one of the available choices."],
        "severity": ["Select a valid choice. 7 is not one of the available choices."],
        "status": ["Select a valid choice. open is not one of the available choices."],
    }
    assert api.get("/api/incidents/?assets=nope").json() == {"assets": ["“nope” is not a valid value."]}
    assert api.get("/api/incidents/?id=nope").json() == {"id": ["Enter a valid UUID."]}


def test_search_matches_every_term_in_name_description_or_ref_id(api: Client) -> None:
    everything = api.everything()
    assert [r["ref_id"] for r in api.everything(search="inc-0007")] == ["INC-0007"]
    chosen = api.everything(search="Ransomware note")
    expected = [
        r["id"] for r in everything
        if all(
            term in f"{r['name']} {r['description']} {r['ref_id']}".lower() for term in ("ransomware", "note")
        )
    ]
    assert expected
    assert _ids(chosen) == expected


def test_ordering_by_several_fields_with_direction(api: Client) -> None:
    chosen = api.everything(ordering="-severity,name")
    keys = [(-SEVERITY_VALUES[r["severity"]], r["name"]) for r in chosen]
    assert keys == sorted(keys)
    assert len(chosen) == SIZE


def test_ordering_puts_null_occurred_at_last_ascending(api: Client) -> None:
    chosen = api.everything(ordering="occurred_at")
    moments = [r["occurred_at"] for r in chosen]
    present = [m for m in moments if m is not None]
    assert present == sorted(present)
    assert None in moments
    assert moments == present + [None] * (len(moments) - len(present))
    descending = [r["occurred_at"] for r in api.everything(ordering="-occurred_at")]
    assert descending == [None] * (len(moments) - len(present)) + present[::-1]


def test_unknown_ordering_field_is_ignored(api: Client) -> None:
    assert _ids(api.everything(ordering="bogus")) == _ids(api.everything())
    assert _ids(api.everything(ordering="bogus,-ref_id")) == _ids(api.everything())[::-1]


# --- create, retrieve, update, delete ---------------------------------------------------------------


def _full_body(refs: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "name": "Ransomware outbreak on file servers",
        "description": "Encrypted shares on FS-01.",
        "ref_id": "SOAR-42",
        "status": "ongoing",
        "severity": 2,
        "reported_at": "2026-10-30T08:15:00Z",
        "occurred_at": "2026-10-30T07:00:00Z",
        "detection": "externally_detected",
        "link": "https://tickets.example.com/browse/SEC-1",
        "is_published": True,
        "folder": refs["folder"][1],
        "filtering_labels": refs["filtering_labels"][:1],
        "threats": refs["threats"][:2],
        "owners": refs["owners"][:2],
        "assets": refs["assets"][:1],
        "qualifications": refs["qualifications"][:3],
        "entities": refs["entities"][:1],
    }


def test_create_answers_raw_values_and_retrieve_displays_them(
    api: Client, refs: dict[str, list[str]]
) -> None:
    body = _full_body(refs)
    created = api.post("/api/incidents/", json=body)
    assert created.status_code == 201
    raw = created.json()
    assert {key: raw[key] for key in body} == body
    shown = api.get(f"/api/incidents/{raw['id']}/").json()
    owners_by_id = {o["id"]: o["str"] for r in api.everything() for o in r["owners"]}
    assert shown["severity"] == "Major"
    assert shown["status"] == "Ongoing"
    assert shown["detection"] == "External"
    assert shown["folder"]["id"] == body["folder"]
    assert shown["path"] == [{"id": body["folder"], "str": shown["folder"]["str"]}]
    assert shown["owners"] == [{"str": owners_by_id[ref], "id": ref} for ref in body["owners"]]
    assert shown["created_at"] == shown["updated_at"] == "2026-11-01T00:00:00Z"
    assert api.get(f"/api/incidents/{raw['id']}/object/").json() == raw
    assert api.get("/api/incidents/").json()["count"] == SIZE + 1


def test_create_fills_the_servers_defaults_and_the_global_folder(api: Client) -> None:
    raw = api.post("/api/incidents/", json={"name": "Phishing wave"}).json()
    defaults = {"status": "new", "severity": 3, "detection": "internally_detected", "is_published": True,
                "ref_id": "", "reported_at": "2026-11-01T00:00:00Z", "is_bcp_activated": None}
    assert {key: raw[key] for key in defaults} == defaults
    shown = api.get(f"/api/incidents/{raw['id']}/").json()
    assert shown["folder"] == {"str": "Global", "id": raw["folder"]}
    assert shown["path"] == [{"id": raw["folder"], "str": "Global"}]
    assert api.everything(id=raw["id"])[0]["path"] == []
    assert shown["severity"] == "Moderate"


def test_ref_id_is_unique_per_folder_case_insensitively(api: Client, refs: dict[str, list[str]]) -> None:
    first = api.everything()[0]
    taken = api.post("/api/incidents/", json={
        "name": "A", "ref_id": f"  {first['ref_id'].lower()} ", "folder": first["folder"]["id"]})
    assert (taken.status_code, taken.json()) == (400, {
        "ref_id": f"{first['ref_id'].lower()} is already used in this scope. Please choose another value.",
    })
    elsewhere = next(folder for folder in refs["folder"] if folder != first["folder"]["id"])
    moved = api.post("/api/incidents/", json={"name": "B", "ref_id": first["ref_id"], "folder": elsewhere})
    assert moved.status_code == 201
    assert len(api.everything(search=first["ref_id"])) == 2


def test_label_names_become_new_labels_on_create(api: Client) -> None:
    raw = api.post("/api/incidents/", json={"name": "Tagged", "filtering_labels": ["soar-import"]}).json()
    shown = api.get(f"/api/incidents/{raw['id']}/").json()
    assert shown["filtering_labels"] == [{"str": "soar-import", "id": raw["filtering_labels"][0]}]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"name": "x" * 201}, {"name": ["Ensure this field has no more than 200 characters."]}),
        ({"name": ["a"]}, {"name": ["Not a valid string."]}),
        ({"ref_id": "r" * 101}, {"ref_id": ["Ensure this field has no more than 100 characters."]}),
        ({"ref_id": None}, {"ref_id": ["This field may not be null."]}),
        ({"status": "open"}, {"status": ['"open" is not a valid choice.']}),
        ({"severity": 7}, {"severity": ['"7" is not a valid choice.']}),
        ({"severity": 0}, {"severity": ['"0" is not a valid choice.']}),
        ({"detection": "both"}, {"detection": ['"both" is not a valid choice.']}),
        ({"link": "h" * 2049}, {"link": ["Ensure this field has no more than 2048 characters."]}),
        ({"is_published": "maybe"}, {"is_published": ["Must be a valid boolean."]}),
        ({"reported_at": "yesterday"}, {"reported_at": [
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
        ]}),
        ({"folder": MISSING_ID}, {"folder": [f'Invalid pk "{MISSING_ID}" - object does not exist.']}),
        ({"folder": "abc"}, {"folder": ["“abc” is not a valid UUID."]}),
        ({"folder": None}, {"folder": ["This field may not be null."]}),
        ({"owners": [MISSING_ID]}, {"owners": [f'Invalid pk "{MISSING_ID}" - object does not exist.']}),
        ({"assets": MISSING_ID}, {"assets": ['Expected a list of items but got type "str".']}),
        ({"threats": [5]}, {"threats": ["Incorrect type. Expected pk value, received int."]}),
    ],
)
def test_create_rejects_each_field_with_drf_messages(
    api: Client, change: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    answer = api.post("/api/incidents/", json={"name": "Valid name", **change})
    assert answer.status_code == 400
    assert answer.json() == errors
    assert api.get("/api/incidents/?limit=1").json()["count"] == SIZE


def test_create_reports_every_bad_field_at_once_and_requires_name(api: Client) -> None:
    answer = api.post("/api/incidents/", json={"severity": 9, "status": None})
    assert answer.json() == {
        "name": ["This field is required."],
        "status": ["This field may not be null."],
        "severity": ['"9" is not a valid choice.'],
    }


@pytest.mark.parametrize(
    ("change", "stored"),
    [
        ({"severity": "3"}, {"severity": 3}),
        ({"detection": ""}, {"detection": ""}),
        ({"detection": None}, {"detection": None}),
        ({"is_published": "true"}, {"is_published": True}),
        ({"reported_at": "2026-01-02T03:04:05+02:00"}, {"reported_at": "2026-01-02T01:04:05Z"}),
        ({"name": "  Trimmed  ", "unknown_key": 1}, {"name": "Trimmed"}),
    ],
)
def test_create_coerces_like_drf(api: Client, change: dict[str, Any], stored: dict[str, Any]) -> None:
    raw = api.post("/api/incidents/", json={"name": "Valid name", **change}).json()
    assert {key: raw[key] for key in stored} == stored
    assert "unknown_key" not in raw


def test_body_that_is_not_a_json_object(api: Client) -> None:
    broken = api.post("/api/incidents/", content=b"{oops", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("JSON parse error - ")
    listed = api.post("/api/incidents/", json=[{"name": "x"}])
    assert listed.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    form = api.post("/api/incidents/", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415
    assert form.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_put_needs_name_and_keeps_fields_left_out(api: Client, clock: FakeClock) -> None:
    target = api.everything()[0]
    url = f"/api/incidents/{target['id']}/"
    missing = api.request("PUT", url, json={"status": "closed"})
    assert (missing.status_code, missing.json()) == (400, {"name": ["This field is required."]})
    clock.now += 3600
    updated = api.request("PUT", url, json={"name": "Renamed", "status": "closed"}).json()
    assert (updated["name"], updated["status"], updated["ref_id"]) == ("Renamed", "closed", target["ref_id"])
    shown = api.get(url).json()
    assert shown["status"] == "Closed"
    assert shown["owners"] == target["owners"]
    assert shown["updated_at"] == "2026-11-01T01:00:00Z"


def test_patch_changes_only_what_it_sends(api: Client, refs: dict[str, list[str]]) -> None:
    target = api.everything()[1]
    url = f"/api/incidents/{target['id']}/"
    raw = api.request("PATCH", url, json={"severity": 1, "owners": refs["owners"][-1:]}).json()
    assert raw["severity"] == 1
    assert raw["owners"] == refs["owners"][-1:]
    shown = api.get(url).json()
    assert shown["severity"] == "Critical"
    kept = ("name", "status", "assets", "created_at")
    assert [shown[key] for key in kept] == [target[key] for key in kept]
    bad = api.request("PATCH", url, json={"status": "reopened"})
    assert bad.json() == {"status": ['"reopened" is not a valid choice.']}


def test_delete_then_not_found(api: Client) -> None:
    target = api.everything()[2]["id"]
    gone = api.request("DELETE", f"/api/incidents/{target}/")
    assert (gone.status_code, gone.content) == (204, b"")
    again = api.get(f"/api/incidents/{target}/")
    assert (again.status_code, again.json()) == (404, {"detail": "No Incident matches the given query."})
    assert api.request("DELETE", f"/api/incidents/{target}/").status_code == 404
    assert api.get("/api/incidents/not-a-uuid/").json() == {"detail": "Not found."}
    assert target not in _ids(api.everything())


def test_cascade_info_lists_timeline_entries_and_unlinked_objects(api: Client) -> None:
    target = api.everything()[0]
    info = api.get(f"/api/incidents/{target['id']}/cascade-info/").json()
    assert list(info) == ["deleted", "affected", "blocked"]
    assert [group["model"] for group in info["deleted"]["grouped_objects"]] == ["TimelineEntry"]
    assert info["deleted"]["count"] == len(info["deleted"]["related_objects"]) > 0
    linked = {
        ref["id"]
        for field in ("filtering_labels", "threats", "owners", "assets", "qualifications", "entities")
        for ref in target[field]
    }
    assert {item["id"] for item in info["affected"]["related_objects"]} == linked
    models = [group["model"] for group in info["affected"]["grouped_objects"]]
    assert models == sorted(models)
    assert info["blocked"]["count"] == 0
    fresh = api.post("/api/incidents/", json={"name": "Bare"}).json()
    bare = api.get(f"/api/incidents/{fresh['id']}/cascade-info/").json()
    assert [bare[key]["count"] for key in bare] == [0, 0, 0]


# --- batch action -----------------------------------------------------------------------------------


def test_batch_change_field_fails_every_id_as_upstream_does(api: Client) -> None:
    first, second = api.everything()[:2]
    body = {"action": "change_field", "ids": [first["id"], MISSING_ID, second["id"]], "field": "status",
            "value": "resolved"}
    answer = api.post("/api/incidents/batch-action/", json=body)
    assert answer.status_code == 200
    assert answer.json() == {
        "succeeded": [],
        "failed": [
            {"id": first["id"], "name": first["name"], "error": "Unexpected error"},
            {"id": MISSING_ID, "error": "Object not found or access denied"},
            {"id": second["id"], "name": second["name"], "error": "Unexpected error"},
        ],
    }
    assert [api.get(f"/api/incidents/{r['id']}/").json()["status"] for r in (first, second)] == [
        first["status"], second["status"]]





def test_batch_delete_reports_names_in_the_order_of_ids(api: Client) -> None:
    first, second = api.everything()[:2]
    delete = {"action": "delete", "ids": [first["id"], second["id"], first["id"]]}
    answer = api.post("/api/incidents/batch-action/", json=delete).json()
    assert answer == {
        "succeeded": [{"id": first["id"], "name": first["name"]}, {"id": second["id"], "name": second["name"]}],
        "failed": [{"id": first["id"], "error": "Object not found or access denied"}],
    }
    assert api.get(f"/api/incidents/{second['id']}/").status_code == 404


def test_batch_takes_at_most_100_ids(api: Client) -> None:
    ids = _ids(api.everything())
    over = api.post("/api/incidents/batch-action/", json={"action": "delete", "ids": ids[:101]})
    assert (over.status_code, over.json()) == (400, {"error": "too many ids", "max": 100})
    assert len(api.everything()) == SIZE
    exact = api.post("/api/incidents/batch-action/", json={"action": "delete", "ids": ids[:100]}).json()
    assert len(exact["succeeded"]) == 100
    assert len(api.everything()) == SIZE - 100


def test_batch_envelope_errors(api: Client) -> None:
    def refusal(body: dict[str, Any]) -> Any:
        answer = api.post("/api/incidents/batch-action/", json=body)
        assert answer.status_code == 400
        return answer.json()

    assert refusal({"action": "archive", "ids": []}) == {"error": "Invalid action type"}
    assert refusal({"action": "delete", "ids": []}) == {"error": "No ids provided"}
    assert refusal({"action": "change_field", "ids": [MISSING_ID], "field": "owners"}) == {
        "error": "field not editable: owners"}
    assert refusal({"action": "change_m2m", "ids": [MISSING_ID], "field": "status"}) == {
        "error": "field not editable: status"}
    assert refusal({}) == {"error": "Invalid action type"}


# --- choices, metrics, exports, reports -------------------------------------------------------------


def test_choice_endpoints(api: Client) -> None:
    assert api.get("/api/incidents/severity/").json() == {
        "1": "Critical", "2": "Major", "3": "Moderate", "4": "Minor", "5": "Low", "6": "unknown",
    }
    assert api.get("/api/incidents/status/").json() == {
        "new": "New", "ongoing": "Ongoing", "resolved": "Resolved", "closed": "Closed",
        "dismissed": "Dismissed",
    }
    assert api.get("/api/incidents/detection/").json() == {
        "internally_detected": "Internal", "externally_detected": "External",
    }


def test_summary_and_breakdowns_match_the_records(api: Client, refs: dict[str, list[str]]) -> None:
    everything = api.everything()
    summary = api.get("/api/incidents/summary_stats/").json()
    assert summary == {"results": {
        "total_incidents": SIZE,
        "incidents_this_month": sum(1 for r in everything if (r["reported_at"] or "").startswith("2026-11")),
        "open_incidents": sum(1 for r in everything if r["status"] not in {"Closed", "Dismissed"}),
    }}
    severities = Counter(r["severity"] for r in everything)
    rows = api.get("/api/incidents/severity_breakdown/").json()["results"]
    assert [(row["name"], row["value"]) for row in rows] == [(n, severities[n]) for n in SEVERITY_VALUES]
    assert rows[0]["itemStyle"] == {"color": "#DC2626"}
    detections = Counter(r["detection"] for r in everything)
    rows = api.get("/api/incidents/detection_breakdown/").json()["results"]
    assert [(row["name"], row["value"]) for row in rows] == [
        ("Internal", detections["Internal"]), ("External", detections["External"])]
    qualifications = Counter(q["str"].lower() for r in everything for q in r["qualifications"])
    radar = api.get("/api/incidents/qualifications_breakdown/").json()["results"]
    assert dict(zip([label["name"] for label in radar["labels"]], radar["values"], strict=True)) == dict(
        qualifications)
    assert {label["max"] for label in radar["labels"]} == {max(qualifications.values())}
    folder = refs["folder"][1]
    narrowed = api.get(f"/api/incidents/summary_stats/?folder={folder}").json()["results"]
    assert narrowed["total_incidents"] == sum(1 for r in everything if r["folder"]["id"] == folder)
    crash = api.get(f"/api/incidents/summary_stats/?folder={MISSING_ID}")
    assert (crash.status_code, crash.headers["content-type"]) == (500, "text/html; charset=utf-8")


def test_monthly_metrics_count_by_month_of_reported_at(api: Client) -> None:
    everything = api.everything()
    results = api.get("/api/incidents/monthly_metrics/").json()["results"]
    reported = Counter(r["reported_at"][:7] for r in everything)
    assert len(results["months"]) == len(reported)
    assert results["months"][-1] in {"Oct 2026", "Nov 2026"}
    assert results["monthly_counts"] == [reported[key] for key in sorted(reported)]
    assert results["cumulative_counts"][-1] == SIZE


def test_csv_export_has_a_header_and_one_row_per_matching_incident(api: Client) -> None:
    answer = api.get("/api/incidents/export_csv/", params={"status": "new"})
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="incidents_export.csv"'
    assert answer.text.startswith("\ufeffinternal_id;ref_id;name;")
    rows = list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff")), delimiter=";"))
    expected = api.everything(status="new")
    assert [row["internal_id"] for row in rows] == _ids(expected)
    record, row = expected[0], rows[0]
    assert (row["ref_id"], row["status"], row["severity"]) == (record["ref_id"], "New", record["severity"])
    assert row["owners"] == ",".join(o["str"] for o in record["owners"])
    assert row["folder"] == record["folder"]["str"]
    assert row["qualifications"] == ",".join(q["str"].lower() for q in record["qualifications"])


def test_xlsx_export_is_a_workbook_with_every_incident(api: Client) -> None:
    answer = api.get("/api/incidents/export_xlsx/")
    assert answer.headers["content-type"] == XLSX
    with zipfile.ZipFile(io.BytesIO(answer.content)) as workbook:
        assert "[Content_Types].xml" in workbook.namelist()
        sheet = ElementTree.fromstring(workbook.read("xl/worksheets/sheet1.xml"))
    rows = sheet.iter(f"{SHEET_NS}row")
    values = [[cell.text for cell in row.iter(f"{SHEET_NS}t")] for row in rows]
    assert values[0][:3] == ["internal_id", "ref_id", "name"]
    assert [row[0] for row in values[1:]] == _ids(api.everything())


def test_markdown_and_pdf_reports(api: Client) -> None:
    record = api.everything()[0]
    markdown = api.get(f"/api/incidents/{record['id']}/md/")
    assert markdown.headers["content-type"] == "text/markdown"
    assert markdown.text.startswith(f"# {record['name']}\n\n## Incident Information\n\n- **Name**: ")
    assert f"- **Severity**: {record['severity']}\n" in markdown.text
    assert "## Timeline\n\n*Events are listed in chronological order*" in markdown.text
    pdf = api.get(f"/api/incidents/{record['id']}/pdf/")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].endswith('_report.pdf"')
    document = pdf.content
    assert document.startswith(b"%PDF-1.4\n") and document.endswith(b"%%EOF\n")
    xref_at = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert document[xref_at:].startswith(b"xref\n")
    assert record["ref_id"].encode() in document
    assert api.get(f"/api/incidents/{MISSING_ID}/md/").json() == {"error": "Permission denied"}


# --- protocol: slash, auth, methods, throttle, determinism -----------------------------------------


@pytest.mark.parametrize("path", ["/api/incidents", "/api/incidents/severity", "/api/incidents/{id}"])
def test_missing_trailing_slash_is_a_redirect_that_changes_nothing(api: Client, path: str) -> None:
    url = path.format(id=_ids(api.everything())[0])
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


# --- contract with the spec -------------------------------------------------------------------------


@pytest.fixture
def documented() -> dict[str, set[str]]:
    """Top-level keys of each operation's documented response sample."""
    return {operation: set(keys) for operation, keys in doc("ciso_assistant/response_keys.json").items()}


def test_answers_carry_at_least_the_documented_fields(
    api: Client, documented: dict[str, set[str]], refs: dict[str, list[str]]
) -> None:
    # the real server answers more than the spec documents (occurred_at, resolution, ...): a superset
    created = api.post("/api/incidents/", json=_full_body(refs)).json()
    assert documented["incidents_create"] <= set(created)
    url = f"/api/incidents/{created['id']}/"
    assert documented["incidents_update"] <= set(api.request("PUT", url, json={"name": "n"}).json())
    assert documented["incidents_partial_update"] <= set(api.request("PATCH", url, json={}).json())
    assert documented["incidents_retrieve"] <= set(api.get(url).json())
    listing = api.get("/api/incidents/?limit=2").json()
    assert documented["incidents_list"] <= set(listing)
