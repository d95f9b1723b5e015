"""CISO Assistant actions against the simulator: list_incidents and get_incident."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from connector.hookspecs import hookimpl
from connector.plugins import Host
from connector.testing import RecordingTransport
from tests.actions.ciso_assistant.conftest import (
    DOMAIN,
    MISSING,
    OWNER,
    SEEDED,
    SIZE,
    VENDOR,
    act,
    incidents_of,
    ok,
    only_error,
    paths,
    uids,
)

COMMON = {"new": "new", "ongoing": "in_progress", "resolved": "resolved", "closed": "closed", "dismissed": "closed"}


def test_list_walks_every_page_in_creation_order(reads: RecordingTransport) -> None:
    envelope = act(reads, "list_incidents", {})
    assert envelope.status == "success"
    assert [i["uid"] for i in envelope.output["incidents"]] == uids(SEEDED)
    assert envelope.output["count"] == envelope.output["total"] == SIZE
    assert (envelope.meta.requests, envelope.meta.pages) == (2, 2)
    assert [r.params.multi_items() for r in reads.requests] == [
        [("limit", "100")], [("limit", "100"), ("offset", "100")],
    ]
    assert reads.requests[0].auth_scheme == "Token"
    assert reads.requests[0].path == "/ciso_assistant/api/incidents/"


def test_each_listed_incident_is_emitted_once(reads: RecordingTransport) -> None:
    emitted: list[str] = []

    class Counter:
        @hookimpl
        def record_emitted(self, action: str, record: dict[str, Any]) -> None:
            emitted.append(record["uid"])

    envelope = act(reads, "list_incidents", {"limit": 7}, host=Host([Counter()], entry_points=False))
    assert emitted == [i["uid"] for i in envelope.output["incidents"]] == uids(SEEDED[:7])


def test_common_filters_select_like_the_design_says(reads: RecordingTransport) -> None:
    chosen = [i for i in SEEDED if COMMON[i.status] == "closed" and i.severity in (1, 2)]
    listed = incidents_of(reads, status=["closed"], severity=["critical", 2])
    assert [i["uid"] for i in listed] == uids(chosen)
    assert {i["vendor_status"] for i in listed} == {"closed", "dismissed"}
    assert {i["severity"] for i in listed} == {"critical", "high"}
    assert reads.requests[0].params.multi_items() == [
        ("severity", "1"), ("severity", "2"), ("status", "closed"), ("status", "dismissed"), ("limit", "100"),
    ]


def test_native_values_and_relations_filter_too(reads: RecordingTransport) -> None:
    owner_incidents = [i for i in SEEDED if OWNER in i.relations["owners"] and i.status in ("dismissed", "ongoing")]
    listed = incidents_of(reads, status=["dismissed", "in_progress"], owners=[OWNER])
    assert [i["uid"] for i in listed] == uids(owner_incidents)
    in_domain = [i for i in SEEDED if i.folder == DOMAIN and i.detection == "externally_detected"]
    found = incidents_of(reads, folder=[DOMAIN], detection=["externally_detected"])
    assert [i["uid"] for i in found] == uids(in_domain)


def test_ids_take_uids_and_ordering_and_limit_apply(reads: RecordingTransport) -> None:
    wanted = SEEDED[10:14]
    listed = incidents_of(reads, ids=[f"{VENDOR}:{i.id}" for i in wanted[:2]] + [i.id for i in wanted[2:]])
    assert [i["uid"] for i in listed] == uids(wanted)
    newest = sorted(SEEDED, key=lambda i: i.updated_at, reverse=True)[:5]
    envelope = act(reads, "list_incidents", {"ordering": "-updated_at", "limit": 5})
    assert [i["uid"] for i in envelope.output["incidents"]] == uids(newest)
    assert (envelope.output["count"], envelope.output["total"], envelope.meta.requests) == (5, SIZE, 1)
    assert reads.requests[0].params["limit"] == "5"


def test_search_matches_every_word(reads: RecordingTransport) -> None:
    expected = [i for i in SEEDED if "phishing" in i.name.lower() and "finance" in i.name.lower()]
    assert expected and [i["uid"] for i in incidents_of(reads, search="Phishing finance")] == uids(expected)


def test_since_until_are_the_servers_updated_at_filters(reads: RecordingTransport) -> None:
    middle = sorted(SEEDED, key=lambda i: i.updated_at)
    since, until = middle[40].updated_at, middle[99].updated_at
    expected = [i for i in SEEDED if since <= i.updated_at <= until]
    window = {"since": since.isoformat(), "until": until.isoformat().replace("+00:00", "Z")}
    envelope = act(reads, "list_incidents", window)
    assert [i["uid"] for i in envelope.output["incidents"]] == uids(expected), "until is inclusive"
    assert envelope.output["total"] == len(expected) and envelope.meta.pages == 1
    query = reads.requests[0].params
    assert query["updated_at__gte"] == since.isoformat().replace("+00:00", "Z")
    assert query["updated_at__lt"] == (until + timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    limited = act(reads, "list_incidents", {"since": since.isoformat(), "limit": 3})
    assert [i["uid"] for i in limited.output["incidents"]] == uids([i for i in SEEDED if i.updated_at >= since][:3])
    assert reads.requests[0].params["limit"] == "3"


def test_refused_filter_values_are_one_line(reads: RecordingTransport) -> None:
    message = only_error(act(reads, "list_incidents", {"owners": [MISSING]}))
    assert message == (
        f"ciso_assistant: GET /api/incidents/: 400 Bad Request: owners: Select a valid choice. {MISSING} is not "
        "one of the available choices."
    )
    bad = act(reads, "list_incidents", {"severity": ["severe"]})
    assert bad.exit_code == 2 and bad.errors[0].message.startswith("input.severity[0]: 'severe' is not one of")


def test_get_in_every_format(reads: RecordingTransport) -> None:
    seeded = SEEDED[3]
    listed = incidents_of(reads, ids=[seeded.id])[0]
    got = ok(reads, "get_incident", {"id": f"{VENDOR}:{seeded.id}"})
    assert got == {"format": "json", "incident": listed}
    assert paths(reads) == [f"GET /api/incidents/{seeded.id}/"]
    obj = ok(reads, "get_incident", {"id": seeded.id, "format": "object"})
    assert obj["object"]["severity"] == seeded.severity and obj["object"]["status"] == seeded.status
    assert obj["incident"]["severity"] == listed["severity"] and obj["incident"]["status"] == listed["status"]
    markdown = ok(reads, "get_incident", {"id": seeded.id, "format": "markdown"})
    assert markdown["content_type"].startswith("text/markdown") and markdown["encoding"] == "text"
    assert seeded.name in markdown["content"] and seeded.ref_id in markdown["content"]
    pdf = ok(reads, "get_incident", {"id": seeded.id, "format": "pdf"})
    assert pdf["content_type"] == "application/pdf" and pdf["encoding"] == "base64"
    assert base64.b64decode(pdf["content"]).startswith(b"%PDF-")


def test_get_unknown_or_malformed_id(reads: RecordingTransport) -> None:
    envelope = act(reads, "get_incident", {"id": MISSING})
    assert only_error(envelope) == (
        f"ciso_assistant: GET /api/incidents/{MISSING}/: 404 Not Found: No Incident matches the given query."
    )
    assert envelope.exit_code == 1
    malformed = act(reads, "get_incident", {"id": "INC-0001"})
    assert malformed.exit_code == 2 and "input.id: 'INC-0001' does not match" in malformed.errors[0].message
