"""CISO Assistant actions against the simulator: create_incident, idempotent by ref_id."""

from __future__ import annotations

import asyncio

import httpx

from connector.envelope import Envelope
from connector.testing import RecordingTransport, arun_in_sandbox
from connector.threat import Threat
from tests.actions.ciso_assistant.conftest import (
    ASSET,
    DOMAIN,
    MISSING,
    NAME_REQUIRED,
    OWNER,
    STORE,
    VENDOR,
    act,
    fresh,
    incidents_of,
    ok,
    only_error,
    paths,
    written,
)

GLOBAL = STORE.root_id


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


def test_create_from_fields_files_under_global_and_reads_back(sandbox: RecordingTransport) -> None:
    document = {"name": "Ransom note on FS01", "severity": "high", "status": "in_progress", "ref_id": "SOC-1",
                "owners": [OWNER], "assets": [ASSET], "link": "https://soc.example/1"}
    envelope = act(sandbox, "create_incident", document)
    assert envelope.status == "success" and envelope.meta.model_extra == {"existed": False}
    assert paths(sandbox) == ["GET /api/incidents/", "POST /api/incidents/", "GET /api/incidents/"], (
        "no folder lookup; the check after the POST reads the incident back")
    assert dict(sandbox.requests[0].params) == {"search": "SOC-1", "ordering": "created_at", "limit": "100"}
    assert "folder" not in sandbox.requests[1].json, "the server files it in Global"
    created = envelope.output["incident"]
    assert (envelope.output["existed"], envelope.output["ref_id"]) == (False, "SOC-1")
    assert (created["title"], created["severity"], created["status"]) == ("Ransom note on FS01", "high", "in_progress")
    assert (created["vendor_severity"], created["vendor_status"]) == ("Major", "ongoing")
    assert created["assignee"] == STORE.related["owners"][OWNER].text
    assert created["resources"][0]["name"] == STORE.related["assets"][ASSET].name
    assert created["created_at"] is not None and created["url"] == "https://soc.example/1"
    face = written(sandbox, created["vendor_id"])
    assert (face["folder"], face["severity"], face["status"], face["ref_id"]) == (GLOBAL, 2, "ongoing", "SOC-1")
    assert ok(sandbox, "get_incident", {"id": created["uid"]})["incident"] == created, "same record as a read"


def test_create_is_idempotent_by_ref_id(sandbox: RecordingTransport) -> None:
    document = {"name": "Lost laptop", "description": "Left on a train", "severity": 4}
    first = act(sandbox, "create_incident", document)
    again = act(sandbox, "create_incident", document)
    assert first.output["ref_id"] == again.output["ref_id"] and first.output["ref_id"].startswith("connector-")
    assert again.output["existed"] is True and again.meta.model_extra == {"existed": True}
    assert again.output["incident"] == first.output["incident"]
    assert paths(sandbox) == ["GET /api/incidents/"], "found by the search: nothing else sent"
    assert len(incidents_of(sandbox, search=first.output["ref_id"])) == 1


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


def test_concurrent_creates_with_one_ref_id_make_one_incident(sandbox: RecordingTransport) -> None:
    racers = 4
    transport = SearchesTogether(sandbox, racers)
    documents = [{"name": f"Beacon {n}", "ref_id": "RACE-1" if n % 2 else "  race-1 "} for n in range(racers)]

    async def race() -> list[Envelope]:
        return list(await asyncio.gather(*(
            arun_in_sandbox("create_incident", document, vendor=VENDOR, transport=transport)
            for document in documents
        )))

    envelopes = asyncio.run(race())
    assert [e.exit_code for e in envelopes] == [0] * racers
    assert sorted(e.output["existed"] for e in envelopes) == [False] + [True] * (racers - 1)
    assert len({e.output["incident"]["uid"] for e in envelopes}) == 1
    posted = [r for r in sandbox.requests if r.method == "POST"]
    assert len(posted) == racers, "every racer posted: the server's uniqueness rule decided"
    assert [i["title"] for i in incidents_of(sandbox, search="race-1")] == [
        next(e.output["incident"]["title"] for e in envelopes if not e.output["existed"])]


def test_create_from_a_threat_chains_detection_to_incident(sandbox: RecordingTransport) -> None:
    threat = Threat.model_validate({
        "uid": "sentinelone:1559342436290084702", "vendor": "sentinelone", "vendor_id": "1559342436290084702",
        "kind": "detection", "title": "mimikatz.exe", "description": "Malicious (malicious) on DESKTOP-8CME2KF",
        "severity_id": 5, "status_id": 1, "first_seen": "2026-10-30T08:15:00Z",
        "url": "https://s1.example/threats/1559342436290084702",
    }).model_dump(mode="json")
    first = ok(sandbox, "create_incident", {"from_threat": threat, "owners": [OWNER], "severity": "high"})
    incident = first["incident"]
    assert first["ref_id"] == "sentinelone:1559342436290084702"
    assert (incident["title"], incident["description"]) == ("mimikatz.exe", "Malicious (malicious) on DESKTOP-8CME2KF")
    assert incident["severity"] == "high", "a plain field overrides what the threat gives"
    assert (incident["first_seen"], incident["url"]) == ("2026-10-30T08:15:00Z", threat["url"])
    face = written(sandbox, incident["vendor_id"])
    assert (face["detection"], face["owners"], face["status"]) == ("externally_detected", [OWNER], "new")
    assert ok(sandbox, "create_incident", {"from_threat": threat})["existed"] is True


def test_a_long_threat_uid_becomes_a_stable_ref_id(sandbox: RecordingTransport) -> None:
    threat = {"uid": "nameshield:" + "typosquat-example-com-" * 6, "vendor": "nameshield", "vendor_id": "x",
              "kind": "detection", "title": "Typosquat", "severity": "medium", "severity_id": 3,
              "status": "new", "status_id": 1}
    first = ok(sandbox, "create_incident", {"from_threat": threat})
    assert len(first["ref_id"]) == 100 and first["ref_id"].startswith("nameshield:typosquat")
    again = ok(sandbox, "create_incident", {"from_threat": threat})
    assert again["existed"] is True and again["incident"]["uid"] == first["incident"]["uid"]


def test_a_lost_create_answer_never_creates_twice(sandbox: RecordingTransport) -> None:
    dropper: list[DropFirstPostAnswer] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        dropper.append(DropFirstPostAnswer(inner))
        return dropper[0]

    envelope = act(sandbox, "create_incident", {"name": "Beaconing from HR-LAPTOP-7", "ref_id": "SOC-77"}, wrap=wrap)
    assert dropper[0].dropped
    assert envelope.status == "success", envelope.errors
    assert envelope.meta.model_extra == {"existed": False, "recovered": True}
    assert envelope.output["existed"] is False and envelope.output["incident"]["title"] == "Beaconing from HR-LAPTOP-7"
    assert paths(sandbox) == ["GET /api/incidents/", "POST /api/incidents/", "GET /api/incidents/"], (
        "searched again instead of posting again")
    assert [i["uid"] for i in incidents_of(sandbox, search="SOC-77")] == [envelope.output["incident"]["uid"]]
    again = act(sandbox, "create_incident", {"name": "Beaconing from HR-LAPTOP-7", "ref_id": "SOC-77"})
    assert again.output["existed"] is True


def test_a_create_refused_before_processing_fails_after_looking() -> None:
    faulty = fresh(faults="503@2")  # 1: ref_id search, 2: the POST
    envelope = act(faulty, "create_incident", {"name": "Outage", "ref_id": "SOC-503"})
    assert only_error(envelope) == "ciso_assistant: POST /api/incidents/: 503 Service Unavailable: Service Unavailable"
    assert paths(faulty)[-1] == "GET /api/incidents/", "looked for it before reporting the failure"
    assert incidents_of(faulty, search="SOC-503") == []


def test_create_uses_the_connections_folder(sandbox: RecordingTransport) -> None:
    created = ok(sandbox, "create_incident", {"name": "Plant outage", "ref_id": "OT-1"}, options={"folder": DOMAIN})
    assert paths(sandbox)[:2] == ["GET /api/incidents/", "POST /api/incidents/"], "no folder lookup"
    assert written(sandbox, created["incident"]["vendor_id"])["folder"] == DOMAIN
    invalid = act(sandbox, "create_incident", {"name": "x", "ref_id": "OT-2"}, options={"folder": MISSING})
    assert only_error(invalid) == (
        "ciso_assistant: GET /api/incidents/: 400 Bad Request: "
        f"folder: Select a valid choice. {MISSING} is not one of the available choices."
    ), "the ref_id lookup in that folder is refused before anything is written"


def test_create_dry_run_sends_nothing(sandbox: RecordingTransport) -> None:
    drill = {"name": "Drill", "severity": "critical", "ref_id": "DRY-1"}
    envelope = act(sandbox, "create_incident", drill, dry_run=True)
    assert envelope.status == "success" and sandbox.requests == []
    assert envelope.output["existed"] is None and envelope.output["incident"]["severity"] == "critical"
    assert envelope.output["planned_requests"] == [{
        "method": "POST", "path": "/api/incidents/", "params": {},
        "json": {"name": "Drill", "severity": 1, "ref_id": "DRY-1"}, "headers": {"Authorization": "***"},
    }]
    assert incidents_of(sandbox, search="DRY-1") == []


def test_create_needs_a_name_or_a_threat(sandbox: RecordingTransport) -> None:
    envelope = act(sandbox, "create_incident", {"severity": "high"})
    assert envelope.exit_code == 2 and envelope.errors[0].message == NAME_REQUIRED
