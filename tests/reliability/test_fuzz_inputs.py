"""Fuzzing action inputs through `connector run`: valid inputs generated from each action's input
schema (its vendor's filter schema in ``vendor_filters``), and mutations of them. Every case ends
with exit 0, 2 or 3 (1 only for what the vendor refused), one envelope or one error line, never a
traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from connector.plugins import default_host
from tests.reliability.support import COUNTS, SETTINGS, check_outcome, inlined, run_cli

HOST = default_host()
PAIRS = sorted((spec.name, vendor) for spec in HOST.actions.values() for vendor in spec.vendors)
EXAMPLES = 8
"""Cases per action and vendor: about 200 in all, some 40 seconds on one core."""
VENDOR_KINDS = frozenset({"vendor", "auth", "retriable", "bad_answer"})
"""Error types of a run the vendor failed (a random id it does not hold): the one reason for exit 1."""

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
"""Any JSON value, small."""


def input_schema(action: str, vendor: str) -> dict[str, Any]:
    """The action's input schema, self-contained, with the vendor's own filters in ``vendor_filters``."""
    spec = HOST.action(action)
    schema: dict[str, Any] = inlined(HOST.schemas.get(spec.input), HOST.schemas, spec.input)
    filters = spec.vendors[vendor].vendor_filters
    if filters:
        schema["properties"]["vendor_filters"] = inlined(HOST.schemas.get(filters), HOST.schemas, filters)
    return schema


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A valid input with one thing wrong: a key dropped, a value replaced, a key added, a value
    made huge or deep, or not an object at all."""
    document = dict(draw(valid))
    how = draw(st.sampled_from(["drop", "replace", "add", "huge", "deep", "not_object"]))
    keys = sorted(document)
    if how == "drop" and keys:
        document.pop(draw(st.sampled_from(keys)))
    elif how == "replace" and keys:
        document[draw(st.sampled_from(keys))] = draw(JSON)
    elif how == "add":
        document[draw(st.text(min_size=1, max_size=12))] = draw(JSON)
    elif how == "huge":
        document[draw(st.sampled_from(keys)) if keys else "search"] = "x" * draw(st.sampled_from([1001, 70_000]))
    elif how == "deep":
        document[draw(st.sampled_from(keys)) if keys else "vendor_filters"] = [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]
    else:
        return draw(JSON.filter(lambda value: not isinstance(value, dict)))
    return document


@pytest.mark.parametrize(("action", "vendor"), PAIRS)
def test_every_action_input_ends_cleanly(sandbox_url: str, action: str, vendor: str) -> None:
    valid = from_schema(input_schema(action, vendor))

    @settings(max_examples=EXAMPLES, **SETTINGS)
    @given(document=st.one_of(valid, mutated(valid)))
    def case(document: Any) -> None:
        COUNTS["fuzz: action inputs (cases)"] += 1
        text = json.dumps(document)  # json, not orjson: integers beyond 64 bits are a case too
        outcome = run_cli(
            "run", action, "--sandbox-url", sandbox_url, "--vendor", vendor, "--input", text, "--no-progress"
        )
        envelope = check_outcome(outcome, allowed=frozenset({0, 1, 2, 3}), envelope=True)
        if outcome.code == 1:
            assert envelope is not None
            kinds = {error["type"] for error in envelope["errors"] if not error.get("item")}
            assert kinds <= VENDOR_KINDS, envelope["errors"]
        COUNTS[f"fuzz: action inputs exit {outcome.code}"] += 1

    case()
