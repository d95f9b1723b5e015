"""SchemaStore: validators built once per schema, resources registered once per store, messages unchanged."""

from __future__ import annotations

import json
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


def test_a_validator_is_built_once_per_schema(store: SchemaStore) -> None:
    first = store.validator("out.json")
    assert store.validator("out.json") is first
    assert store.validator("threat.json") is not first
    assert first.schema["$id"] == "out.json"


def test_the_resources_are_registered_once_per_store(store: SchemaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = schemas.Resource.from_contents

    def counting(contents: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(contents, dict) and "$id" in contents:
            built.append(contents["$id"])
        return real(contents, *args, **kwargs)

    monkeypatch.setattr(schemas.Resource, "from_contents", counting)
    valid = {"threats": [{"uid": "a", "severity": "low"}, {"uid": "b"}]}
    for _ in range(3):
        store.validate("out.json", valid, "output")
        store.validate("threat.json", {"uid": "c", "severity": "high"}, "output.threats[0]")
    assert sorted(built) == ["out.json", "severity.json", "threat.json"]


def test_a_valid_instance_collects_no_errors(store: SchemaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ranked: list[Any] = []
    monkeypatch.setattr(schemas, "best_match", lambda errors: ranked.append(list(errors)))
    store.validate("out.json", {"threats": [{"uid": "a"}]}, "output")
    assert ranked == []


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
