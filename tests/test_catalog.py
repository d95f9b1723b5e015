"""The declarative catalogue: generated files match their sources, every documented endpoint has an action."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import orjson
import pytest

from connector.catalog import manifest_path, schemas_dir
from connector.errors import BadInput
from connector.generated import generated_models
from connector.manifest import render_manifest
from connector.plugins import default_host
from connector.threat import schema_document
from tests.conftest import doc

# SentinelOne's spec file is mangled text; DESIGN.md section 1 names its endpoints.
SENTINELONE_ENDPOINTS = {
    "GET /web/api/v2.1/threats",
    "POST /web/api/v2.1/threats/incident",
    "POST /web/api/v2.1/threats/analyst-verdict",
    "POST /web/api/v2.1/threats/notes",
    "POST /web/api/v2.1/threats/mitigate/{}",
}
# Nameshield's single-event route is documented in DESIGN.md section 1, not in its spec file.
NAMESHIELD_EXTRA = {"GET /cti/v2/events/{}"}
# CISO Assistant's spec names operations; DRF's router gives each its method and path.
CISO_OPERATIONS = {
    "list": "GET /api/incidents/",
    "create": "POST /api/incidents/",
    "retrieve": "GET /api/incidents/{}/",
    "update": "PUT /api/incidents/{}/",
    "partial_update": "PATCH /api/incidents/{}/",
    "destroy": "DELETE /api/incidents/{}/",
    "cascade_info_retrieve": "GET /api/incidents/{}/cascade-info/",
    "md_retrieve": "GET /api/incidents/{}/md/",
    "object_retrieve": "GET /api/incidents/{}/object/",
    "pdf_retrieve": "GET /api/incidents/{}/pdf/",
    "batch_action_create": "POST /api/incidents/batch-action/",
}


def normalise(endpoint: str) -> str:
    method, _, path = endpoint.partition(" ")
    path = re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0]).rstrip("/")
    return f"{method.upper()} {path}"


def documented_endpoints() -> set[str]:
    found = set(SENTINELONE_ENDPOINTS) | NAMESHIELD_EXTRA
    found.update(doc("mysecutec/endpoints.json"), doc("nameshield/endpoints.json"))
    for operation in (name.removeprefix("incidents_") for name in doc("ciso_assistant/operations.json")):
        if operation in CISO_OPERATIONS:
            found.add(CISO_OPERATIONS[operation])
        else:  # list routes such as severity_retrieve -> GET /api/incidents/severity/
            found.add(f"GET /api/incidents/{operation.removesuffix('_retrieve')}/")
    return {normalise(endpoint) for endpoint in found}


def test_every_documented_endpoint_has_an_action() -> None:
    covered = {
        normalise(endpoint)
        for spec in default_host().actions.values()
        for binding in spec.vendors.values()
        for endpoint in binding.endpoints
    }
    missing = sorted(documented_endpoints() - covered)
    assert not missing, f"documented endpoints without an action: {missing}"


def test_generated_schemas_match_their_models() -> None:
    for name, model in generated_models().items():
        on_disk = orjson.loads((schemas_dir() / name).read_bytes())
        assert on_disk == orjson.loads(orjson.dumps(schema_document(model, name))), f"{name} drifted: run make schemas"


def test_manifest_matches_the_plugins() -> None:
    assert manifest_path().read_text() == render_manifest(), "manifest.yaml drifted: run make manifest"


def test_every_action_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    host = default_host()
    for spec in host.actions.values():
        for name in (spec.input, spec.output):
            Draft202012Validator.check_schema(host.schemas.get(name))
        assert spec.vendors, f"action {spec.name} has no vendor"


@pytest.mark.parametrize(
    ("schema", "document", "message"),
    [
        (
            "update_threat_status.input.json",
            {"ids": ["1"]},
            "input: the object is none of the allowed forms: with status; with vendor_status; with verdict"
            " (rule: anyOf)",
        ),
        (
            "nameshield.event_filters.json",
            {"sort": 5},
            "input.sort: 5 is none of the allowed forms: string; array (rule: anyOf)",
        ),
        (
            "get_threats.input.json",
            {"since": "yesterday"},
            "input.since: 'yesterday' is not a 'date-time' (rule: format)",
        ),
    ],
)
def test_invalid_input_is_one_line_naming_field_and_rule(schema: str, document: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput) as raised:
        default_host().schemas.validate(schema, document, "input")
    assert raised.value.message == message


def _unbounded_strings(node: Any, path: str) -> list[str]:
    """Paths of string schemas that bound neither their length nor their values (enum, const, an anchored pattern)."""
    found: list[str] = []
    if isinstance(node, dict):
        kind = node.get("type")
        is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
        pattern = node.get("pattern", "")
        # An anchored pattern without repetition bounds the length itself (a uuid, a fixed time format).
        fixed = pattern.startswith("^") and pattern.endswith("$") and not re.search(r"[*+]|\{\d+,\}", pattern)
        if is_string and not ({"maxLength", "enum", "const"} & set(node) or fixed):
            found.append(path)
        for key, value in node.items():
            found += _unbounded_strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _unbounded_strings(value, f"{path}[{index}]")
    return found


def test_every_free_text_input_has_a_length_bound() -> None:
    inputs = [*schemas_dir().glob("*.input.json"), *schemas_dir().glob("*_filters.json")]
    assert len(inputs) > 20
    unbounded = [
        f"{path.name}{where}"
        for path in sorted(inputs)
        for where in _unbounded_strings(orjson.loads(path.read_bytes()), "")
    ]
    assert unbounded == []


def _unbounded_numbers(node: Any, path: str) -> list[str]:
    """Paths of integer or number schemas without a maximum (nor an enum or const)."""
    found: list[str] = []
    if isinstance(node, dict):
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if {"integer", "number"} & set(kinds) and not {"maximum", "exclusiveMaximum", "enum", "const"} & set(node):
            found.append(path)
        for key, value in node.items():
            found += _unbounded_numbers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _unbounded_numbers(value, f"{path}[{index}]")
    return found


def test_every_integer_input_has_a_maximum() -> None:
    inputs = [*schemas_dir().glob("*.input.json"), *schemas_dir().glob("*_filters.json")]
    assert len(inputs) > 20
    unbounded = [
        f"{path.name}{where}"
        for path in sorted(inputs)
        for where in _unbounded_numbers(orjson.loads(path.read_bytes()), "")
    ]
    assert unbounded == []
    assert _unbounded_numbers({"properties": {"n": {"type": ["integer", "null"]}}}, "") == ["/properties/n"]


def test_a_huge_limit_is_exit_2_not_an_internal_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connector", "run", "get-threats", "--sandbox-url", "http://127.0.0.1:9",
         "--vendor", "sentinelone", "--input", '{"limit": ' + "1" + "0" * 30 + "}"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "CONNECTOR_CONFIG": ""},
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "connector: input.limit: 1e+30 is greater than the maximum of 10000000 (rule: maximum)"
    )


def test_a_search_longer_than_its_bound_is_refused_before_any_request() -> None:
    with pytest.raises(BadInput) as caught:
        default_host().schemas.validate("get_threats.input.json", {"search": "a" * 70_000}, "input")
    assert caught.value.message.startswith("input.search: 'aaaa")
    assert caught.value.message.endswith("… (a string of 70000 characters) is too long (rule: maxLength)")
