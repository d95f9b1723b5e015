"""The built-in formats: json, ndjson (the envelope last), table, csv and ocsf; and the one-line summary."""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from connector.envelope import Envelope, Meta
from connector.errors import BadInput
from connector.formats import format_names, output_format
from connector.formats.builtin import LinesWriter, record_line
from connector.output import records_of, summary_line
from connector.plugins import default_host
from connector.redaction import redactor

THREATS = Envelope(
    action="get_threats",
    vendor="sentinelone",
    connection="s1",
    status="success",
    output={"threats": [{"uid": "a", "title": "one", "resources": [{"name": "h"}]}, {"uid": "b", "title": "two,x",
                                                                                    "resources": []}],
            "count": 2, "total": 9},
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


def written(envelope: Envelope, name: str) -> str:
    """The envelope written as a run writes it: each record as it comes, then the rest."""
    stream = io.StringIO()
    writer = output_format(name, default_host()).writer(stream)
    found = records_of(envelope.output)
    if found is None:
        writer.finish(envelope, None)
        return stream.getvalue()
    key, records = found
    streamed = envelope.model_copy(update={"output": {**envelope.output, key: []}})
    for record in records:
        writer.record(streamed, key, record)
    writer.finish(streamed, key)
    return stream.getvalue()


def test_the_registry_holds_the_built_in_formats() -> None:
    assert format_names(default_host()) == ["csv", "json", "ndjson", "ocsf", "table"]
    with pytest.raises(BadInput, match=r"format: 'xml' is not a known format \(known: csv, json, ndjson, ocsf"):
        output_format("xml", default_host())


def test_ndjson_is_a_line_per_record_then_the_envelope() -> None:
    lines = [orjson.loads(line) for line in written(THREATS, "ndjson").splitlines()]
    assert [line.get("uid") for line in lines[:2]] == ["a", "b"]
    assert lines[2]["status"] == "success" and lines[2]["output"] == {"threats": [], "count": 2, "total": 9}
    assert len(lines) == 3


def test_ndjson_lines_written_at_once_are_those_written_one_by_one_secrets_masked() -> None:
    redactor.add("batch-secret-0f9c")
    records = [*THREATS.output["threats"], {"uid": "c", "title": "batch-secret-0f9c", "note": "é\n"}]
    one_by_one, at_once = io.StringIO(), io.StringIO()
    for record in records:
        LinesWriter(one_by_one, envelope_last=True).record(THREATS, "threats", record)
    LinesWriter(at_once, envelope_last=True).records(THREATS, "threats", records)
    assert at_once.getvalue() == one_by_one.getvalue() == "".join(map(record_line, records))
    assert "batch-secret-0f9c" not in at_once.getvalue()
    assert orjson.loads(at_once.getvalue().splitlines()[2])["title"] == "***"


def test_json_is_the_whole_envelope() -> None:
    assert orjson.loads(written(THREATS, "json")) == THREATS.model_dump(mode="json")


def test_an_output_of_several_lists_stays_whole() -> None:
    # A bulk change's succeeded and failed: one NDJSON line (the envelope), a field/value table.
    lines = written(BULK, "ndjson").splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0])["output"] == BULK.output
    rows = [row.split("│")[1:3] for row in written(BULK, "table").splitlines() if row.startswith("│")]
    cells = {field.strip(): value.strip() for field, value in rows}
    assert list(cells) == ["succeeded", "failed", "summary"]
    assert (cells["succeeded"], cells["failed"]) == ('["1"]', "2")


def test_csv_is_a_header_and_a_row_per_record_objects_as_json() -> None:
    rows = list(csv.reader(io.StringIO(written(THREATS, "csv"))))
    assert rows == [["uid", "title", "resources"], ["a", "one", '[{"name":"h"}]'], ["b", "two,x", "[]"]]


def test_csv_of_an_action_without_records_is_one_row_of_its_fields() -> None:
    rows = list(csv.reader(io.StringIO(written(BULK, "csv"))))
    assert rows[0] == ["succeeded", "failed", "summary"] and rows[1][0] == '["1"]' and len(rows) == 2


def test_summary_line_counts_records_or_bulk_outcomes() -> None:
    assert summary_line(THREATS).startswith("get_threats via sentinelone (s1): success, 2 threats; 1 requests")
    assert summary_line(BULK).startswith("update_threat_status via sentinelone (s1): partial, 1 succeeded, 1 failed;")
