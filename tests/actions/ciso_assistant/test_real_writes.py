"""CISO Assistant writes as the real server answers them (issue 20): labels by name, batches that fall
back to PATCHes, concurrent creates with one ref_id, the incident dates, batch values checked here.

Each is run on the simulator, which answers as the real server does, and where a recorded answer
bears on it, on the real answers of tests/fixtures/real/ciso_assistant.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.api import arun_action
from connector.connections import sandbox_connection
from connector.envelope import Envelope
from connector.sandbox import build_app
from connector.testing import RecordingTransport, SentRequest, run_in_sandbox
from tests.actions.ciso_assistant.conftest import ASSET, CONFIG, SEEDED, STORE, VENDOR
from tests.actions.ciso_assistant.test_real import Step, incidents_path, query
from tests.actions.ciso_assistant.test_real import run as run_real

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "ciso_assistant"
PHISHING = "673eb4ad-6d0c-43d0-b314-b3913cd46230"
SCOPE_B = "f59bc06f-140b-4121-8c1c-06a7cbb072d6"
MAIL_GATEWAY = "8ef0a5a3-69b2-4fa5-b968-4b3e143990a0"
TAKEN = "is already used in this scope. Please choose another value."
SEEDED_LABEL = next(iter(STORE.related["filtering_labels"].values()))


class Sandbox:
    """One fresh simulator and the requests sent to it."""

    def __init__(self) -> None:
        self.app = build_app(CONFIG)
        self.recording = RecordingTransport(self.app)

    @property
    def sent(self) -> list[SentRequest]:
        """The requests of the last run."""
        return self.recording.requests

    def transport(self) -> RecordingTransport:
        """The recording transport into the simulator."""
        return self.recording

    def run(self, action: str, document: dict[str, Any], **options: Any) -> Envelope:
        """Run ``action`` on the simulator (its earlier requests forgotten)."""
        self.recording.clear()
        return run_in_sandbox(action, document, vendor=VENDOR, transport=self.recording, **options)

    def ok(self, action: str, document: dict[str, Any], **options: Any) -> dict[str, Any]:
        """The output of a run that must succeed."""
        envelope = self.run(action, document, **options)
        assert envelope.status == "success", envelope.errors
        return envelope.output

    def written(self, vendor_id: str) -> dict[str, Any]:
        """The write face of one incident, as the vendor holds it now."""
        face: dict[str, Any] = self.ok("get_incident", {"id": vendor_id, "format": "object"})["object"]
        return face


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh simulator."""
    return Sandbox()


def recorded(name: str, index: int) -> dict[str, Any]:
    """The recorded answer of exchange ``index`` of the real file whose name starts with ``name``."""
    path = next(REAL.glob(f"{name}-*.json"))
    answer: dict[str, Any] = json.loads(path.read_text())["exchanges"][index]["response"]
    return answer


async def _get(app: Any, path: str, **params: str) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        headers = {"Authorization": f"Token {CONFIG.token}"}
        answer = await client.get(f"/{VENDOR}{path}", params=params, headers=headers)
        answer.raise_for_status()
        return answer.json()


async def _post(app: Any, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        headers = {"Authorization": f"Token {CONFIG.token}"}
        return await client.post(f"/{VENDOR}/api/incidents/", json=body, headers=headers)


def labels_of(sandbox: Sandbox, name: str) -> list[str]:
    """The ids of the simulator's labels called ``name`` (asked of its labels endpoint)."""
    found = asyncio.run(_get(sandbox.app, "/api/filtering-labels/", search=name))["results"]
    return [label["id"] for label in found if label["label"].casefold() == name.casefold()]


def holding(sandbox: Sandbox, ref_id: str) -> list[str]:
    """The ids of the simulator's incidents whose ref_id is ``ref_id`` (any case)."""
    found = asyncio.run(_get(sandbox.app, "/api/incidents/", search=ref_id))["results"]
    return [incident["id"] for incident in found if incident["ref_id"].casefold() == ref_id.casefold()]


# --- filtering labels by name ----------------------------------------------------------------------


def test_the_simulator_refuses_a_label_name_that_exists_as_the_real_server_does() -> None:
    app = build_app(CONFIG)
    first = asyncio.run(_post(app, {"name": "Tagged", "filtering_labels": ["phishing"]}))
    again = asyncio.run(_post(app, {"name": "Tagged again", "filtering_labels": [" Phishing "]}))
    seeded = asyncio.run(_post(app, {"name": "Seeded tag", "filtering_labels": [SEEDED_LABEL.name]}))
    assert first.status_code == 201 and len(first.json()["filtering_labels"]) == 1
    assert (again.status_code, again.json()) == (400, {"label": [f"Phishing {TAKEN}"]})
    assert (seeded.status_code, seeded.json()) == (400, {"label": [f"{SEEDED_LABEL.name} {TAKEN}"]})


def test_a_label_name_resolves_to_the_existing_label_and_a_new_one_is_created_once(sandbox: Sandbox) -> None:
    first = sandbox.ok("create_incident", {"name": "Phish 1", "ref_id": "L-1", "filtering_labels": ["phishing"]})
    second = sandbox.ok("create_incident", {"name": "Phish 2", "ref_id": "L-2",
                                            "filtering_labels": ["Phishing", SEEDED_LABEL.name, "phishing"]})
    posted = [r.json for r in sandbox.sent if r.method == "POST"]
    (label,) = labels_of(sandbox, "phishing")
    assert posted[0]["filtering_labels"] == [label, SEEDED_LABEL.id], "names sent as the ids found"
    assert sandbox.written(first["incident"]["vendor_id"])["filtering_labels"] == [label]
    assert sandbox.written(second["incident"]["vendor_id"])["filtering_labels"] == [label, SEEDED_LABEL.id]
    updated = sandbox.ok("update_incident", {"id": SEEDED[0].id, "filtering_labels": ["PHISHING", "brand-new"]})
    (new,) = labels_of(sandbox, "brand-new")
    assert sandbox.written(updated["incident"]["vendor_id"])["filtering_labels"] == [label, new]


def test_concurrent_writes_naming_one_new_label_create_it_once(sandbox: Sandbox) -> None:
    connection = sandbox_connection(VENDOR, "http://127.0.0.1", CONFIG.token)
    transport = sandbox.transport()

    async def together() -> list[Envelope]:
        return list(await asyncio.gather(*(
            arun_action("create_incident", {"name": f"Wave {n}", "ref_id": f"W-{n}", "filtering_labels": ["wave"]},
                        connection=connection, transport=transport)
            for n in range(4)
        )))

    envelopes = asyncio.run(together())
    assert [e.exit_code for e in envelopes] == [0] * 4, [e.errors for e in envelopes]
    by_name = [r for r in sandbox.sent if r.method == "POST" and b'"wave"' in r.content]
    assert len(by_name) > 1, "the race happened: later writes sent the name too, were refused and sent the id"
    (label,) = labels_of(sandbox, "wave")
    assert {tuple(sandbox.written(e.output["incident"]["vendor_id"])["filtering_labels"]) for e in envelopes} == {
        (label,)}


# --- batches fall back to one PATCH per id ---------------------------------------------------------


def test_relation_batches_fall_back_to_a_patch_per_id(sandbox: Sandbox) -> None:
    first, second = SEEDED[2].id, SEEDED[3].id
    other = next(ref for ref in STORE.related["assets"] if ref != ASSET)
    replaced = sandbox.ok("incident_batch_action", {
        "action": "change_m2m", "field": "assets", "value": [ASSET], "ids": [first, second]})
    assert replaced["succeeded"] == [first, second]
    added = sandbox.run("incident_batch_action", {
        "action": "add_m2m", "field": "assets", "value": [other, ASSET], "ids": [first, second]})
    assert added.meta.model_extra == {"patched_one_by_one": 2}
    assert [sandbox.written(i)["assets"] for i in (first, second)] == [[ASSET, other]] * 2
    removed = sandbox.ok("incident_batch_action", {
        "action": "remove_m2m", "field": "assets", "value": [ASSET.upper()], "ids": [first]})
    patches = [r.json for r in sandbox.sent if r.method == "PATCH"]
    assert patches == [{"assets": [other]}]
    assert removed["succeeded"] == [first] and sandbox.written(first)["assets"] == [other]


def test_a_relation_batch_on_the_real_answers_patches_the_id_the_server_failed() -> None:
    face = recorded("29", 1)
    envelope, sent = run_real(
        "incident_batch_action",
        {"action": "remove_m2m", "field": "assets", "value": [MAIL_GATEWAY],
         "ids": [SCOPE_B, "00000000-0000-0000-0000-000000000000"]},
        Step("POST", incidents_path("batch-action/"), recorded("29", 0)),  # "Unexpected error" for the one it has
        Step("GET", incidents_path(f"{SCOPE_B}/object/"), face),
        Step("PATCH", incidents_path(f"{SCOPE_B}/"), face),
    )
    assert envelope.exit_code == 3 and envelope.output["succeeded"] == [SCOPE_B]
    assert [f["message"] for f in envelope.output["failed"]] == ["Object not found or access denied"]
    assert sent.requests[2].json == {"assets": [a for a in face["body"]["assets"] if a != MAIL_GATEWAY]}


def test_batch_values_are_checked_here_on_the_real_answers_too() -> None:
    envelope, sent = run_real("incident_batch_action", {"action": "change_field", "field": "status",
                                                        "value": "Resolved", "ids": [SCOPE_B]})
    assert envelope.exit_code == 2 and sent.requests == []
    assert [e.message for e in envelope.errors] == [
        "input.value: 'Resolved' is not one of ['new', 'in_progress', 'resolved', 'closed', 'ongoing', 'dismissed']"
        " (rule: enum); did you mean 'resolved'?"]


# --- concurrent creates with one ref_id ------------------------------------------------------------


def test_the_simulator_races_as_the_real_server_does() -> None:
    app = build_app(CONFIG)

    async def racing() -> list[httpx.Response]:
        return list(await asyncio.gather(*(_post(app, {"name": f"Raw {n}", "ref_id": "RAW-1"}) for n in range(8))))

    statuses = [answer.status_code for answer in asyncio.run(racing())]
    assert statuses.count(201) > 1, "the uniqueness check is not atomic: several raw POSTs get in"


def test_eight_concurrent_creators_over_twenty_rounds_leave_one_incident_each(sandbox: Sandbox) -> None:
    connection = sandbox_connection(VENDOR, "http://127.0.0.1", CONFIG.token)
    transport = sandbox.transport()

    async def round_of(ref_id: str) -> list[Envelope]:
        return list(await asyncio.gather(*(
            arun_action("create_incident", {"name": f"Racer {n}", "ref_id": ref_id if n % 2 else ref_id.lower()},
                        connection=connection, transport=transport)
            for n in range(8)
        )))

    removed = 0
    for number in range(20):
        ref_id = f"RACE-{number}"
        envelopes = asyncio.run(round_of(ref_id))
        assert [e.exit_code for e in envelopes] == [0] * 8, [e.errors for e in envelopes]
        assert sorted(e.output["existed"] for e in envelopes) == [False] + [True] * 7
        kept = {e.output["incident"]["vendor_id"] for e in envelopes}
        assert holding(sandbox, ref_id) == list(kept), f"round {number}: one incident, the one every racer reports"
        removed += sum(1 for e in envelopes if "removed_twin" in (e.meta.model_extra or {}))
    assert removed > 0, "some creates got past the server's check and removed themselves"
    deletes = [r for r in sandbox.sent if r.method == "DELETE"]
    assert len(deletes) == removed


def test_a_create_after_its_twin_reports_the_older_on_the_real_answers() -> None:
    # The server let a second INC-REF-1 into Global (answer 06[0], "Ref scope A"); the check after the
    # POST finds an older one holding it there (17[1] lists Global's first): the new one deletes itself.
    older = recorded("17", 1)
    older = {**older, "body": {**older["body"], "results": [
        {**older["body"]["results"][0], "id": PHISHING, "name": "Older twin"}, *older["body"]["results"]]}}
    envelope, sent = run_real(
        "create_incident", {"name": "Ref scope A", "ref_id": "INC-REF-1"},
        Step("GET", incidents_path(), recorded("18", 1)),  # not there yet
        Step("POST", incidents_path(), recorded("06", 0)),
        Step("GET", incidents_path(), older),
        Step("DELETE", incidents_path("716226e7-1ee0-4367-a9de-96475bdc79e6/"), recorded("27", 0)),
    )
    assert envelope.status == "success" and envelope.output["existed"] is True
    assert envelope.output["incident"]["vendor_id"] == PHISHING
    assert envelope.meta.model_extra == {"existed": True, "removed_twin": "716226e7-1ee0-4367-a9de-96475bdc79e6"}
    assert query(sent, 2) == {"search": "INC-REF-1", "ordering": "created_at", "limit": "100"}


# --- occurred_at, resolved_at, resolution, is_bcp_activated ----------------------------------------


def test_incident_dates_resolution_and_bcp_are_written_on_create_and_update(sandbox: Sandbox) -> None:
    created = sandbox.ok("create_incident", {
        "name": "Outage", "ref_id": "D-1", "occurred_at": "2026-11-30T08:00:00+01:00",
        "reported_at": "2026-11-30T09:00:00Z", "is_bcp_activated": True})
    vendor_id = created["incident"]["vendor_id"]
    face = sandbox.written(vendor_id)
    assert (face["occurred_at"], face["is_bcp_activated"], face["resolved_at"]) == ("2026-11-30T07:00:00Z", True, None)
    sandbox.ok("update_incident", {"id": vendor_id, "resolved_at": "2026-11-30T18:00:00Z",
                                   "resolution": "Failover to site B.", "is_bcp_activated": False})
    face = sandbox.written(vendor_id)
    assert (face["resolved_at"], face["resolution"], face["is_bcp_activated"]) == (
        "2026-11-30T18:00:00Z", "Failover to site B.", False)
    early = sandbox.run("update_incident", {"id": vendor_id, "resolved_at": "2026-11-30T06:00:00Z"})
    assert early.exit_code == 1 and [e.message for e in early.errors] == [
        f"ciso_assistant: PATCH /api/incidents/{vendor_id}/: 400 Bad Request: resolved_at: Resolution date cannot"
        " be before occurrence date."]
    refused = sandbox.run("create_incident", {"name": "Backwards", "ref_id": "D-2",
                                              "occurred_at": "2026-11-30T10:00:00Z",
                                              "resolved_at": "2026-11-30T09:00:00Z"})
    assert [e.message for e in refused.errors] == [
        "ciso_assistant: POST /api/incidents/: 400 Bad Request: resolved_at: Resolution date cannot be before"
        " occurrence date."]


def test_the_real_date_order_refusals_are_one_line() -> None:
    envelope, sent = run_real("update_incident", {"id": PHISHING, "resolved_at": "2026-11-29T20:00:00Z"},
                              Step("PATCH", incidents_path(f"{PHISHING}/"), recorded("25", 0)))
    assert sent.requests[0].json == {"resolved_at": "2026-11-29T20:00:00Z"}
    assert envelope.exit_code == 1 and [e.message for e in envelope.errors] == [
        f"ciso_assistant: PATCH /api/incidents/{PHISHING}/: 400 Bad Request: resolved_at: Resolution date cannot be"
        " before occurrence date."]
    created, sent = run_real(
        "create_incident", {"name": "reported before occurred", "ref_id": "D-3", "occurred_at": "2026-11-30T10:00:00Z",
                            "reported_at": "2026-11-30T09:00:00Z"},
        Step("GET", incidents_path(), recorded("18", 1)),
        Step("POST", incidents_path(), recorded("05", 7)),
    )
    assert sent.requests[1].json["occurred_at"] == "2026-11-30T10:00:00Z"
    assert [e.message for e in created.errors] == [
        "ciso_assistant: POST /api/incidents/: 400 Bad Request: reported_at: Reported date cannot be before"
        " occurrence date."]
    patched, sent = run_real(
        "update_incident", {"id": PHISHING, "status": "resolved", "severity": "critical",
                            "resolved_at": "2026-11-30T18:00:00Z", "resolution": "Password reset, MFA enforced."},
        Step("PATCH", incidents_path(f"{PHISHING}/"), recorded("22", 0)),
        Step("GET", incidents_path(f"{PHISHING}/"), recorded("11", 0)),
    )
    assert sent.requests[0].json == {"status": "resolved", "severity": 1, "resolved_at": "2026-11-30T18:00:00Z",
                            "resolution": "Password reset, MFA enforced."}
    assert patched.status == "success"
