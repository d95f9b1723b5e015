"""The CISO Assistant incidents simulator: DRF list semantics, both record faces, errors, batch, exports.

Expected values are computed here from the full list (``limit=1000``) with plain Python, not with
the simulator's own filtering code; the contract test reads the documented field lists from the spec.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from connector.sandbox.ciso_assistant import create_app
from connector.sandbox.common import ANCHOR

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


def test_list_without_limit_uses_the_default_page_of_100(api: Client) -> None:
    body = api.get("/api/incidents/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == SIZE
    assert len(body["results"]) == 100
    assert body["next"] == "/api/incidents/?limit=100&offset=100"
    assert body["previous"] is None
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
    assert len(api.get("/api/incidents/?limit=0").json()["results"]) == 100
    assert len(api.get("/api/incidents/?limit=abc").json()["results"]) == 100
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


def test_ordering_puts_null_reported_at_last_ascending(api: Client) -> None:
    chosen = api.everything(ordering="reported_at")
    moments = [r["reported_at"] for r in chosen]
    present = [m for m in moments if m is not None]
    assert present == sorted(present)
    assert None in moments
    assert moments == present + [None] * (len(moments) - len(present))
    descending = [r["reported_at"] for r in api.everything(ordering="-reported_at")]
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
    assert {key: raw[key] for key in body} == {**body, "reported_at": "2026-10-30T08:15:00.000000Z"}
    shown = api.get(f"/api/incidents/{raw['id']}/").json()
    owners_by_id = {o["id"]: o["str"] for r in api.everything() for o in r["owners"]}
    assert shown["severity"] == "Major"
    assert shown["status"] == "Ongoing"
    assert shown["detection"] == "External"
    assert shown["folder"]["id"] == body["folder"]
    assert shown["path"] == [shown["folder"]]
    assert shown["owners"] == [{"str": owners_by_id[ref], "id": ref} for ref in body["owners"]]
    assert shown["created_at"] == shown["updated_at"] == "2026-11-01T00:00:00.000000Z"
    assert api.get(f"/api/incidents/{raw['id']}/object/").json() == raw
    assert api.get("/api/incidents/").json()["count"] == SIZE + 1


def test_create_defaults_to_the_global_folder(api: Client) -> None:
    raw = api.post("/api/incidents/", json={"name": "Phishing wave"}).json()
    assert raw["status"] == "new"
    assert raw["severity"] == 6
    assert raw["detection"] is None
    shown = api.get(f"/api/incidents/{raw['id']}/").json()
    assert shown["folder"] == {"str": "Global", "id": raw["folder"]}
    assert shown["path"] == []
    assert shown["severity"] == "unknown"


def test_ref_id_is_not_unique(api: Client) -> None:
    first = api.post("/api/incidents/", json={"name": "A", "ref_id": "INC-0001"})
    second = api.post("/api/incidents/", json={"name": "B", "ref_id": "INC-0001"})
    assert first.status_code == second.status_code == 201
    assert len(api.everything(search="INC-0001")) == 3


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
        ({"reported_at": "2026-01-02T03:04:05+02:00"}, {"reported_at": "2026-01-02T01:04:05.000000Z"}),
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
    assert shown["updated_at"] == "2026-11-01T01:00:00.000000Z"


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
    assert set(info) == {"deleted", "affected"}
    assert info["deleted"]
    assert {item["model"] for item in info["deleted"]} == {"timelineentry"}
    assert all(item["str"].startswith(target["ref_id"] + ": ") for item in info["deleted"])
    linked = {
        (field, ref["id"])
        for field in ("filtering_labels", "threats", "owners", "assets", "qualifications", "entities")
        for ref in target[field]
    }
    assert {(item["relation"], item["id"]) for item in info["affected"]} == linked
    fresh = api.post("/api/incidents/", json={"name": "Bare"}).json()
    assert api.get(f"/api/incidents/{fresh['id']}/cascade-info/").json() == {"deleted": [], "affected": []}


# --- batch action -----------------------------------------------------------------------------------


def test_batch_change_field_succeeds_per_id(api: Client) -> None:
    first, second = _ids(api.everything())[:2]
    body = {"action": "change_field", "ids": [first, MISSING_ID, second, "garbage"], "field": "status",
            "value": "resolved"}
    answer = api.post("/api/incidents/batch-action/", json=body)
    assert answer.status_code == 200
    assert answer.json() == {
        "succeeded": [first, second],
        "failed": [{"id": MISSING_ID, "error": "Not found."}, {"id": "garbage", "error": "Not found."}],
    }
    assert {api.get(f"/api/incidents/{ref}/").json()["status"] for ref in (first, second)} == {"Resolved"}


def test_batch_invalid_value_fails_each_id(api: Client) -> None:
    first = _ids(api.everything())[0]
    body = {"action": "change_field", "ids": [first], "field": "severity", "value": 9}
    answer = api.post("/api/incidents/batch-action/", json=body).json()
    failure = {"id": first, "error": 'severity: "9" is not a valid choice.'}
    assert answer == {"succeeded": [], "failed": [failure]}


def test_batch_change_m2m_folder_and_delete(api: Client, refs: dict[str, list[str]]) -> None:
    first, second = _ids(api.everything())[:2]
    owners = refs["owners"][:1]
    m2m = {"action": "change_m2m", "ids": [first], "field": "owners", "value": owners}
    assert api.post("/api/incidents/batch-action/", json=m2m).json()["succeeded"] == [first]
    assert [o["id"] for o in api.get(f"/api/incidents/{first}/").json()["owners"]] == owners
    move = {"action": "change_folder", "ids": [first], "value": refs["folder"][0]}
    assert api.post("/api/incidents/batch-action/", json=move).json()["succeeded"] == [first]
    assert api.get(f"/api/incidents/{first}/").json()["folder"]["id"] == refs["folder"][0]
    delete = {"action": "delete", "ids": [first, second, first]}
    answer = api.post("/api/incidents/batch-action/", json=delete).json()
    assert answer == {"succeeded": [first, second], "failed": []}
    assert api.get(f"/api/incidents/{second}/").status_code == 404


def test_batch_takes_at_most_100_ids(api: Client) -> None:
    ids = _ids(api.everything())
    over = api.post("/api/incidents/batch-action/", json={"action": "delete", "ids": ids[:101]})
    assert over.status_code == 400
    assert over.json() == {"ids": ["Ensure this field has no more than 100 elements."]}
    assert len(api.everything()) == SIZE
    exact = api.post("/api/incidents/batch-action/", json={"action": "delete", "ids": ids[:100]}).json()
    assert len(exact["succeeded"]) == 100
    assert len(api.everything()) == SIZE - 100


def test_batch_envelope_errors(api: Client) -> None:
    answer = api.post("/api/incidents/batch-action/", json={"action": "archive", "ids": []})
    assert answer.json() == {
        "action": ['"archive" is not a valid choice.'], "ids": ["This list may not be empty."],
    }
    body = {"action": "change_field", "ids": [MISSING_ID], "field": "owners"}
    answer = api.post("/api/incidents/batch-action/", json=body)
    assert answer.json() == {
        "field": ['"owners" is not a valid choice.'], "value": ["This field is required."],
    }
    assert api.post("/api/incidents/batch-action/", json={}).json() == {
        "action": ["This field is required."], "ids": ["This field is required."],
    }


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


def test_summary_and_breakdowns_match_the_records(api: Client) -> None:
    everything = api.everything()
    statuses = Counter(r["status"] for r in everything)
    summary = api.get("/api/incidents/summary_stats/").json()
    assert summary["total"] == SIZE
    assert summary["open"] == statuses["New"] + statuses["Ongoing"]
    assert {k: summary[k] for k in ("new", "ongoing", "resolved", "closed", "dismissed")} == {
        k: statuses[k.capitalize()] for k in ("new", "ongoing", "resolved", "closed", "dismissed")
    }
    assert summary["critical_open"] == sum(
        1 for r in everything if r["severity"] == "Critical" and r["status"] in {"New", "Ongoing"}
    )
    severities = Counter(r["severity"] for r in everything)
    rows = api.get("/api/incidents/severity_breakdown/").json()["results"]
    assert rows == [{"severity": v, "name": n, "count": severities[n]} for n, v in SEVERITY_VALUES.items()]
    detections = Counter(r["detection"] or None for r in everything)
    rows = api.get("/api/incidents/detection_breakdown/").json()["results"]
    assert {row["name"]: row["count"] for row in rows} == {
        "Internal": detections["Internal"],
        "External": detections["External"],
        "Not specified": detections[None],
    }
    qualifications = Counter(q["str"] for r in everything for q in r["qualifications"])
    rows = api.get("/api/incidents/qualifications_breakdown/").json()["results"]
    assert {row["name"]: row["count"] for row in rows if row["count"]} == dict(qualifications)
    assert [row["count"] for row in rows] == sorted((row["count"] for row in rows), reverse=True)


def test_monthly_metrics_cover_the_last_twelve_months(api: Client) -> None:
    everything = api.everything()
    rows = api.get("/api/incidents/monthly_metrics/").json()["results"]
    months = [row["month"] for row in rows]
    assert months == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    reported = Counter((r["reported_at"] or r["created_at"])[:7] for r in everything)
    assert [row["reported"] for row in rows] == [reported[month] for month in months]
    assert sum(row["reported"] for row in rows) > 0


def test_csv_export_has_a_header_and_one_row_per_matching_incident(api: Client) -> None:
    answer = api.get("/api/incidents/export_csv/", params={"status": "new"})
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    expected = api.everything(status="new")
    assert [row["id"] for row in rows] == _ids(expected)
    record, row = expected[0], rows[0]
    assert (row["ref_id"], row["status"], row["severity"]) == (record["ref_id"], "New", record["severity"])
    assert row["owners"] == "; ".join(o["str"] for o in record["owners"])
    assert row["folder"] == record["folder"]["str"]
    assert row["is_published"] == str(record["is_published"]).lower()


def test_xlsx_export_is_a_workbook_with_every_incident(api: Client) -> None:
    answer = api.get("/api/incidents/export_xlsx/")
    assert answer.headers["content-type"] == XLSX
    with zipfile.ZipFile(io.BytesIO(answer.content)) as workbook:
        assert "[Content_Types].xml" in workbook.namelist()
        sheet = ElementTree.fromstring(workbook.read("xl/worksheets/sheet1.xml"))
    rows = sheet.iter(f"{SHEET_NS}row")
    values = [[cell.text for cell in row.iter(f"{SHEET_NS}t")] for row in rows]
    assert values[0][:3] == ["id", "ref_id", "name"]
    assert [row[0] for row in values[1:]] == _ids(api.everything())


def test_markdown_and_pdf_reports(api: Client) -> None:
    record = api.everything()[0]
    markdown = api.get(f"/api/incidents/{record['id']}/md/")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith(f"# {record['name']}\n")
    assert f"| Severity | {record['severity']} |" in markdown.text
    pdf = api.get(f"/api/incidents/{record['id']}/pdf/")
    assert pdf.headers["content-type"] == "application/pdf"
    document = pdf.content
    assert document.startswith(b"%PDF-1.4\n") and document.endswith(b"%%EOF\n")
    xref_at = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert document[xref_at:].startswith(b"xref\n")
    assert record["ref_id"].encode() in document


# --- protocol: slash, auth, methods, throttle, determinism -----------------------------------------


@pytest.mark.parametrize("path", ["/api/incidents", "/api/incidents/severity", "/api/incidents/{id}"])
def test_missing_trailing_slash_is_django_404(api: Client, path: str) -> None:
    url = path.format(id=_ids(api.everything())[0])
    for method in ("GET", "POST"):
        answer = api.request(method, url, json={"name": "x"})
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>Not Found</h1>" in answer.text
    assert len(api.everything()) == SIZE


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
    assert answer.headers["allow"] == "GET, POST, HEAD"


def test_throttle_answers_429_with_retry_after(clock: FakeClock) -> None:
    api = Client(create_app(seed=SEED, size=5, token=TOKEN, clock=clock))
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


def _documented_response_keys(spec: str) -> dict[str, set[str]]:
    """Top-level keys of each operation's "Response samples" block (the samples are collapsed)."""
    sections: dict[str, set[str]] = {}
    pieces = re.split(r"^(incidents_\w+)$", spec, flags=re.MULTILINE)
    for name, text in zip(pieces[1::2], pieces[2::2], strict=True):
        if "Response samples" in text:
            block = text.split("Response samples", 1)[1]
            sections[name] = set(re.findall(r'^\s*•\s*"(\w+)":', block, flags=re.MULTILINE))
    return sections


@pytest.fixture
def documented(shared_dir: Path) -> dict[str, set[str]]:
    return _documented_response_keys((shared_dir / "spec" / "ciso-assistant-incidents.txt").read_text())


def test_answers_carry_the_documented_fields(
    api: Client, documented: dict[str, set[str]], refs: dict[str, list[str]]
) -> None:
    write_keys = documented["incidents_create"]
    assert write_keys == documented["incidents_update"] == documented["incidents_partial_update"]
    assert len(documented["incidents_retrieve"]) == 20
    created = api.post("/api/incidents/", json=_full_body(refs)).json()
    assert set(created) == documented["incidents_create"]
    url = f"/api/incidents/{created['id']}/"
    assert set(api.request("PUT", url, json={"name": "n"}).json()) == documented["incidents_update"]
    assert set(api.request("PATCH", url, json={}).json()) == documented["incidents_partial_update"]
    assert set(api.get(url).json()) == documented["incidents_retrieve"]
    listing = api.get("/api/incidents/?limit=2").json()
    assert documented["incidents_list"] <= set(listing)
    assert all(set(record) == documented["incidents_retrieve"] for record in listing["results"])
