"""The one description both exports come from: naming and type rules, and text back to JSON values."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from connector.errors import BadInput
from connector.export import render
from connector.export.description import Param, camel, describe, kind_of, parameter_name, parse_value
from connector.plugins import default_host


def test_every_action_and_every_input_property_is_described() -> None:
    host = default_host()
    description = describe(host)
    assert [action.name for action in description.actions] == sorted(host.actions)
    create = description.action("create_incident")
    names = [param.name for param in create.params]
    assert names[:3] == ["name", "description", "ref_id"] and "from_threat" in names
    listing = {param.name: param for param in description.action("list_incidents").params}
    assert {"severity", "status", "search", "since", "limit"} <= set(listing)
    assert description.action("get_threats").vendors == ("sentinelone", "mysecutec")
    assert description.vendors["ciso_assistant"] == "CISO Assistant"


def test_naming_rules() -> None:
    assert (camel("get_threats"), camel("ciso_assistant")) == ("GetThreats", "CisoAssistant")
    assert (parameter_name("from"), parameter_name("limit")) == ("from_", "limit")


@pytest.mark.parametrize(
    ("schema", "kind", "options"),
    [
        ({"type": "string", "format": "date-time"}, "string", ()),
        ({"type": ["string", "null"]}, "string", ()),
        ({"type": "integer", "minimum": 1}, "integer", ()),
        ({"type": "boolean"}, "boolean", ()),
        ({"enum": ["low", 1, None]}, "choice", ("low", "1")),
        ({"type": "array", "items": {"enum": ["new", "closed"]}}, "list", ("new", "closed")),
        ({"type": "array", "items": {"$ref": "#/$defs/uuid"}}, "list", ()),
        ({"type": "array", "items": {"type": "object"}}, "json", ()),
        ({"$ref": "threat.json"}, "json", ()),
        ({"type": "object"}, "json", ()),
    ],
)
def test_type_rules(schema: dict[str, Any], kind: str, options: tuple[str, ...]) -> None:
    assert kind_of(schema, {"uuid": {"type": "string", "format": "uuid"}}) == (kind, options)


def param(kind: Any, options: tuple[str, ...] = ()) -> Param:
    return Param(name="x", property="x", description="", required=False, kind=kind, options=options)


@pytest.mark.parametrize(
    ("kind", "options", "text", "value"),
    [
        ("string", (), " a b ", "a b"),
        ("integer", (), "12", 12),
        ("number", (), "1.5", 1.5),
        ("boolean", (), "True", True),
        ("choice", ("high", "2"), "2", 2),
        ("choice", ("high", "2"), "high", "high"),
        ("choice", ("high",), "other", "other"),
        ("list", (), "a, b,,c", ["a", "b", "c"]),
        ("list", ("low", "1"), "low,1", ["low", 1]),
        ("list", (), '["1", "2"]', ["1", "2"]),
        ("json", (), '{"a": [1]}', {"a": [1]}),
        ("json", (), {"already": "parsed"}, {"already": "parsed"}),
    ],
)
def test_text_back_to_json_values(kind: str, options: tuple[str, ...], text: Any, value: Any) -> None:
    assert parse_value(param(kind, options), text) == value


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("integer", "ten", "input.x: 'ten' is not an integer"),
        ("number", "1,5", "input.x: '1,5' is not a number"),
        ("boolean", "yes", "input.x: 'yes' is not true or false"),
        ("json", "{a", "input.x: '{a' is not JSON"),
        ("list", "[1,", "input.x: '[1,' is not a comma-separated list or a JSON array"),
    ],
)
def test_bad_text_names_the_field_and_the_rule(kind: str, text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_value(param(kind), text)
    assert caught.value.message == message


def test_both_platforms_show_the_same_parameter_the_same_way() -> None:
    api = yaml.safe_load(render("shuffle")["connector/0.1.0/api.yaml"])
    update = next(action for action in api["actions"] if action["name"] == "update_threat_status")
    status = next(field for field in update["parameters"] if field["name"] == "status")
    definition = yaml.safe_load(render("cortex")["responders/Connector/Connector_Sentinelone_UpdateThreatStatus.json"])
    item = next(item for item in definition["configurationItems"] if item["name"] == "status")
    options = ["new", "in_progress", "resolved", "false_positive", "accepted", "suppressed", "closed"]
    assert (status["options"], status["required"], status["schema"]) == (options, False, {"type": "string"})
    assert item["description"] == status["description"] + " One of: " + ", ".join(options) + "."
    names = [field["name"] for field in update["parameters"]]
    assert names == ["vendor", "ids", "status", "vendor_status", "verdict", "note", "dry_run"]
    auth = [field["name"] for field in api["authentication"]["parameters"]]
    assert auth == ["url", "apikey", "verify_tls"]
