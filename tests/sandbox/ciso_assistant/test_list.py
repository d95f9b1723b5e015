"""The CISO Assistant simulator: the incidents list, its envelope and paging, filters, search and ordering."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from connector.sandbox.ciso_assistant import create_app
from tests.sandbox.ciso_assistant.conftest import (
    MISSING_ID,
    SEED,
    SEVERITY_VALUES,
    SIZE,
    TOKEN,
    Client,
    FakeClock,
    ids_of,
)


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
        seen += ids_of(body["results"])
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


def test_status_and_severity_filters_take_repeated_values(api: Client) -> None:
    everything = api.everything()
    chosen = api.everything(status=["new", "ongoing"], severity=["1", "2"])
    expected = [
        r["id"] for r in everything
        if r["status"] in {"New", "Ongoing"} and r["severity"] in {"Critical", "Major"}
    ]
    assert expected
    assert ids_of(chosen) == expected


def test_detection_filter(api: Client) -> None:
    everything = api.everything()
    chosen = api.everything(detection="externally_detected")
    assert ids_of(chosen) == [r["id"] for r in everything if r["detection"] == "External"]


def test_relation_filters_accept_commas_and_repeats(api: Client, refs: dict[str, list[str]]) -> None:
    everything = api.everything()
    first, second = refs["owners"][:2]
    expected = [r["id"] for r in everything if {first, second} & {o["id"] for o in r["owners"]}]
    assert ids_of(api.everything(owners=f"{first},{second}")) == expected
    assert ids_of(api.everything(owners=[first, second])) == expected
    folder = refs["folder"][0]
    asset = refs["assets"][0]
    expected = [
        r["id"] for r in everything if r["folder"]["id"] == folder and asset in {a["id"] for a in r["assets"]}
    ]
    assert expected
    assert ids_of(api.everything(folder=folder, assets=asset)) == expected


def test_id_filter_takes_a_comma_separated_list_and_ignores_unknown_ids(api: Client) -> None:
    wanted = ids_of(api.everything())[3:6]
    chosen = api.everything(id=",".join([*wanted, MISSING_ID]))
    assert ids_of(chosen) == wanted


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
    assert ids_of(chosen) == expected


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
    assert ids_of(api.everything(ordering="bogus")) == ids_of(api.everything())
    assert ids_of(api.everything(ordering="bogus,-ref_id")) == ids_of(api.everything())[::-1]
