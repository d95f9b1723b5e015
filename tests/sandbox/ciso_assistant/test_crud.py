"""The CISO Assistant simulator: create, retrieve, update and delete an incident."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.ciso_assistant.conftest import MISSING_ID, SIZE, Client, FakeClock, full_body, ids_of


def test_create_answers_raw_values_and_retrieve_displays_them(
    api: Client, refs: dict[str, list[str]]
) -> None:
    body = full_body(refs)
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
    assert target not in ids_of(api.everything())


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
