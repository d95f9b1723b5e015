"""What `playbook check` used to let through to fail at run time, and error lines that quote vendor data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.errors import InternalError
from connector.playbook import PlaybookInvalid, load_checked, run_playbook
from connector.playbook import run as playbook_run
from connector.plugins import default_host
from connector.sandbox import SandboxConfig, running_sandbox

SANDBOX_SMALL = {"sentinelone": 20}


def problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(PlaybookInvalid) as caught:
        load_checked({"name": "t", **document}, default_host(), sandbox=True)
    return caught.value.problems


def step(**input: Any) -> dict[str, Any]:
    return {"id": "a", "action": "get_threats", "input": input}


def test_unknown_jmespath_functions_and_wrong_arities_are_found() -> None:
    assert problems({"steps": [step(
        limit="${{ lenght(`[1]`) }}", search="${{ join(',') }}", asset="${{ foo_bar(`1`) }}",
    )]}) == [
        "step a: input.limit: lenght(): not a JMESPath function (did you mean length()? "
        "see https://jmespath.org/specification.html)",
        "step a: input.search: join(): takes 2 arguments, not 1",
        "step a: input.asset: foo_bar(): not a JMESPath function (did you mean floor()? "
        "see https://jmespath.org/specification.html)",
    ]


def test_known_functions_with_variadic_and_expression_arguments_pass() -> None:
    load_checked({"name": "t", "steps": [
        step(limit=2),
        {"id": "b", "action": "get_threats", "input": {
            "search": "${{ join(',', steps.a.output.threats[].uid) }}",
            "asset": "${{ not_null(steps.a.output.threats[0].uid, 'x', 'y') }}",
        }, "when": "length(steps.a.output.threats) > `0` && max_by(steps.a.output.threats, &score) != `null`"},
    ]}, default_host(), sandbox=True)


def test_every_unresolvable_ref_in_the_inputs_is_found() -> None:
    inputs = {
        "type": "object",
        "$defs": {"known": {"type": "string"}},
        "properties": {
            "a": {"$ref": "nope.json"},
            "b": {"$ref": "#/$defs/missing"},
            "c": {"items": {"$ref": "threat.json#/properties/nowhere"}},
            "d": {"$ref": "#/$defs/known"},
            "e": {"$ref": "threat.json"},
        },
    }
    assert problems({"inputs": inputs, "steps": [step()]}) == [
        "inputs: $ref 'nope.json': not a known schema (see schemas/)",
        "inputs: $ref '#/$defs/missing': the part after # names nothing in that schema",
        "inputs: $ref 'threat.json#/properties/nowhere': the part after # names nothing in that schema",
    ]


def test_a_type_error_quotes_the_vendor_data_short(tmp_path: Path) -> None:
    book = tmp_path / "b.yaml"
    book.write_text(
        "name: t\nsteps:\n"
        "  - {id: a, action: get_threats, input: {limit: 2}}\n"
        "  - {id: b, action: get_threats, input: {search: '${{ steps.a.output.threats }}'}}\n"
    )
    with running_sandbox(SandboxConfig(vendors=("sentinelone",), sizes=SANDBOX_SMALL)) as url:
        result = run_playbook(book, sandbox=url)
    message = result.steps[1].envelopes[0].errors[0].message
    assert message.startswith("input.search: [{") and len(message) < 200
    assert message.endswith("… (a list of 2 objects) is not of type 'string' (rule: type)")


def test_a_bug_in_a_step_fails_that_step_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object, **options: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(playbook_run, "deliver", broken)
    result = run_playbook({"name": "t", "steps": [step(limit=1)]}, sandbox="http://127.0.0.1:9")
    assert (result.status, result.exit_code) == ("failed", 1)
    error = result.steps[0].envelopes[0].errors[0]
    assert (error.type, error.message) == (
        "internal", "internal error: ZeroDivisionError: division by zero (please report; -vv shows the traceback)"
    )


def test_a_bug_before_the_steps_is_an_internal_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **options: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'steps'")

    monkeypatch.setattr(playbook_run, "load_checked", broken)
    with pytest.raises(InternalError) as caught:
        run_playbook({"name": "t", "steps": [step()]})
    assert caught.value.exit_code == 1
    assert caught.value.message.startswith("internal error: AttributeError: 'NoneType' object has no attribute")


DEEP_EXPRESSION = "(" * 3000 + "threats" + ")" * 3000


@pytest.mark.parametrize(
    "expression", [DEEP_EXPRESSION, "!" * 100 + "a", " || ".join(["a"] * 2000), "[" * 100 + "]" * 100]
)
def test_deeply_nested_jmespath_names_the_limit(expression: str) -> None:
    found = problems({"steps": [step(ids=f"${{{{ {expression} }}}}")], "outputs": {"o": expression}})
    assert len(found) == 2
    assert found[0].startswith("step a: input.ids: '") and found[0].endswith(": nested deeper than 64 levels")
    assert found[1].startswith("outputs.o: '") and found[1].endswith(": nested deeper than 64 levels")
    assert all(len(line) < 200 for line in found)


def test_a_3000_deep_playbook_input_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: t\nsteps:\n  - id: a\n    action: get_threats\n    input: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(PlaybookInvalid) as caught:
        load_checked(path, default_host(), sandbox=True)
    assert caught.value.problems == ["playbook deep.yaml: nested deeper than 64 levels"]
    nested: Any = 1
    for _ in range(3000):
        nested = {"x": nested}
    with pytest.raises(PlaybookInvalid) as caught:
        load_checked({"name": "t", "steps": [step(filter=nested)]}, default_host(), sandbox=True)
    assert caught.value.problems == ["playbook: nested deeper than 64 levels"]
