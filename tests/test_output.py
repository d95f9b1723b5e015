"""Output formats: json, ndjson and table, and the one-line summary; nothing of the output is dropped."""

from __future__ import annotations

import io

import orjson

from connector.envelope import Envelope, Meta
from connector.output import summary_line, write_envelope

THREATS = Envelope(
    action="get_threats",
    vendor="sentinelone",
    connection="s1",
    status="success",
    output={"threats": [{"uid": "a", "title": "one"}, {"uid": "b", "title": "two"}], "count": 2, "total": 9},
    meta=Meta(requests=1, pages=1),
)
BULK = Envelope(
    action="update_threat_status",
    vendor="sentinelone",
    connection="s1",
    status="partial",
    output={
        "succeeded": ["1"],
        "failed": [{"id": "2", "error_type": "not_found", "message": "no threat with this id"}],
        "summary": {"total_attempted": 2, "total_successful": 1, "total_failed": 1, "success_rate": 0.5},
    },
)


def written(envelope: Envelope, fmt: str) -> str:
    stream = io.StringIO()
    write_envelope(envelope, fmt, stream)
    return stream.getvalue()


def test_ndjson_is_one_line_per_record_of_the_main_list() -> None:
    lines = written(THREATS, "ndjson").splitlines()
    assert [orjson.loads(line)["uid"] for line in lines] == ["a", "b"]


def test_an_output_of_several_lists_stays_whole() -> None:
    # A bulk change's succeeded and failed: one NDJSON line (the envelope), a field/value table.
    lines = written(BULK, "ndjson").splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0])["output"] == BULK.output
    rows = [row.split("│")[1:3] for row in written(BULK, "table").splitlines() if row.startswith("│")]
    cells = {field.strip(): value.strip() for field, value in rows}
    assert list(cells) == ["succeeded", "failed", "summary"]
    assert (cells["succeeded"], cells["failed"]) == ('["1"]', "2")


def test_summary_line_counts_records_or_bulk_outcomes() -> None:
    assert summary_line(THREATS).startswith("get_threats via sentinelone (s1): success, 2 threats; 1 requests")
    assert summary_line(BULK).startswith("update_threat_status via sentinelone (s1): partial, 1 succeeded, 1 failed;")
