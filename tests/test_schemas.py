"""SchemaStore: checkers built once per schema from the files it needs, jsonschema-rs checking and
jsonschema explaining (and having the last word), messages unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector import schemas
from connector.errors import BadInput
from connector.schemas import SchemaStore

SEVERITY = {"type": "string", "enum": ["low", "medium", "high"]}
THREAT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["uid"],
    "properties": {"uid": {"type": "string"}, "severity": {"$ref": "severity.json"}},
}
OUTPUT = {"type": "object", "properties": {"threats": {"type": "array", "items": {"$ref": "threat.json"}}}}


@pytest.fixture
def store(tmp_path: Path) -> SchemaStore:
    for name, document in {"severity.json": SEVERITY, "threat.json": THREAT, "out.json": OUTPUT}.items():
        (tmp_path / name).write_text(json.dumps(document))
    return SchemaStore([tmp_path])


def test_a_checker_is_built_once_per_schema(store: SchemaStore) -> None:
    first = store.checker("out.json")
    assert store.checker("out.json") is first
    assert store.checker("threat.json") is not first
    assert store.validator("out.json").schema["$id"] == "out.json"


def test_each_schema_is_compiled_once(store: SchemaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = schemas.jsonschema_rs.validator_for

    def counting(schema: Any, **options: Any) -> Any:
        compiled.append(schema["$id"])
        return real(schema, **options)

    monkeypatch.setattr(schemas.jsonschema_rs, "validator_for", counting)
    valid = {"threats": [{"uid": "a", "severity": "low"}, {"uid": "b"}]}
    for _ in range(3):
        store.validate("out.json", valid, "output")
        store.validate("threat.json", {"uid": "c", "severity": "high"}, "output.threats[0]")
    assert compiled == ["out.json", "threat.json"]


def test_a_schema_reads_only_the_files_it_refers_to(store: SchemaStore, tmp_path: Path) -> None:
    (tmp_path / "out.json").unlink()  # never needed by threat.json, so never read
    store.validate("threat.json", {"uid": "c", "severity": "high"}, "threat")
    with pytest.raises(BadInput, match="severity: 'urgent' is not one of"):
        store.validate("threat.json", {"uid": "c", "severity": "urgent"}, "threat")
    assert "out.json" in store  # known by its name from the start


def test_a_valid_instance_is_never_explained(store: SchemaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    explained: list[Any] = []
    monkeypatch.setattr(schemas, "explained", lambda *arguments, **options: explained.append(arguments))
    store.validate("out.json", {"threats": [{"uid": "a"}]}, "output")
    assert explained == []


def test_checking_valid_instances_leaves_jsonschema_unimported() -> None:
    # What a run's start-up saves: jsonschema and referencing (30 ms) load only to explain a refusal.
    script = (
        "import sys\n"
        "from connector.plugins import default_host\n"
        "store = default_host().schemas\n"
        "store.validate('get_threats.input.json', {'limit': 1, 'severity': ['high']}, 'input')\n"
        "store.resolver('get_threats.input.json').lookup('resume.json')\n"
        "print(sorted(name for name in ('jsonschema', 'referencing') if name in sys.modules))\n"
        "store.validate('get_threats.input.json', {'limit': 0}, 'input')\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert ran.stdout.strip() == "[]"
    assert "input.limit: 0 is less than the minimum of 1 (rule: minimum)" in ran.stderr


EDGES = {
    # format: (values both refuse, values jsonschema-rs refuses and jsonschema accepts)
    "email": (["jdoe"], ["a b@c", "x@@y", "ünï@example.com"]),
    "date-time": (["2024-02-30T00:00:00Z", "2024-01-31 00:00:00Z", "2024-01-31T00:00:00", "2024-01-31T24:00:00Z"], []),
    "date": (["2024-02-30", "2024-1-1", "20240131"], []),
    "ipv4": (["01.2.3.4", "256.1.1.1", "1.2.3", " 1.2.3.4", "1.2.3.4\n"], []),
    "ipv6": (["fe80::1%eth0", "1::2::3", "::1\n"], []),
    "uuid": (["123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}"], []),
}


@pytest.mark.parametrize("form", sorted(EDGES))
def test_the_rust_checker_accepts_nothing_jsonschema_refuses(tmp_path: Path, form: str) -> None:
    (tmp_path / "value.json").write_text(json.dumps({"type": "string", "format": form}))
    store = SchemaStore([tmp_path])
    refused, stricter = EDGES[form]
    for value in refused:
        assert not store.checker("value.json").is_valid(value)
        with pytest.raises(BadInput, match="rule: format"):
            store.validate("value.json", value, "value")
    for value in stricter:  # refused in Rust (by recent releases), but jsonschema has the last word
        store.validate("value.json", value, "value")


def test_jsonschema_has_the_last_word_on_patterns(tmp_path: Path) -> None:
    # Python's $ matches before a final newline and its \d takes any digit; Rust's do neither.
    (tmp_path / "name.json").write_text(json.dumps({"type": "string", "pattern": "^[a-z]+$"}))
    (tmp_path / "digits.json").write_text(json.dumps({"type": "string", "pattern": "^\\d+$"}))
    store = SchemaStore([tmp_path])
    store.validate("name.json", "abc\n", "name")
    store.validate("digits.json", "\u0661\u0662", "digits")
    with pytest.raises(BadInput, match="'ABC' does not match"):
        store.validate("name.json", "ABC", "name")


def test_values_json_cannot_hold_are_judged_by_jsonschema(store: SchemaStore, tmp_path: Path) -> None:
    (tmp_path / "count.json").write_text(json.dumps({"type": "integer"}))  # beside the fixture's schemas
    store = SchemaStore([tmp_path])
    store.validate("count.json", 2**70, "count")  # past 64 bits, which jsonschema-rs cannot take in
    with pytest.raises(BadInput, match=r"threat.uid: datetime.datetime\(2024.* is not of type 'string'"):
        store.validate("threat.json", {"uid": datetime(2024, 1, 31, tzinfo=UTC)}, "threat")


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        (
            {"threats": [{"uid": "a", "severity": "hgh"}]},
            "output.threats[0].severity: 'hgh' is not one of ['low', 'medium', 'high'] (rule: enum); "
            "did you mean 'high'?",
        ),
        ({"threats": [{}]}, "output.threats[0]: 'uid' is a required property (rule: required)"),
        ({"threats": [{"uid": 1}]}, "output.threats[0].uid: 1 is not of type 'string' (rule: type)"),
    ],
)
def test_the_message_of_an_invalid_instance_is_the_best_match(
    store: SchemaStore, instance: dict[str, Any], message: str
) -> None:
    for _ in range(2):  # the second time through the kept validator
        with pytest.raises(BadInput) as caught:
            store.validate("out.json", instance, "output")
        assert caught.value.message == message
