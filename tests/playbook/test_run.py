"""Playbooks: the engine (order, concurrency, when, on_error, outputs), no template injection, the Python API."""

from __future__ import annotations

import httpx
import pytest

import connector
from connector import api
from connector.errors import BadInput
from connector.playbook import PlaybookResult, run_playbook
from tests.playbook.conftest import World, alerts, ping


def test_steps_chain_outputs_into_inputs_and_outputs(world: World) -> None:
    result = world.play(
        [alerts(), ping("echo", "${{ steps.alerts.output.threats[?severity == 'critical'] | [0].title }}"),
         ping("count", "first of ${{ steps.alerts.output.count }}: ${{ inputs.word }}")],
        {"word": "hello"},
        inputs={"type": "object", "properties": {"word": {"type": "string"}, "n": {"type": "integer", "default": 7}}},
        outputs={"titles": "steps.alerts.output.threats[].title", "pong": "${{ steps.echo.output.pong }}",
                 "n": "inputs.n", "status": "steps.count.status"},
    )
    assert result.status == "success" and result.exit_code == 0
    assert [step.status for step in result.steps] == ["success", "success", "success"]
    assert world.api.pings == ["Beacon", "first of 2: hello"]
    assert result.outputs == {"titles": ["Beacon", "Dropper"], "pong": "Beacon", "n": 7, "status": "success"}
    assert result.step("alerts").envelopes[0].vendor == "acme"
    assert result.summary.model_dump() == {
        "steps": {"success": 3}, "runs": 3, "requests": 3, "duration_ms": result.summary.duration_ms,
    }


def test_inputs_are_validated_against_their_schema(world: World) -> None:
    inputs = {"type": "object", "required": ["word"], "properties": {"word": {"type": "string", "minLength": 2}}}
    with pytest.raises(BadInput, match=r"^inputs.word: 'x' is too short"):
        world.play([ping("p", "${{ inputs.word }}")], {"word": "x"}, inputs=inputs)
    assert world.api.pings == []


def test_for_each_keeps_input_order_with_bounded_concurrency(world: World) -> None:
    words = ["w40", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]  # the first takes longest, and finishes last
    result = world.play([ping("each", "${{ item }}", for_each=words, concurrency=3)])
    each = result.step("each")
    assert [envelope.output["pong"] for envelope in each.envelopes] == words
    assert each.output == {"items": [{"pong": word} for word in words]}
    assert world.api.most_in_flight == 3
    assert sorted(world.api.finished) == sorted(words) and world.api.finished[-1] == "w40"


def test_concurrency_option_applies_to_steps_that_set_none(world: World) -> None:
    world.play([ping("each", "${{ item }}", for_each=["w3", "w3", "w3", "w3", "w3"])], concurrency=2)
    assert world.api.most_in_flight == 2


def test_when_skips_a_step_and_later_steps_see_it(world: World) -> None:
    result = world.play(
        [alerts(), ping("never", "x", when="steps.alerts.output.count > `5`"),
         ping("after", "skipped: ${{ steps.never.status }}", when="${{ steps.never.status == 'skipped' }}"),
         ping("empty", "${{ item }}", for_each="steps.alerts.output.threats[?severity == 'low'].title"),
         ping("zero", "zero is true", when="`0`")],
        outputs={"never": "steps.never.output.pong"},
    )
    assert [step.status for step in result.steps] == ["success", "skipped", "success", "success", "success"]
    assert result.step("never").envelopes == [] and result.step("empty").envelopes == []
    assert world.api.pings == ["skipped: skipped", "zero is true"]
    assert result.outputs == {"never": None}
    assert result.status == "success"


def test_a_failed_step_stops_the_run_by_default(world: World) -> None:
    result = world.play([alerts(), ping("boom", "fail"), ping("after", "x")],
                        outputs={"n": "steps.alerts.output.count"})
    assert [step.status for step in result.steps] == ["success", "failed", "not_run"]
    assert (result.status, result.exit_code) == ("failed", 1)
    assert result.step("alerts").envelopes[0].output["count"] == 2, "what ran is still reported"
    assert result.step("boom").envelopes[0].errors[0].message == "acme: GET /ping: 400 Bad Request"
    assert result.outputs == {"n": 2}
    assert world.api.pings == ["fail"]


def test_on_error_continue_goes_on_and_ends_partial(world: World) -> None:
    result = world.play([alerts(), ping("boom", "fail", on_error="continue"),
                         ping("after", "boom ${{ steps.boom.status }}")])
    assert [step.status for step in result.steps] == ["success", "failed", "success"]
    assert (result.status, result.exit_code) == ("partial", 3)
    assert world.api.pings == ["fail", "boom failed"]


def test_some_failed_items_make_a_step_partial_and_all_failed_make_it_fail(world: World) -> None:
    result = world.play([ping("some", "${{ item }}", for_each=["ok", "fail1", "ok2"]), ping("after", "x"),
                         ping("all", "${{ item }}", for_each=["fail2", "fail3"]), ping("never", "y")])
    assert [step.status for step in result.steps] == ["partial", "success", "failed", "not_run"]
    assert [envelope.status for envelope in result.step("some").envelopes] == ["success", "failed", "success"]
    assert result.step("some").output == {"items": [{"pong": "ok"}, {}, {"pong": "ok2"}]}
    assert result.exit_code == 1


def test_an_input_that_fails_to_evaluate_fails_its_run_only(world: World) -> None:
    result = world.play([ping("bad", "n=${{ length(item) }}", for_each=["abc", 5], on_error="continue"),
                         ping("when", "x", when="length(inputs.number)", on_error="continue"),
                         ping("skip", "y", when="inputs.missing")], {"number": 1})
    envelopes = result.step("bad").envelopes
    assert [envelope.status for envelope in envelopes] == ["success", "failed"]
    assert envelopes[1].errors[0].message.startswith("input: `length(item)`: In function length(), invalid type")
    assert result.step("when").envelopes[0].errors[0].message.startswith("when: `length(inputs.number)`: In function")
    assert [step.status for step in result.steps] == ["partial", "failed", "skipped"]
    assert world.api.pings == ["n=3"]


def test_vendor_values_holding_expressions_stay_data(world: World) -> None:
    world.api.alerts = [{"id": "a1", "name": "${{ inputs }}", "sev": "sev1"},
                        {"id": "a2", "name": "x ${{ inputs.secret }} y", "sev": "sev2"}]
    result = world.play(
        [alerts(), ping("whole", "${{ steps.alerts.output.threats[0].title }}"),
         ping("mixed", "title=${{ steps.alerts.output.threats[0].title }}"),
         ping("each", "${{ item.title }}", for_each="steps.alerts.output.threats"),
         ping("again", "${{ steps.whole.output.pong }}")],
        {"secret": "s3cr3t"},
        outputs={"titles": "steps.alerts.output.threats[].title"},
    )
    assert result.status == "success"
    assert world.api.pings[:2] == ["${{ inputs }}", "title=${{ inputs }}"]
    assert sorted(world.api.pings[2:4]) == sorted(["${{ inputs }}", "x ${{ inputs.secret }} y"])
    assert world.api.pings[4] == "${{ inputs }}"
    assert result.outputs == {"titles": ["${{ inputs }}", "x ${{ inputs.secret }} y"]}
    assert not any("s3cr3t" in ping for ping in world.api.pings)


def test_input_values_holding_expressions_stay_data(world: World) -> None:
    result = world.play([ping("p", "${{ inputs.text }}")], {"text": "${{ steps }}"})
    assert world.api.pings == ["${{ steps }}"] and result.status == "success"


def test_the_package_exports_the_python_api() -> None:
    assert sorted(connector.__all__) == sorted(
        ["Envelope", "PlaybookResult", "__version__", "arun_action", "arun_playbook", "astream_action", "run_action",
         "run_playbook", "stream_action"]
    )
    for name in connector.__all__:
        assert getattr(connector, name) is not None
    assert connector.run_playbook is run_playbook
    assert connector.run_action is api.run_action
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = connector.nope


def test_run_playbook_is_the_synchronous_api(world: World) -> None:
    result = run_playbook(
        {"name": "sync", "steps": [ping("p", "${{ inputs.w }}")]}, {"w": "sync"},
        host=world.host, config=world.config, transport=httpx.MockTransport(world.api),
    )
    assert isinstance(result, PlaybookResult) and result.outputs == {}
    assert result.step("p").output == {"pong": "sync"}
