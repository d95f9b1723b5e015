"""Pipes: one action's envelope on stdin becomes the next one's input through --map."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
import pytest

from connector.errors import BadInput
from connector.playbook.pipes import is_envelope, mapped_input

CONNECTOR = [sys.executable, "-m", "connector"]
UPSTREAM: dict[str, Any] = {
    "action": "get_threats", "vendor": "sentinelone", "connection": "sandbox", "status": "success",
    "output": {"threats": [{"vendor_id": "11", "title": "${{ inputs }}"}, {"vendor_id": "12", "title": "b"}],
               "count": 2},
    "errors": [], "meta": {},
}


def test_maps_build_the_input_from_the_upstream_envelope() -> None:
    maps = ["ids=output.threats[].vendor_id", 'status=`"in_progress"`', " note = output.threats[0].title "]
    assert mapped_input(UPSTREAM, maps) == {"ids": ["11", "12"], "status": "in_progress", "note": "${{ inputs }}"}


def test_without_maps_a_plain_input_passes_and_an_envelope_is_refused() -> None:
    assert mapped_input({"ids": ["1"]}, []) == {"ids": ["1"]}
    assert is_envelope(UPSTREAM) and not is_envelope({"action": "x"})
    with pytest.raises(BadInput) as caught:
        mapped_input(UPSTREAM, [])
    assert caught.value.message == (
        "input: this is the envelope of get_threats, not an input; pick fields from it with --map NAME=JMESPATH, "
        "e.g. --map 'ids=output.threats[].vendor_id'"
    )


def test_maps_also_read_a_plain_json_document() -> None:
    assert mapped_input({"hits": [{"id": "a"}, {"id": "b"}]}, ["ids=hits[].id"]) == {"ids": ["a", "b"]}


@pytest.mark.parametrize(("maps", "message"), [
    (["ids"], "--map: 'ids' is not NAME=JMESPATH (e.g. --map 'ids=output.threats[].vendor_id')"),
    (["1x=output"], "--map: '1x=output' is not NAME=JMESPATH (e.g. --map 'ids=output.threats[].vendor_id')"),
    (["ids="], "--map: 'ids=' is not NAME=JMESPATH (e.g. --map 'ids=output.threats[].vendor_id')"),
    (["ids=output.threats[", "x=y"], "--map ids: `output.threats[`: not a valid JMESPath expression: "
                                     "Incomplete expression"),
    (["ids=output.threatz[].vendor_id"], "--map ids: `output.threatz[].vendor_id` found nothing in the input (null)"),
    (["ids=output.count", "ids=output.count"], "--map ids: given twice"),
    (["n=length(output.count)"], "--map n: `length(output.count)`: In function length(), invalid type for value: 2, "
                                 "expected one of: ['string', 'array', 'object'], received: \"number\""),
])
def test_bad_maps_are_one_line_naming_the_map(maps: list[str], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        mapped_input(UPSTREAM, maps)
    assert caught.value.message == message


def test_a_failed_upstream_has_nothing_to_map() -> None:
    with pytest.raises(BadInput, match=r"^input: the upstream get_threats failed, there is nothing to map$"):
        mapped_input({**UPSTREAM, "status": "failed", "output": {}}, ["ids=output.threats[].vendor_id"])


def _spawn(*args: str, stdin: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CONNECTOR, *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "CONNECTOR_CONFIG": ""},
    )


def test_two_connector_processes_chained_by_a_pipe() -> None:
    # Each process starts its own sandbox; both are seeded alike, so the ids read upstream exist downstream.
    upstream = _spawn("run", "get-threats", "--sandbox", "--vendor", "sentinelone",
                      "--input", '{"severity": ["high"], "status": ["new"], "limit": 3}')
    assert upstream.stdout is not None
    downstream = _spawn("run", "update-threat-status", "--sandbox", "--vendor", "sentinelone", "--input", "-",
                        "--map", "ids=output.threats[].vendor_id", "--map", 'status=`"in_progress"`',
                        stdin=upstream.stdout)
    upstream.stdout.close()  # the downstream process owns the read end now
    out, err = downstream.communicate(timeout=120)
    upstream.wait(timeout=120)
    assert upstream.returncode == 0, upstream.stderr.read() if upstream.stderr else ""
    assert downstream.returncode == 0, err.decode()
    envelope = orjson.loads(out)
    assert envelope["action"] == "update_threat_status" and envelope["status"] == "success"
    assert len(envelope["output"]["succeeded"]) == 3
    assert envelope["output"]["summary"]["total_successful"] == 3


def test_an_envelope_piped_without_map_is_refused_with_a_hint() -> None:
    piped = orjson.dumps(UPSTREAM)
    process = subprocess.run(
        [*CONNECTOR, "run", "update-threat-status", "--sandbox", "--input", "-"], input=piped,
        capture_output=True, timeout=120, env={**os.environ, "CONNECTOR_CONFIG": ""},
    )
    hint = ("input: this is the envelope of get_threats, not an input; pick fields from it with "
            "--map NAME=JMESPATH, e.g. --map 'ids=output.threats[].vendor_id'")
    assert process.returncode == 2
    envelope = orjson.loads(process.stdout)
    assert envelope["status"] == "failed"
    assert envelope["errors"] == [{"type": "bad_input", "message": hint, "item": None}]
    assert process.stderr.decode().splitlines() == [
        f"connector: {hint}", "connector: update_threat_status: failed; 0 requests, 0 pages, 0 retries, 0 ms",
    ]


def test_a_deeply_nested_map_names_the_limit() -> None:
    with pytest.raises(BadInput) as caught:
        mapped_input({"a": 1}, ["ids=" + "(" * 3000 + "a" + ")" * 3000])
    assert caught.value.message.startswith("--map ids: '((((")
    assert caught.value.message.endswith("(a string of 6001 characters): nested deeper than 64 levels")
