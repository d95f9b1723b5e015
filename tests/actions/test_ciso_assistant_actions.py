"""CISO Assistant actions end to end against the sandbox simulator (in-process ASGI, no sockets), plus
replayed cassettes and the coverage of every documented incidents endpoint.

Expected answers are computed from the seeded store with plain Python, not with the client's code.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connector.catalog import actions_dir
from connector.connections import sandbox_connection
from connector.envelope import Envelope
from connector.hookspecs import hookimpl
from connector.plugins import Host
from connector.runner import arun_action
from connector.sandbox import FaultPlan, SandboxConfig, build_app
from connector.sandbox.ciso_assistant.seed import seed_store
from connector.sandbox.ciso_assistant.store import Incident
from connector.sandbox.common import ANCHOR
from connector.threat import Threat
from tests.actions.recording import RecordingTransport
from tests.vcr_support import CASSETTES, cassette

VENDOR = "ciso_assistant"
SIZE = 150
CONFIG = SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,))
STORE = seed_store(CONFIG.seed, SIZE, ANCHOR)
SEEDED = list(STORE.incidents.values())
GLOBAL = STORE.root_id
DOMAIN = next(folder.id for folder in STORE.folders.values() if folder.parent is not None)
OWNER, ASSET = next(iter(STORE.related["owners"])), next(iter(STORE.related["assets"]))
MISSING = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
NAME_REQUIRED = "input: 'name' is a required property (rule: required)"
COMMON = {"new": "new", "ongoing": "in_progress", "resolved": "resolved", "closed": "closed", "dismissed": "closed"}


def uids(incidents: list[Incident]) -> list[str]:
    """Common uids of seeded incidents."""
    return [f"{VENDOR}:{incident.id}" for incident in incidents]


class DropFirstPostAnswer(httpx.AsyncBaseTransport):
    """Lets the vendor process the first POST, then loses its answer as a reset connection would."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.dropped = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and not self.dropped:
            self.dropped = True
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class Sandbox:
    """One simulator (fresh state) and the requests sent to it."""

    def __init__(self, faults: str | None = None) -> None:
        config = CONFIG if faults is None else SandboxConfig(
            sizes=CONFIG.sizes, rate_limits=False, vendors=(VENDOR,), faults=FaultPlan.parse(faults)
        )
        self.app = build_app(config)
        self.sent: list[httpx.Request] = []

    def transport(self) -> httpx.AsyncBaseTransport:
        return RecordingTransport(self.app, self.sent)

    def run(
        self,
        action: str,
        document: dict[str, Any],
        *,
        dry_run: bool = False,
        options: dict[str, Any] | None = None,
        token: str = CONFIG.token,
        wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] = lambda inner: inner,
        host: Host | None = None,
    ) -> Envelope:
        self.sent.clear()
        connection = sandbox_connection(VENDOR, "http://127.0.0.1", token)
        if options:
            connection = connection.model_copy(update={"options": options})

        async def no_wait(seconds: float) -> None:
            return None

        return asyncio.run(arun_action(
            action, document, connection=connection, transport=wrap(self.transport()), dry_run=dry_run,
            sleep=no_wait, host=host,
        ))

    def ok(self, action: str, document: dict[str, Any], **options: Any) -> dict[str, Any]:
        envelope = self.run(action, document, **options)
        assert envelope.status == "success", envelope.errors
        return envelope.output

    def incidents(self, **filters: Any) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.ok("list_incidents", filters)["incidents"]
        return listed

    def written(self, vendor_id: str) -> dict[str, Any]:
        """The write face of one incident, as the vendor holds it now."""
        face: dict[str, Any] = self.ok("get_incident", {"id": vendor_id, "format": "object"})["object"]
        return face

    def paths(self) -> list[str]:
        return [f"{request.method} {request.url.path.removeprefix('/' + VENDOR)}" for request in self.sent]


@pytest.fixture(scope="module")
def reads() -> Sandbox:
    """A simulator for tests that only read (built once)."""
    return Sandbox()


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh simulator for tests that write."""
    return Sandbox()


def only_error(envelope: Envelope) -> str:
    assert envelope.status == "failed" and len(envelope.errors) == 1, envelope
    message = envelope.errors[0].message
    assert "\n" not in message and CONFIG.token not in message
    return message


# --- list_incidents --------------------------------------------------------------------------------


def test_list_walks_every_page_in_creation_order(reads: Sandbox) -> None:
    envelope = reads.run("list_incidents", {})
    assert envelope.status == "success"
    assert [i["uid"] for i in envelope.output["incidents"]] == uids(SEEDED)
    assert envelope.output["count"] == envelope.output["total"] == SIZE
    assert (envelope.meta.requests, envelope.meta.pages) == (2, 2)
    assert [r.url.params.multi_items() for r in reads.sent] == [
        [("limit", "100")], [("limit", "100"), ("offset", "100")],
    ]
    assert reads.sent[0].headers["authorization"] == f"Token {CONFIG.token}"
    assert reads.sent[0].url.path == "/ciso_assistant/api/incidents/"


def test_each_listed_incident_is_emitted_once(reads: Sandbox) -> None:
    emitted: list[str] = []

    class Counter:
        @hookimpl
        def record_emitted(self, action: str, record: dict[str, Any]) -> None:
            emitted.append(record["uid"])

    envelope = reads.run("list_incidents", {"limit": 7}, host=Host([Counter()], entry_points=False))
    assert emitted == [i["uid"] for i in envelope.output["incidents"]] == uids(SEEDED[:7])


def test_common_filters_select_like_the_design_says(reads: Sandbox) -> None:
    chosen = [i for i in SEEDED if COMMON[i.status] == "closed" and i.severity in (1, 2)]
    listed = reads.incidents(status=["closed"], severity=["critical", 2])
    assert [i["uid"] for i in listed] == uids(chosen)
    assert {i["vendor_status"] for i in listed} == {"closed", "dismissed"}
    assert {i["severity"] for i in listed} == {"critical", "high"}
    assert reads.sent[0].url.params.multi_items() == [
        ("severity", "1"), ("severity", "2"), ("status", "closed"), ("status", "dismissed"), ("limit", "100"),
    ]


def test_native_values_and_relations_filter_too(reads: Sandbox) -> None:
    owner_incidents = [i for i in SEEDED if OWNER in i.relations["owners"] and i.status in ("dismissed", "ongoing")]
    listed = reads.incidents(status=["dismissed", "in_progress"], owners=[OWNER])
    assert [i["uid"] for i in listed] == uids(owner_incidents)
    in_domain = [i for i in SEEDED if i.folder == DOMAIN and i.detection == "externally_detected"]
    assert [i["uid"] for i in reads.incidents(folder=[DOMAIN], detection=["externally_detected"])] == uids(in_domain)


def test_ids_take_uids_and_ordering_and_limit_apply(reads: Sandbox) -> None:
    wanted = SEEDED[10:14]
    listed = reads.incidents(ids=[f"{VENDOR}:{i.id}" for i in wanted[:2]] + [i.id for i in wanted[2:]])
    assert [i["uid"] for i in listed] == uids(wanted)
    newest = sorted(SEEDED, key=lambda i: i.updated_at, reverse=True)[:5]
    envelope = reads.run("list_incidents", {"ordering": "-updated_at", "limit": 5})
    assert [i["uid"] for i in envelope.output["incidents"]] == uids(newest)
    assert (envelope.output["count"], envelope.output["total"], envelope.meta.requests) == (5, SIZE, 1)
    assert reads.sent[0].url.params["limit"] == "5"


def test_search_matches_every_word(reads: Sandbox) -> None:
    expected = [i for i in SEEDED if "phishing" in i.name.lower() and "finance" in i.name.lower()]
    assert expected and [i["uid"] for i in reads.incidents(search="Phishing finance")] == uids(expected)


def test_since_until_are_the_servers_updated_at_filters(reads: Sandbox) -> None:
    middle = sorted(SEEDED, key=lambda i: i.updated_at)
    since, until = middle[40].updated_at, middle[99].updated_at
    expected = [i for i in SEEDED if since <= i.updated_at <= until]
    window = {"since": since.isoformat(), "until": until.isoformat().replace("+00:00", "Z")}
    envelope = reads.run("list_incidents", window)
    assert [i["uid"] for i in envelope.output["incidents"]] == uids(expected), "until is inclusive"
    assert envelope.output["total"] == len(expected) and envelope.meta.pages == 1
    query = reads.sent[0].url.params
    assert query["updated_at__gte"] == since.isoformat().replace("+00:00", "Z")
    assert query["updated_at__lt"] == (until + timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    limited = reads.run("list_incidents", {"since": since.isoformat(), "limit": 3})
    assert [i["uid"] for i in limited.output["incidents"]] == uids([i for i in SEEDED if i.updated_at >= since][:3])
    assert reads.sent[0].url.params["limit"] == "3"


def test_refused_filter_values_are_one_line(reads: Sandbox) -> None:
    message = only_error(reads.run("list_incidents", {"owners": [MISSING]}))
    assert message == (
        f"ciso_assistant: GET /api/incidents/: 400 Bad Request: owners: Select a valid choice. {MISSING} is not "
        "one of the available choices."
    )
    bad = reads.run("list_incidents", {"severity": ["severe"]})
    assert bad.exit_code == 2 and bad.errors[0].message.startswith("input.severity[0]: 'severe' is not one of")


# --- get_incident ----------------------------------------------------------------------------------


def test_get_in_every_format(reads: Sandbox) -> None:
    seeded = SEEDED[3]
    listed = reads.incidents(ids=[seeded.id])[0]
    got = reads.ok("get_incident", {"id": f"{VENDOR}:{seeded.id}"})
    assert got == {"format": "json", "incident": listed}
    assert reads.paths() == [f"GET /api/incidents/{seeded.id}/"]
    obj = reads.ok("get_incident", {"id": seeded.id, "format": "object"})
    assert obj["object"]["severity"] == seeded.severity and obj["object"]["status"] == seeded.status
    assert obj["incident"]["severity"] == listed["severity"] and obj["incident"]["status"] == listed["status"]
    markdown = reads.ok("get_incident", {"id": seeded.id, "format": "markdown"})
    assert markdown["content_type"].startswith("text/markdown") and markdown["encoding"] == "text"
    assert seeded.name in markdown["content"] and seeded.ref_id in markdown["content"]
    pdf = reads.ok("get_incident", {"id": seeded.id, "format": "pdf"})
    assert pdf["content_type"] == "application/pdf" and pdf["encoding"] == "base64"
    assert base64.b64decode(pdf["content"]).startswith(b"%PDF-")


def test_get_unknown_or_malformed_id(reads: Sandbox) -> None:
    envelope = reads.run("get_incident", {"id": MISSING})
    assert only_error(envelope) == (
        f"ciso_assistant: GET /api/incidents/{MISSING}/: 404 Not Found: No Incident matches the given query."
    )
    assert envelope.exit_code == 1
    malformed = reads.run("get_incident", {"id": "INC-0001"})
    assert malformed.exit_code == 2 and "input.id: 'INC-0001' does not match" in malformed.errors[0].message


# --- create_incident -------------------------------------------------------------------------------


def test_create_from_fields_files_under_global_and_reads_back(sandbox: Sandbox) -> None:
    document = {"name": "Ransom note on FS01", "severity": "high", "status": "in_progress", "ref_id": "SOC-1",
                "owners": [OWNER], "assets": [ASSET], "link": "https://soc.example/1"}
    envelope = sandbox.run("create_incident", document)
    assert envelope.status == "success" and envelope.meta.model_extra == {"existed": False}
    assert sandbox.paths() == ["GET /api/incidents/", "POST /api/incidents/", "GET /api/incidents/"], (
        "no folder lookup; the check after the POST reads the incident back")
    assert dict(sandbox.sent[0].url.params) == {"search": "SOC-1", "ordering": "created_at", "limit": "100"}
    assert "folder" not in json.loads(sandbox.sent[1].read()), "the server files it in Global"
    created = envelope.output["incident"]
    assert (envelope.output["existed"], envelope.output["ref_id"]) == (False, "SOC-1")
    assert (created["title"], created["severity"], created["status"]) == ("Ransom note on FS01", "high", "in_progress")
    assert (created["vendor_severity"], created["vendor_status"]) == ("Major", "ongoing")
    assert created["assignee"] == STORE.related["owners"][OWNER].text
    assert created["resources"][0]["name"] == STORE.related["assets"][ASSET].name
    assert created["created_at"] is not None and created["url"] == "https://soc.example/1"
    face = sandbox.written(created["vendor_id"])
    assert (face["folder"], face["severity"], face["status"], face["ref_id"]) == (GLOBAL, 2, "ongoing", "SOC-1")
    assert sandbox.ok("get_incident", {"id": created["uid"]})["incident"] == created, "same record as a read"


def test_create_is_idempotent_by_ref_id(sandbox: Sandbox) -> None:
    document = {"name": "Lost laptop", "description": "Left on a train", "severity": 4}
    first = sandbox.run("create_incident", document)
    again = sandbox.run("create_incident", document)
    assert first.output["ref_id"] == again.output["ref_id"] and first.output["ref_id"].startswith("connector-")
    assert again.output["existed"] is True and again.meta.model_extra == {"existed": True}
    assert again.output["incident"] == first.output["incident"]
    assert sandbox.paths() == ["GET /api/incidents/"], "found by the search: nothing else sent"
    assert len(sandbox.incidents(search=first.output["ref_id"])) == 1


class SearchesTogether(httpx.AsyncBaseTransport):
    """Holds each ref_id search's answer until ``count`` were answered, so that concurrent creates all miss it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, count: int) -> None:
        self.inner, self.count = inner, count
        self.searches = 0
        self.all_searched = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self.inner.handle_async_request(request)
        if request.method == "GET" and "search" in request.url.params and not self.all_searched.is_set():
            self.searches += 1
            if self.searches == self.count:
                self.all_searched.set()
            await self.all_searched.wait()
        return answer


def test_concurrent_creates_with_one_ref_id_make_one_incident(sandbox: Sandbox) -> None:
    racers = 4
    transport = SearchesTogether(sandbox.transport(), racers)
    connection = sandbox_connection(VENDOR, "http://127.0.0.1", CONFIG.token)
    documents = [{"name": f"Beacon {n}", "ref_id": "RACE-1" if n % 2 else "  race-1 "} for n in range(racers)]

    async def race() -> list[Envelope]:
        return list(await asyncio.gather(*(
            arun_action("create_incident", document, connection=connection, transport=transport)
            for document in documents
        )))

    envelopes = asyncio.run(race())
    assert [e.exit_code for e in envelopes] == [0] * racers
    assert sorted(e.output["existed"] for e in envelopes) == [False] + [True] * (racers - 1)
    assert len({e.output["incident"]["uid"] for e in envelopes}) == 1
    posted = [r for r in sandbox.sent if r.method == "POST"]
    assert len(posted) == racers, "every racer posted: the server's uniqueness rule decided"
    assert [i["title"] for i in sandbox.incidents(search="race-1")] == [
        next(e.output["incident"]["title"] for e in envelopes if not e.output["existed"])]


def test_create_from_a_threat_chains_detection_to_incident(sandbox: Sandbox) -> None:
    threat = Threat.model_validate({
        "uid": "sentinelone:1559342436290084702", "vendor": "sentinelone", "vendor_id": "1559342436290084702",
        "kind": "detection", "title": "mimikatz.exe", "description": "Malicious (malicious) on DESKTOP-8CME2KF",
        "severity_id": 5, "status_id": 1, "first_seen": "2026-10-30T08:15:00Z",
        "url": "https://s1.example/threats/1559342436290084702",
    }).model_dump(mode="json")
    first = sandbox.ok("create_incident", {"from_threat": threat, "owners": [OWNER], "severity": "high"})
    incident = first["incident"]
    assert first["ref_id"] == "sentinelone:1559342436290084702"
    assert (incident["title"], incident["description"]) == ("mimikatz.exe", "Malicious (malicious) on DESKTOP-8CME2KF")
    assert incident["severity"] == "high", "a plain field overrides what the threat gives"
    assert (incident["first_seen"], incident["url"]) == ("2026-10-30T08:15:00Z", threat["url"])
    face = sandbox.written(incident["vendor_id"])
    assert (face["detection"], face["owners"], face["status"]) == ("externally_detected", [OWNER], "new")
    assert sandbox.ok("create_incident", {"from_threat": threat})["existed"] is True


def test_a_long_threat_uid_becomes_a_stable_ref_id(sandbox: Sandbox) -> None:
    threat = {"uid": "nameshield:" + "typosquat-example-com-" * 6, "vendor": "nameshield", "vendor_id": "x",
              "kind": "detection", "title": "Typosquat", "severity": "medium", "severity_id": 3,
              "status": "new", "status_id": 1}
    first = sandbox.ok("create_incident", {"from_threat": threat})
    assert len(first["ref_id"]) == 100 and first["ref_id"].startswith("nameshield:typosquat")
    again = sandbox.ok("create_incident", {"from_threat": threat})
    assert again["existed"] is True and again["incident"]["uid"] == first["incident"]["uid"]


def test_a_lost_create_answer_never_creates_twice(sandbox: Sandbox) -> None:
    dropper: list[DropFirstPostAnswer] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        dropper.append(DropFirstPostAnswer(inner))
        return dropper[0]

    envelope = sandbox.run("create_incident", {"name": "Beaconing from HR-LAPTOP-7", "ref_id": "SOC-77"}, wrap=wrap)
    assert dropper[0].dropped
    assert envelope.status == "success", envelope.errors
    assert envelope.meta.model_extra == {"existed": False, "recovered": True}
    assert envelope.output["existed"] is False and envelope.output["incident"]["title"] == "Beaconing from HR-LAPTOP-7"
    assert sandbox.paths() == ["GET /api/incidents/", "POST /api/incidents/", "GET /api/incidents/"], (
        "searched again instead of posting again")
    assert [i["uid"] for i in sandbox.incidents(search="SOC-77")] == [envelope.output["incident"]["uid"]]
    again = sandbox.run("create_incident", {"name": "Beaconing from HR-LAPTOP-7", "ref_id": "SOC-77"})
    assert again.output["existed"] is True


def test_a_create_refused_before_processing_fails_after_looking() -> None:
    faulty = Sandbox(faults="503@2")  # 1: ref_id search, 2: the POST
    envelope = faulty.run("create_incident", {"name": "Outage", "ref_id": "SOC-503"})
    assert only_error(envelope) == "ciso_assistant: POST /api/incidents/: 503 Service Unavailable: Service Unavailable"
    assert faulty.paths()[-1] == "GET /api/incidents/", "looked for it before reporting the failure"
    assert faulty.incidents(search="SOC-503") == []


def test_create_uses_the_connections_folder(sandbox: Sandbox) -> None:
    created = sandbox.ok("create_incident", {"name": "Plant outage", "ref_id": "OT-1"}, options={"folder": DOMAIN})
    assert sandbox.paths()[:2] == ["GET /api/incidents/", "POST /api/incidents/"], "no folder lookup"
    assert sandbox.written(created["incident"]["vendor_id"])["folder"] == DOMAIN
    invalid = sandbox.run("create_incident", {"name": "x", "ref_id": "OT-2"}, options={"folder": MISSING})
    assert only_error(invalid) == (
        "ciso_assistant: GET /api/incidents/: 400 Bad Request: "
        f"folder: Select a valid choice. {MISSING} is not one of the available choices."
    ), "the ref_id lookup in that folder is refused before anything is written"


def test_create_dry_run_sends_nothing(sandbox: Sandbox) -> None:
    drill = {"name": "Drill", "severity": "critical", "ref_id": "DRY-1"}
    envelope = sandbox.run("create_incident", drill, dry_run=True)
    assert envelope.status == "success" and sandbox.sent == []
    assert envelope.output["existed"] is None and envelope.output["incident"]["severity"] == "critical"
    assert envelope.output["planned_requests"] == [{
        "method": "POST", "path": "/api/incidents/", "params": {},
        "json": {"name": "Drill", "severity": 1, "ref_id": "DRY-1"}, "headers": {"Authorization": "***"},
    }]
    assert sandbox.incidents(search="DRY-1") == []


def test_create_needs_a_name_or_a_threat(sandbox: Sandbox) -> None:
    envelope = sandbox.run("create_incident", {"severity": "high"})
    assert envelope.exit_code == 2 and envelope.errors[0].message == NAME_REQUIRED


# --- update_incident -------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(sandbox: Sandbox) -> None:
    seeded = SEEDED[5]
    before = sandbox.incidents(ids=[seeded.id])[0]
    envelope = sandbox.run("update_incident", {"id": before["uid"], "status": "closed", "severity": "critical"})
    after = envelope.output["incident"]
    assert [r.method for r in sandbox.sent] == ["PATCH", "GET"]
    assert sandbox.sent[0].read() == b'{"severity":1,"status":"closed"}'
    assert (after["status"], after["vendor_status"], after["severity"]) == ("closed", "closed", "critical")
    assert after["title"] == before["title"] and after["updated_at"] > before["updated_at"]
    assert sandbox.ok("get_incident", {"id": seeded.id})["incident"] == after


def test_put_replaces_and_needs_a_name(sandbox: Sandbox) -> None:
    seeded = SEEDED[6]
    put = {"id": seeded.id, "partial": False, "name": "Renamed", "status": "dismissed"}
    envelope = sandbox.run("update_incident", put)
    assert [r.method for r in sandbox.sent] == ["PUT", "GET"]
    incident = envelope.output["incident"]
    assert (incident["title"], incident["status"], incident["vendor_status"]) == ("Renamed", "closed", "dismissed")
    refused = sandbox.run("update_incident", {"id": seeded.id, "partial": False, "status": "new"})
    assert refused.exit_code == 2 and refused.errors[0].message == NAME_REQUIRED


def test_a_failed_read_back_still_reports_the_write(sandbox: Sandbox) -> None:
    seeded = SEEDED[7]

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        class NoReads(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.method == "GET":
                    return httpx.Response(503, json={"detail": "Service Unavailable"})
                return await inner.handle_async_request(request)

        return NoReads()

    envelope = sandbox.run("update_incident", {"id": seeded.id, "status": "resolved"}, wrap=wrap)
    assert envelope.status == "success", envelope.errors
    incident = envelope.output["incident"]
    assert (incident["status"], incident["title"], incident["created_at"]) == ("resolved", seeded.name, None)
    assert sandbox.written(seeded.id)["status"] == "resolved"


def test_update_needs_a_field_and_a_known_id(sandbox: Sandbox) -> None:
    nothing = sandbox.run("update_incident", {"id": SEEDED[0].id})
    assert nothing.exit_code == 2 and nothing.errors[0].message.startswith("input: give at least one incident field")
    assert sandbox.sent == []
    assert "404 Not Found: No Incident matches the given query." in only_error(
        sandbox.run("update_incident", {"id": MISSING, "name": "x"})
    )
    invalid = sandbox.run("update_incident", {"id": SEEDED[0].id, "reported_at": "2026-13-01T00:00:00Z"})
    assert invalid.exit_code == 2 and invalid.errors[0].message.startswith("input.reported_at:")


def test_update_dry_run_sends_nothing(sandbox: Sandbox) -> None:
    envelope = sandbox.run("update_incident", {"id": SEEDED[0].id, "status": "resolved"}, dry_run=True)
    assert sandbox.sent == [] and envelope.output["incident"]["status"] == "resolved"
    assert [(p["method"], p["path"], p["json"]) for p in envelope.output["planned_requests"]] == [
        ("PATCH", f"/api/incidents/{SEEDED[0].id}/", {"status": "resolved"})
    ]
    assert sandbox.written(SEEDED[0].id)["status"] == SEEDED[0].status


# --- delete_incident -------------------------------------------------------------------------------


def test_preview_then_delete(sandbox: Sandbox) -> None:
    seeded = SEEDED[8]
    preview = sandbox.ok("delete_incident", {"id": seeded.id, "preview": True})
    assert preview["deleted"] is False
    cascade = preview["cascade"]
    assert list(cascade) == ["deleted", "affected", "blocked"]
    assert [item["id"] for item in cascade["deleted"]["related_objects"]] == sorted(
        (entry.id for entry in seeded.timeline), key=lambda ref: next(e.name for e in seeded.timeline if e.id == ref))
    assert cascade["affected"]["count"] == sum(len(refs) for refs in seeded.relations.values())
    assert (cascade["blocked"]["count"], cascade["blocked"]["level"]) == (0, "error")
    dry = sandbox.run("delete_incident", {"id": seeded.id}, dry_run=True)
    assert dry.output["deleted"] is False and sandbox.sent == []
    assert dry.output["planned_requests"][0]["method"] == "DELETE"
    assert sandbox.ok("delete_incident", {"id": f"{VENDOR}:{seeded.id}"}) == {"id": seeded.id, "deleted": True}
    assert "404 Not Found" in only_error(sandbox.run("get_incident", {"id": seeded.id}))
    assert "404 Not Found" in only_error(sandbox.run("delete_incident", {"id": seeded.id}))


# --- incident_batch_action -------------------------------------------------------------------------


def test_batch_change_field_falls_back_to_one_patch_per_id(sandbox: Sandbox) -> None:
    ids = [f"{VENDOR}:{i.id}" for i in SEEDED] + [MISSING, SEEDED[0].id]
    change = {"action": "change_field", "field": "status", "value": "in_progress", "ids": ids}
    envelope = sandbox.run("incident_batch_action", change)
    assert envelope.status == "partial" and envelope.exit_code == 3
    batches = [json.loads(r.read())["ids"] for r in sandbox.sent if r.url.path.endswith("/batch-action/")]
    assert [len(chunk) for chunk in batches] == [100, SIZE + 1 - 100], "repeats sent once"
    patches = [r for r in sandbox.sent if r.method == "PATCH"]
    assert len(patches) == SIZE and {r.read() for r in patches} == {b'{"status":"ongoing"}'}
    output = envelope.output
    assert output["succeeded"] == [i.id for i in SEEDED]
    not_found = "Object not found or access denied"
    assert output["failed"] == [{"id": MISSING, "error_type": "vendor", "message": not_found}]
    assert output["summary"] == {"total_attempted": SIZE + 1, "total_successful": SIZE, "total_failed": 1,
                                 "success_rate": round(SIZE / (SIZE + 1), 4)}
    assert [(e.type, e.item, e.message) for e in envelope.errors] == [("vendor", MISSING, not_found)]
    assert envelope.meta.model_extra == {"patched_one_by_one": SIZE}
    assert {i["vendor_status"] for i in sandbox.incidents()} == {"ongoing"}


def test_batch_values_are_checked_before_anything_is_sent(sandbox: Sandbox) -> None:
    for field, value in (("severity", 9), ("status", "Resolved"), ("detection", "External")):
        envelope = sandbox.run("incident_batch_action", {"action": "change_field", "field": field, "value": value,
                                                         "ids": [SEEDED[0].id, SEEDED[1].id]})
        assert envelope.exit_code == 2 and len(envelope.errors) == 1, envelope.errors
        assert envelope.errors[0].message.startswith(f"input.value: {value!r} is not one of"), envelope.errors
        assert sandbox.sent == []


def test_batch_folder_and_delete(sandbox: Sandbox) -> None:
    first, second = SEEDED[0].id, SEEDED[1].id
    relations = sandbox.ok("incident_batch_action", {
        "action": "change_m2m", "field": "assets", "value": [ASSET], "ids": [first]})
    assert relations["succeeded"] == [first] and sandbox.written(first)["assets"] == [ASSET]
    moved = sandbox.ok("incident_batch_action", {"action": "change_folder", "value": DOMAIN, "ids": [first, second]})
    assert moved["succeeded"] == [first, second]
    assert sandbox.written(second)["folder"] == DOMAIN
    deleted = sandbox.ok("incident_batch_action", {"action": "delete", "ids": [first, second]})
    assert deleted["succeeded"] == [first, second]
    assert sandbox.ok("list_incidents", {})["count"] == SIZE - 2


def test_a_batch_request_that_fails_whole_fails_its_ids_only() -> None:
    faulty = Sandbox(faults="503@1")
    envelope = faulty.run("incident_batch_action", {"action": "delete", "ids": [i.id for i in SEEDED]})
    assert envelope.status == "partial" and envelope.output["succeeded"] == [i.id for i in SEEDED[100:]]
    failed = envelope.output["failed"]
    assert [f["id"] for f in failed] == [i.id for i in SEEDED[:100]]
    assert failed[0] == {"id": SEEDED[0].id, "error_type": "retriable", "message": (
        "ciso_assistant: POST /api/incidents/batch-action/: 503 Service Unavailable: Service Unavailable"
        " (outcome unknown: the vendor may have applied it)"
    )}
    wrong_token = faulty.run("incident_batch_action", {"action": "delete", "ids": [SEEDED[0].id]}, token="nope")
    assert only_error(wrong_token).endswith("401 Unauthorized: Invalid token.")


def test_batch_input_rules_and_dry_run(sandbox: Sandbox) -> None:
    missing_field = sandbox.run("incident_batch_action", {"action": "change_field", "value": 1, "ids": [MISSING]})
    assert missing_field.exit_code == 2 and missing_field.errors[0].message == (
        "input: 'field' is a required property (rule: required)"
    )
    wrong_field = sandbox.run("incident_batch_action", {"action": "change_m2m", "field": "status", "value": [],
                                                        "ids": [MISSING]})
    assert wrong_field.exit_code == 2
    assert wrong_field.errors[0].message.startswith("input.field: 'status' is not one of")
    dry = sandbox.run("incident_batch_action", {"action": "delete", "ids": [i.id for i in SEEDED]}, dry_run=True)
    assert sandbox.sent == [] and [len(p["json"]["ids"]) for p in dry.output["planned_requests"]] == [100, 50]
    assert sandbox.ok("list_incidents", {})["count"] == SIZE


# --- exports and metrics ---------------------------------------------------------------------------


def test_csv_export_with_filters(reads: Sandbox) -> None:
    everything = reads.ok("export_incidents", {})
    assert everything["csv"].startswith("\ufeffinternal_id;ref_id;")
    rows = list(csv.DictReader(io.StringIO(everything["csv"].removeprefix("\ufeff")), delimiter=";"))
    assert everything["rows"] == len(rows) == SIZE and everything["content_type"].startswith("text/csv")
    assert [row["ref_id"] for row in rows] == [i.ref_id for i in SEEDED]
    critical = reads.ok("export_incidents", {"format": "csv", "filters": {"severity": ["critical"]}})
    assert critical["rows"] == sum(i.severity == 1 for i in SEEDED)
    critical_rows = csv.DictReader(io.StringIO(critical["csv"].removeprefix("\ufeff")), delimiter=";")
    assert {row["severity"] for row in critical_rows} == {"Critical"}
    assert reads.paths() == ["GET /api/incidents/export_csv/"]
    refused = reads.run("export_incidents", {"filters": {"since": "2026-01-01T00:00:00Z"}})
    assert refused.exit_code == 2 and "'since' was unexpected" in refused.errors[0].message


def test_xlsx_export_is_base64(reads: Sandbox) -> None:
    output = reads.ok("export_incidents", {"format": "xlsx", "filters": {"status": ["new"]}})
    assert output["rows"] == sum(i.status == "new" for i in SEEDED)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(output["base64"]))) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    assert reads.paths() == ["GET /api/incidents/export_xlsx/"]


def test_an_export_answered_with_a_web_page_is_a_clean_failure() -> None:
    portal = Sandbox(faults="html200@1")
    assert only_error(portal.run("export_incidents", {})) == (
        "ciso_assistant: GET /api/incidents/export_csv/: answered text/html, not text/csv"
    )


def test_metrics_of_every_kind(reads: Sandbox) -> None:
    summary = reads.ok("incident_metrics", {"kind": "summary"})["metrics"]["results"]
    assert summary["total_incidents"] == SIZE
    assert summary["open_incidents"] == sum(i.status not in ("closed", "dismissed") for i in SEEDED)
    breakdown = reads.ok("incident_metrics", {"kind": "severity_breakdown"})["metrics"]["results"]
    labels = {1: "Critical", 2: "Major", 3: "Moderate", 4: "Minor", 5: "Low", 6: "unknown"}
    assert [(row["name"], row["value"]) for row in breakdown] == [
        (label, sum(i.severity == v for i in SEEDED)) for v, label in labels.items()]
    monthly = reads.ok("incident_metrics", {"kind": "monthly"})["metrics"]["results"]
    assert monthly["cumulative_counts"][-1] == SIZE
    detection = reads.ok("incident_metrics", {"kind": "detection_breakdown", "folder": DOMAIN})["metrics"]["results"]
    assert sum(row["value"] for row in detection) == sum(i.folder == DOMAIN for i in SEEDED)
    assert reads.sent[0].url.params["folder"] == DOMAIN
    qualifications = reads.ok("incident_metrics", {"kind": "qualifications_breakdown"})["metrics"]["results"]
    used = {STORE.related["qualifications"][ref].name for i in SEEDED for ref in i.relations["qualifications"]}
    assert {label["name"] for label in qualifications["labels"]} == used
    choices = reads.ok("incident_metrics", {"kind": "choices"})
    assert choices["metrics"]["severity"] == {"1": "Critical", "2": "Major", "3": "Moderate", "4": "Minor",
                                              "5": "Low", "6": "unknown"}
    assert choices["metrics"]["status"]["dismissed"] == "Dismissed"
    assert choices["metrics"]["detection"] == {"internally_detected": "Internal", "externally_detected": "External"}
    assert reads.paths() == [
        "GET /api/incidents/severity/", "GET /api/incidents/status/", "GET /api/incidents/detection/",
    ]


# --- test_connection -------------------------------------------------------------------------------


def checks(envelope: Envelope) -> list[tuple[str, bool, str]]:
    # A failed check fails the action (exit 1), and is its one error, naming the check.
    failed = [c for c in envelope.output["checks"] if not c["ok"] and not c["message"].startswith("not checked")]
    assert (envelope.status, envelope.exit_code) == (("success", 0) if envelope.output["ok"] else ("failed", 1))
    assert [(e.item, e.message) for e in envelope.errors] == [(c["name"], c["message"]) for c in failed]
    return [(c["name"], c["ok"], c["message"]) for c in envelope.output["checks"]]


def test_connection_passes_every_check(reads: Sandbox) -> None:
    assert checks(reads.run("test_connection", {})) == [
        ("reachability", True, "http://127.0.0.1/ciso_assistant/api/incidents/ answered"),
        ("authentication", True, "the token was accepted"),
        ("permissions", True, f"may read incidents ({SIZE} visible)"),
    ]


def test_connection_names_a_wrong_token(reads: Sandbox) -> None:
    envelope = reads.run("test_connection", {}, token="wrong-token")
    assert envelope.output["ok"] is False and envelope.exit_code == 1
    assert checks(envelope)[1:] == [
        ("authentication", False, "ciso_assistant: GET /api/incidents/: 401 Unauthorized: Invalid token."),
        ("permissions", False, "not checked: authentication failed"),
    ]


@pytest.mark.parametrize(
    ("answer", "failed", "message"),
    [
        (httpx.Response(403, json={"detail": "You do not have permission to perform this action."}), "permissions",
         "ciso_assistant: GET /api/incidents/: 403 Forbidden: You do not have permission to perform this action."),
        (httpx.ConnectError("connection refused"), "reachability",
         "ciso_assistant: GET /api/incidents/: cannot connect (connection refused)"),
        (httpx.Response(404, text="<!doctype html><title>Not Found</title>", headers={"content-type": "text/html"}),
         "reachability",
         "ciso_assistant: GET /api/incidents/: 404 Not Found: answered with an HTML page (is the base URL right?)"),
        (httpx.Response(200, json=[]), "reachability",
         "http://127.0.0.1/ciso_assistant/api/incidents/ answered, but not with an incident list"),
    ],
)
def test_connection_says_which_check_failed(reads: Sandbox, answer: httpx.Response | Exception, failed: str,
                                            message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    results = checks(reads.run("test_connection", {}, wrap=lambda inner: httpx.MockTransport(handler)))
    names = [name for name, _, _ in results]
    assert results[names.index(failed)] == (failed, False, message)
    assert all(ok for _, ok, _ in results[: names.index(failed)])
    assert all(text == f"not checked: {failed} failed" for _, _, text in results[names.index(failed) + 1 :])


# --- replayed traffic and coverage -------------------------------------------------------------------


def test_cassette_replay_of_a_create_chain() -> None:
    small = SandboxConfig(sizes={VENDOR: 12}, rate_limits=False, vendors=(VENDOR,))
    store = seed_store(small.seed, 12, ANCHOR)
    name = "ciso_assistant_incidents"
    with cassette(name, small) as base_url:

        def run(action: str, document: dict[str, Any]) -> Envelope:
            return asyncio.run(arun_action(action, document, sandbox=base_url, vendor=VENDOR))

        listed = run("list_incidents", {"status": ["new", "in_progress"]})
        created = run("create_incident", {"name": "Cassette incident", "ref_id": "VCR-1", "severity": "low"})
        again = run("create_incident", {"name": "Cassette incident", "ref_id": "VCR-1", "severity": "low"})
        closed = run("update_incident", {"id": created.output["incident"]["uid"], "status": "closed"})
    open_ones = [i for i in store.incidents.values() if i.status in ("new", "ongoing")]
    assert [i["uid"] for i in listed.output["incidents"]] == uids(open_ones)
    assert created.output["existed"] is False and again.output["existed"] is True
    assert again.output["incident"] == created.output["incident"]
    assert (closed.output["incident"]["status"], closed.output["incident"]["vendor_severity"]) == ("closed", "Minor")
    text = (CASSETTES / f"{name}.yaml").read_text()
    assert "authorization" not in text.lower() and CONFIG.token not in text


SPEC_OPERATIONS = {
    "list": "GET /api/incidents/", "create": "POST /api/incidents/", "retrieve": "GET /api/incidents/{id}/",
    "update": "PUT /api/incidents/{id}/", "partial_update": "PATCH /api/incidents/{id}/",
    "destroy": "DELETE /api/incidents/{id}/", "cascade_info": "GET /api/incidents/{id}/cascade-info/",
    "md": "GET /api/incidents/{id}/md/", "object": "GET /api/incidents/{id}/object/",
    "pdf": "GET /api/incidents/{id}/pdf/", "batch_action": "POST /api/incidents/batch-action/",
    "detection": "GET /api/incidents/detection/", "detection_breakdown": "GET /api/incidents/detection_breakdown/",
    "export_csv": "GET /api/incidents/export_csv/", "export_xlsx": "GET /api/incidents/export_xlsx/",
    "monthly_metrics": "GET /api/incidents/monthly_metrics/",
    "qualifications_breakdown": "GET /api/incidents/qualifications_breakdown/",
    "severity": "GET /api/incidents/severity/", "severity_breakdown": "GET /api/incidents/severity_breakdown/",
    "status": "GET /api/incidents/status/", "summary_stats": "GET /api/incidents/summary_stats/",
}


def test_every_documented_operation_is_an_actions_endpoint(shared_dir: Path) -> None:
    spec = (shared_dir / "spec/ciso-assistant-incidents.txt").read_text()
    documented = set(re.findall(r"^incidents_(\w+?)(?:_retrieve|_create)?$", spec, re.MULTILINE))
    assert documented == set(SPEC_OPERATIONS)
    declared = set()
    for path in actions_dir().glob("*.yaml"):
        binding = (yaml.safe_load(path.read_text()).get("vendors") or {}).get(VENDOR)
        declared.update(binding["endpoints"] if binding else [])
    assert set(SPEC_OPERATIONS.values()) <= declared

