"""Playbooks: templates, the static check, the engine (order, concurrency, when, on_error, outputs),
no template injection, the CLI, the Python API and the examples against the sandbox."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import connector_acme as acme
import httpx
import orjson
import pytest
from click.testing import CliRunner

import connector
from connector import runner
from connector.cli import cli
from connector.errors import BadInput
from connector.playbook import PlaybookInvalid, PlaybookResult, arun_playbook, load_checked, run_playbook
from connector.playbook.expressions import compile_template, render
from connector.plugins import Host
from connector.sandbox import SandboxConfig, build_app, running_sandbox

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = Path(__file__).parent / "playbooks"
LOOPBACK = "http://127.0.0.1"  # the sandbox's base URL when its app is reached through an ASGI transport
SMALL = {"sentinelone": 120, "mysecutec": 120, "ciso_assistant": 10}


@dataclass
class AcmeApi:
    """Acme behind a mock transport: alerts to list; pings that echo, fail ("fail...") or take
    ``<digits>`` hundredths of a second, with the most pings ever in flight at once."""

    alerts: list[dict[str, Any]] = field(default_factory=lambda: [
        {"id": "a1", "name": "Beacon", "sev": "sev1"}, {"id": "a2", "name": "Dropper", "sev": "sev2"},
    ])
    pings: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/alerts":
            return httpx.Response(200, json={"alerts": self.alerts})
        echo = request.url.params["echo"]
        self.pings.append(echo)
        if echo.startswith("fail"):
            return httpx.Response(400, json={"detail": "no such word"})
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(int("0" + "".join(filter(str.isdigit, echo))) / 100)
        self.in_flight -= 1
        self.finished.append(echo)
        return httpx.Response(200, json={"pong": echo})


@dataclass
class World:
    host: Host
    config: Path
    api: AcmeApi

    def play(self, steps: list[dict[str, Any]], values: dict[str, Any] | None = None, **book: Any) -> PlaybookResult:
        """Run a playbook of ``steps`` (``book`` adds inputs, outputs...) with input ``values``."""
        options = {key: book.pop(key) for key in ("concurrency", "dry_run") if key in book}
        document = {"name": "test", "steps": steps, **book}
        return asyncio.run(arun_playbook(
            document, values, host=self.host, config=self.config, transport=httpx.MockTransport(self.api), **options,
        ))

    def problems(self, steps: list[dict[str, Any]], *, sandbox: bool = False, **book: Any) -> list[str]:
        with pytest.raises(PlaybookInvalid) as caught:
            load_checked({"name": "test", "steps": steps, **book}, self.host, config=self.config, sandbox=sandbox)
        return caught.value.problems


@pytest.fixture(scope="module")
def acme_host() -> Host:
    return Host([acme], entry_points=False)


@pytest.fixture
def world(acme_host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("ACME_TOKEN", "acme-secret-value")
    config = tmp_path / "connections.yaml"
    config.write_text(
        "connections:\n  acme1: {vendor: acme, base_url: 'https://acme.example', secret: 'env:ACME_TOKEN'}\n"
    )
    return World(acme_host, config, AcmeApi())


def alerts(**extra: Any) -> dict[str, Any]:
    return {"id": "alerts", "action": "get_threats", "connection": "acme1", **extra}


def ping(step_id: str, echo: Any, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "acme_ping", "connection": "acme1", "input": {"echo": echo}, **extra}


# --- templates ---------------------------------------------------------------------------------

def test_a_whole_expression_keeps_its_type_and_mixed_text_interpolates() -> None:
    template = compile_template({
        "list": "${{ numbers }}", "object": "${{ thing }}", "number": "${{ thing.k }}", "missing": "${{ nothing }}",
        "text": "n=${{ numbers }} k=${{ thing.k }} none=${{ nothing }}!", "plain": "no expression",
        "deep": ["${{ word }}"], "braces": "${{ {a: thing.k} }}", "quoted": "${{ 'a }} b' }}",
    })
    scope = {"numbers": [1, 2], "thing": {"k": 3}, "word": "hi"}
    assert render(template, scope) == {
        "list": [1, 2], "object": {"k": 3}, "number": 3, "missing": None,
        "text": "n=[1,2] k=3 none=!", "plain": "no expression", "deep": ["hi"],
        "braces": {"a": 3}, "quoted": "a }} b",
    }


# --- the static check --------------------------------------------------------------------------

def test_check_reports_schema_errors_naming_the_step_and_field(world: World) -> None:
    bad = [alerts(), {**ping("Bad", "x"), "on_error": "halt", "extra": 1}, {"action": "acme_ping"}]
    assert world.problems(bad) == [
        "step Bad: Additional properties are not allowed ('extra' was unexpected) (rule: additionalProperties)",
        "step Bad: id: 'Bad' does not match '^[a-z][a-z0-9_]*$' (rule: pattern)",
        "step Bad: on_error: 'halt' is not one of ['stop', 'continue'] (rule: enum)",
        "playbook.steps[2]: 'id' is a required property (rule: required)",
    ]
    with pytest.raises(PlaybookInvalid, match=r"^playbook: 'steps' is a required property \(rule: required\)$"):
        load_checked({"name": "no steps"}, world.host)


def test_check_reports_yaml_that_does_not_parse(world: World, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps: [\n")
    with pytest.raises(PlaybookInvalid, match=r"^playbook bad.yaml line 3: not valid YAML$"):
        load_checked(path, world.host)


def test_check_reports_unknown_actions_connections_and_vendors(world: World) -> None:
    assert world.problems([
        {"id": "a", "action": "get_threatz", "connection": "acme1"},
        {"id": "b", "action": "acme_ping", "connection": "nowhere", "input": {"echo": "x"}},
        {"id": "c", "action": "acme_ping", "input": {"echo": "x"}},
        {"id": "d", "action": "acme_ping", "connection": "acme1", "vendor": "sentinelone", "input": {"echo": "x"}},
        {"id": "e", "action": "list_events", "connection": "acme1"},
        {"id": "f", "action": "get_threats", "vendor": "zz", "connection": "sandbox"},
        {"id": "b", "action": "acme_ping", "connection": "acme1", "input": {"echo": "x"}},
    ]) == [
        "step b: id: used by an earlier step (ids must be unique)",
        "step a: action: 'get_threatz' is not known (see `connector list`); did you mean 'get_threats'?",
        f"step b: connection: 'nowhere' is not defined in {world.config} (known: acme1)",
        "step c: connection: missing (name one from the connections file, or run with --sandbox)",
        "step d: vendor: 'sentinelone' does not match connection 'acme1' (vendor acme)",
        "step d: vendor: action acme_ping has no binding for 'sentinelone' (bound: acme)",
        "step e: vendor: action list_events has no binding for 'acme' (bound: nameshield, mysecutec)",
        "step f: vendor: 'zz' is not known (known: acme, ciso_assistant, mysecutec, nameshield, sentinelone)",
    ]


def test_with_sandbox_steps_need_no_connection_and_named_ones_need_no_file(world: World) -> None:
    _compiled, targets = load_checked(
        {"name": "t", "steps": [
            {"id": "a", "action": "get_threats", "vendor": "mysecutec"},
            {"id": "b", "action": "get_threats", "connection": "prod_s1"},
        ]},
        world.host, config=world.config.parent / "absent.yaml", sandbox=True,
    )
    assert [(target.connection, target.vendor) for target in targets] == [(None, "mysecutec"), (None, "sentinelone")]


def test_check_reports_references_to_unknown_later_and_own_steps(world: World) -> None:
    assert world.problems([
        alerts(),
        ping("p", "${{ steps.nope.output.pong }}"),
        ping("q", "${{ steps.r.output.pong }}"),
        ping("r", "${{ steps.r.output.pong }}"),
        ping("s", "${{ alerts.output }} ${{ steps.alerts.outputs }} ${{ item }}"),
    ]) == [
        "step p: input.echo: steps.nope: no step 'nope' (steps: alerts, p, q, r, s)",
        "step q: input.echo: steps.r: step 'r' runs later (steps run in file order)",
        "step r: input.echo: steps.r: a step cannot refer to its own output",
        "step s: input.echo: alerts: not in scope (expressions start with inputs, steps or item)",
        "step s: input.echo: steps.alerts.outputs: a step has only output and status",
        "step s: input.echo: item: only defined in the input of a step with for_each",
    ]


def test_check_follows_fields_through_filters_projections_indexes_and_refs(world: World) -> None:
    out = "steps.alerts.output"
    assert world.problems([
        alerts(),
        ping("a", f"${{{{ {out}.threatz }}}}"),
        ping("b", f"${{{{ {out}.threats[?severity == 'high'].titel }}}}"),
        ping("c", f"${{{{ {out}.threats[0].resources[].hostnme }}}}"),
        ping("d", f"${{{{ {out}.threats.uid }}}}"),
        ping("e", f"${{{{ {out}.count[0] }}}}"),
        ping("f", "${{ steps.alerts.status.code }}"),
        ping("g", f"${{{{ sort_by({out}.threats, &severity_idd)[0].uid }}}}"),
        ping("h", f"${{{{ {out}.threats[*].attacks[].technique_uid | [0] }}}} ${{{{ length({out}.threats) }}}}"),
        {"id": "i", "action": "list_events", "vendor": "nameshield", "connection": "sandbox",
         "input": {"search": "${{ steps.alerts.output.threats[0].indicators[0].dns_records[0].country_cod }}"}},
    ], outputs={"n": f"{out}.cnt", "ok": f"{out}.threats[].vendor_id"}) == [
        f"step a: input.echo: {out}.threatz: no field 'threatz' in get_threats output (did you mean 'threats'?)",
        f"step b: input.echo: {out}.threats[].titel: no field 'titel' in Threat (did you mean 'title'?)",
        f"step c: input.echo: {out}.threats[].resources[].hostnme: no field 'hostnme' in Resource "
        "(did you mean 'hostname'?)",
        f"step d: input.echo: {out}.threats.uid: {out}.threats is a list, it has no fields "
        f"(use {out}.threats[].uid for each item, or {out}.threats[0].uid)",
        f"step e: input.echo: {out}.count is an integer, not a list",
        "step f: input.echo: steps.alerts.status.code: steps.alerts.status is a string, it has no fields",
        f"step g: input.echo: {out}.threats[].severity_idd: no field 'severity_idd' in Threat "
        "(did you mean 'severity_id'?)",
        f"step i: input.search: {out}.threats[].indicators[].dns_records[].country_cod: no field 'country_cod' "
        "in DnsRecord (did you mean 'country_code'?)",
        f"outputs.n: {out}.cnt: no field 'cnt' in get_threats output (did you mean 'count'?)",
    ]


def test_check_knows_for_each_items_and_the_items_output(world: World) -> None:
    assert world.problems([
        alerts(),
        ping("each", "${{ item.title }}", for_each="steps.alerts.output.threats[?severity == 'critical']"),
        ping("typo", "${{ item.titl }}", for_each="steps.alerts.output.threats"),
        ping("a", "${{ steps.each.output.items[].pong | join(',', @) }}"),
        ping("b", "${{ steps.each.output.items[].pongg }}"),
        ping("c", "${{ steps.each.output.pong }}"),
        ping("d", "x", for_each="steps.alerts.output.count"),
        ping("e", "x", for_each="list: ${{ steps.alerts.output.threats }}"),
        ping("f", "x", for_each=["literal", "items"], when="${{ item }}"),
        ping("g", "${{ item.titel }}", for_each="[steps.alerts.output.threats, steps.alerts.output.threats][]"),
    ]) == [
        "step typo: input.echo: item.titl: no field 'titl' in Threat (did you mean 'title'?)",
        "step b: input.echo: steps.each.output.items[].pongg: no field 'pongg' in acme_ping.output.json "
        "(did you mean 'pong'?)",
        "step c: input.echo: steps.each.output.pong: a for_each step's output has only items "
        "(use steps.each.output.items[].pong)",
        "step d: for_each: steps.alerts.output.count is an integer, not a list",
        "step e: for_each: must be a single expression or a list, not text around ${{ }}",
        "step f: when: item: only defined in the input of a step with for_each, not in its for_each or when",
        "step g: input.echo: item.titel: no field 'titel' in Threat (did you mean 'title'?)",
    ]


def test_check_validates_the_literal_input_and_excuses_what_expressions_give(world: World) -> None:
    sandbox = {"vendor": "sentinelone", "connection": "sandbox"}
    problems = world.problems([
        {"id": "a", "action": "get_threats", **sandbox, "input": {"severity": ["severe"], "limit": "${{ inputs.n }}"}},
        {"id": "b", "action": "get_threats", **sandbox, "input": {"bogus": 1}},
        {"id": "c", "action": "acme_ping", "connection": "acme1"},
        {"id": "d", "action": "acme_ping", "connection": "acme1", "input": {"echoo": "${{ inputs.x }}"}},
        {"id": "e", "action": "update_threat_status", **sandbox, "input": {"ids": "${{ inputs.ids }}"}},
        {"id": "f", "action": "update_threat_status", **sandbox,
         "input": {"ids": "${{ inputs.ids }}", "status": "done"}},
        {"id": "g", "action": "get_threats", **sandbox, "input": {"vendor_filters": {"nope": 1}}},
        {"id": "h", "action": "acme_ping", "connection": "acme1", "input": {"echo": "${{ a[?b== }}"}},
    ])
    # update_threat_status's own schema may grow: its lines are matched loosely.
    anyof, status = problems.pop(6), problems.pop(6)
    assert re.fullmatch(r"step e: input: needs one of 'status', 'vendor_status'(, '\w+')* \(rule: anyOf\)", anyof)
    assert status.startswith("step f: input.status: 'done' is not one of ['new', 'in_progress', ")
    assert problems == [
        "step h: input.echo: `a[?b==`: not a valid JMESPath expression: Incomplete expression",
        "step a: input.severity[0]: 'severe' is not one of ['unknown', 'informational', 'low', 'medium', 'high', "
        "'critical'] (rule: enum)",
        "step b: input: Additional properties are not allowed ('bogus' was unexpected) (rule: additionalProperties)",
        "step c: input: 'echo' is a required property (rule: required)",
        "step d: input: 'echo' is a required property (rule: required)",
        "step d: input.echoo: no field 'echoo' in acme_ping.input.json (did you mean 'echo'?)",
        "step g: input.vendor_filters: Additional properties are not allowed ('nope' was unexpected) "
        "(rule: additionalProperties)",
    ]


def test_check_excuses_if_then_required_when_an_expression_gives_the_deciding_field(world: World) -> None:
    incident = {"action": "create_incident", "vendor": "ciso_assistant", "connection": "sandbox"}
    assert world.problems([
        {"id": "a", **incident, "input": {"from_threat": "${{ inputs.threat }}", "status": "in_progress"}},
        {"id": "b", **incident, "input": {"description": "no name, no threat"}},
    ]) == ["step b: input: 'name' is a required property (rule: required)"]


def test_check_uses_the_declared_inputs_schema(world: World) -> None:
    inputs = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert world.problems([ping("a", "${{ inputs.m }}")], inputs=inputs) == [
        "step a: input.echo: inputs.m: no field 'm' in playbook inputs (declared: n)",
    ]
    assert world.problems([ping("a", "x")], inputs={"type": "objectt"})[0].startswith(
        "inputs: not a valid JSON Schema: 'objectt' is not valid"
    )


def test_the_examples_pass_the_check(acme_host: Host) -> None:
    for name, steps in (("triage.yaml", 5), ("domain-watch.yaml", 2), ("threat-to-incident.yaml", 1)):
        compiled, targets = load_checked(ROOT / "examples" / name, acme_host, sandbox=True)
        assert len(compiled.steps) == steps
        assert all(target.connection is None for target in targets), "every step runs in the sandbox"


def test_a_playbook_with_problems_sends_nothing(world: World) -> None:
    with pytest.raises(PlaybookInvalid) as caught:
        world.play([alerts(), ping("p", "${{ steps.alerts.output.threatz }}")])
    assert caught.value.exit_code == 2
    assert world.api.pings == []


# --- running -----------------------------------------------------------------------------------

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


# --- no template injection ---------------------------------------------------------------------

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


# --- Python API --------------------------------------------------------------------------------

def test_the_package_exports_the_python_api() -> None:
    assert sorted(connector.__all__) == sorted(
        ["Envelope", "PlaybookResult", "__version__", "arun_action", "arun_playbook", "astream_action", "run_action",
         "run_playbook", "stream_action"]
    )
    for name in connector.__all__:
        assert getattr(connector, name) is not None
    assert connector.run_playbook is run_playbook
    assert connector.run_action is runner.run_action
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = connector.nope


def test_run_playbook_is_the_synchronous_api(world: World) -> None:
    result = run_playbook(
        {"name": "sync", "steps": [ping("p", "${{ inputs.w }}")]}, {"w": "sync"},
        host=world.host, config=world.config, transport=httpx.MockTransport(world.api),
    )
    assert isinstance(result, PlaybookResult) and result.outputs == {}
    assert result.step("p").output == {"pong": "sync"}


# --- against the sandbox -----------------------------------------------------------------------

@pytest.fixture
def sandbox_transport() -> httpx.ASGITransport:
    """A fresh sandbox with every vendor, small and unthrottled, reached without sockets."""
    return httpx.ASGITransport(app=build_app(SandboxConfig(rate_limits=False, sizes=SMALL)))


def sandboxed(
    playbook: str | Path | dict[str, Any], transport: httpx.ASGITransport, inputs: dict[str, Any] | None = None,
    **options: Any,
) -> PlaybookResult:
    return asyncio.run(arun_playbook(playbook, inputs, sandbox=LOOPBACK, transport=transport, **options))


def test_triage_creates_incidents_once_and_sets_threats_in_progress(sandbox_transport: httpx.ASGITransport) -> None:
    first = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 3})
    assert first.status == "success", [e.errors for s in first.steps for e in s.envelopes if e.errors]
    s1 = first.step("s1_threats").output["threats"]
    tam = first.step("tam_threats").output["threats"]
    assert len(s1) == 3 and len(tam) == 3
    assert {threat["severity"] for threat in s1} == {"high"}, "SentinelOne: malicious maps to high, never critical"
    assert {threat["severity"] for threat in tam} <= {"critical", "high"}
    uids = [threat["uid"] for threat in s1 + tam]
    assert first.outputs == {"threats": 6, "created": uids, "existed": [], "s1_in_progress": 3, "tam_acknowledged": 3}
    incidents = [item["incident"] for item in first.step("incidents").output["items"]]
    assert [incident["status"] for incident in incidents] == ["in_progress"] * 6
    assert sorted(first.step("s1_in_progress").output["succeeded"]) == sorted(t["vendor_id"] for t in s1)

    second = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 3})
    assert second.outputs == {"threats": 6, "created": [], "existed": uids, "s1_in_progress": 3, "tam_acknowledged": 3}
    assert [threat["status"] for threat in second.step("s1_threats").output["threats"]] == ["in_progress"] * 3


def test_triage_dry_run_creates_and_changes_nothing(sandbox_transport: httpx.ASGITransport) -> None:
    result = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 2}, dry_run=True)
    assert result.status == "success"
    assert [item["existed"] for item in result.step("incidents").output["items"]] == [None] * 4
    after = sandboxed(ROOT / "examples/triage.yaml", sandbox_transport, {"limit": 2})
    assert len(after.outputs["created"]) == 4 and after.outputs["existed"] == []


def test_dry_run_reaches_mutating_steps_only(sandbox_transport: httpx.ASGITransport) -> None:
    s1 = {"vendor": "sentinelone", "connection": "sandbox"}
    ids = "${{ steps.read.output.threats[].vendor_id }}"
    steps = [
        {"id": "read", "action": "get_threats", **s1, "input": {"status": ["new"], "limit": 2}},
        {"id": "move", "action": "update_threat_status", **s1,
         "input": {"ids": ids, "status": "in_progress"}},
        {"id": "again", "action": "get_threats", **s1, "input": {"ids": ids}},
    ]
    result = sandboxed({"name": "dry", "steps": steps}, sandbox_transport, dry_run=True)
    assert [step.envelopes[0].meta.dry_run for step in result.steps] == [False, True, False]
    planned = result.step("move").envelopes[0].output["planned_requests"]
    assert [(request["method"], request["path"]) for request in planned] == [
        ("POST", "/web/api/v2.1/threats/incident"),
    ]
    assert [threat["status"] for threat in result.step("again").output["threats"]] == ["new", "new"]


def test_a_sandbox_connection_starts_one_sandbox_for_the_run() -> None:
    s1 = {"vendor": "sentinelone", "connection": "sandbox"}
    ids = "${{ steps.read.output.threats[].vendor_id }}"
    steps = [
        {"id": "read", "action": "get_threats", **s1, "input": {"status": ["new"], "limit": 1}},
        {"id": "move", "action": "update_threat_status", **s1,
         "input": {"ids": ids, "status": "resolved"}},
        {"id": "again", "action": "get_threats", **s1, "input": {"ids": ids}},
    ]
    result = run_playbook({"name": "shared", "steps": steps})
    assert result.status == "success"
    assert [threat["status"] for threat in result.step("again").output["threats"]] == ["resolved"]


def test_domain_watch_turns_high_events_into_incidents(sandbox_transport: httpx.ASGITransport) -> None:
    result = sandboxed(ROOT / "examples/domain-watch.yaml", sandbox_transport, {"since": "2026-09-01T00:00:00Z"})
    events = result.step("events").output["events"]
    assert events and {event["threat"]["severity"] for event in events} == {"high"}
    assert all(event["time"] >= "2026-09-01" for event in events)
    assert result.outputs["created"] == [event["threat"]["uid"] for event in events]
    incidents = [item["incident"] for item in result.step("incidents").output["items"]]
    assert [incident["title"] for incident in incidents] == [event["threat"]["title"] for event in events]


def test_for_each_over_sandbox_threats_sets_each_in_progress(sandbox_transport: httpx.ASGITransport) -> None:
    result = sandboxed(PLAYBOOKS / "s1_progress.yaml", sandbox_transport)
    threats = result.step("threats").output["threats"]
    assert result.outputs == {"read": 3, "moved": [threat["vendor_id"] for threat in threats]}
    assert result.step("progress").status == "success" and len(result.step("progress").envelopes) == 3


# --- the command line --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, sizes=SMALL)) as url:
        yield url


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_check_prints_ok_or_every_problem() -> None:
    ok = invoke("playbook", "check", "--sandbox", str(ROOT / "examples/triage.yaml"))
    assert (ok.exit_code, ok.stdout) == (0, "ok: 5 steps\n")
    bad = invoke("playbook", "check", "--sandbox", str(PLAYBOOKS / "broken.yaml"))
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "connector: step threats: input.severity[0]: 'severe' is not one of ['unknown', 'informational', 'low', "
        "'medium', 'high', 'critical'] (rule: enum)",
        "connector: step typo: action: 'get_threatz' is not known (see `connector list`); did you mean 'get_threats'?",
        "connector: step early: input.ids: steps.later: step 'later' runs later (steps run in file order)",
        "connector: step fields: input.ids: steps.threats.output.threats[].vendor_idd: no field 'vendor_idd' "
        "in Threat (did you mean 'vendor_id'?)",
    ]
    unsandboxed = invoke(
        "--config", str(PLAYBOOKS / "absent.yaml"), "playbook", "check", str(PLAYBOOKS / "s1_progress.yaml")
    )
    assert unsandboxed.exit_code == 2
    assert unsandboxed.stderr.splitlines()[0] == (
        "connector: step threats: connection: missing (name one from the connections file, or run with --sandbox)"
    )


def test_cli_run_refuses_an_invalid_playbook_before_any_request(sandbox_url: str) -> None:
    result = invoke("playbook", "run", "--sandbox-url", sandbox_url, str(PLAYBOOKS / "broken.yaml"))
    assert result.exit_code == 2 and result.stdout == "" and len(result.stderr.splitlines()) == 4


def test_cli_run_json_ndjson_and_table(sandbox_url: str) -> None:
    path = str(PLAYBOOKS / "s1_progress.yaml")
    as_json = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--input", '{"limit": 2}', path)
    assert as_json.exit_code == 0, as_json.stderr
    document = orjson.loads(as_json.stdout)
    assert list(document) == ["playbook", "status", "steps", "outputs", "errors", "summary"]
    assert (document["playbook"], document["status"]) == ("s1-progress", "success")
    assert [(step["id"], step["status"], len(step["envelopes"])) for step in document["steps"]] == [
        ("threats", "success", 1), ("progress", "success", 2),
    ]
    assert document["summary"]["steps"] == {"success": 2} and document["summary"]["runs"] == 3
    assert re.fullmatch(
        r"connector: playbook s1-progress: success; 2 steps \(2 success\), 3 actions, \d+ requests, \d+ ms",
        as_json.stderr.strip(),
    )

    as_ndjson = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "ndjson", path)
    lines = [orjson.loads(line) for line in as_ndjson.stdout.splitlines()]
    assert [line.get("step") for line in lines] == ["threats", "progress", "progress", "progress", None]
    assert lines[1]["action"] == "update_threat_status" and lines[-1]["outputs"]["read"] == 3

    as_table = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "table", "--concurrency", "1", path)
    assert as_table.exit_code == 0
    assert "playbook s1-progress: success" in as_table.stdout
    assert re.search(r"threats\s+│ get_threats\s+│ sentinelone\s+│ success\s+│ 1\s+│ 3 threats", as_table.stdout)
    assert re.search(r"progress\s+│ update_threat_status\s+│ sentinelone\s+│ success\s+│ 3 items\s+│ 3 succeeded, "
                     r"0 failed", as_table.stdout)


def test_cli_table_shows_created_then_existed_incidents(sandbox_url: str) -> None:
    path = str(ROOT / "examples/domain-watch.yaml")
    since = '{"since": "2026-10-01T00:00:00Z"}'
    first = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "table", "--input", since, path)
    second = invoke("playbook", "run", "--sandbox-url", sandbox_url, "--format", "table", "--input", since, path)
    assert re.search(r"incidents .* success\s+│ 2 items\s+│ 2 created", first.stdout), first.stdout
    assert re.search(r"incidents .* success\s+│ 2 items\s+│ 2 existed", second.stdout), second.stdout
    assert re.search(r"created\s+│ none", second.stdout) and re.search(r"existed\s+│ 2: nameshield:", second.stdout)


def test_the_readme_command_runs_triage_in_its_own_process() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "connector", "playbook", "run", str(ROOT / "examples/triage.yaml"), "--sandbox",
         "--format", "table", "--input", '{"limit": 2}'],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CONNECTOR_CONFIG": ""},
    )
    assert process.returncode == 0, process.stderr
    assert re.search(r"incidents\s+│ create_incident\s+│ ciso_assistant\s+│ success\s+│ 4 items\s+│ 4 created",
                     process.stdout), process.stdout
    simulated = "connector: sandbox: the data is simulated (the embedded vendor simulators), not read from any vendor\n"
    summary = r"connector: playbook triage: success; 5 steps \(5 success\), 8 actions, \d+ requests, \d+ ms\n"
    assert re.fullmatch(re.escape(simulated) + summary, process.stderr)


def test_cli_run_exit_codes_follow_the_steps(sandbox_url: str, tmp_path: Path) -> None:
    steps = [
        {"id": "read", "action": "get_threats", "vendor": "sentinelone", "input": {"limit": 1}},
        {"id": "bad", "action": "update_threat_status", "vendor": "sentinelone", "on_error": "continue",
         "input": {"ids": ["no-such-threat"], "status": "in_progress"}},
    ]
    path = tmp_path / "continue.yaml"
    path.write_bytes(orjson.dumps({"name": "codes", "steps": steps}))
    partial = invoke("playbook", "run", "--sandbox-url", sandbox_url, str(path))
    assert partial.exit_code == 3, partial.stderr
    steps[1]["on_error"] = "stop"
    steps.append({"id": "after", "action": "get_threats", "vendor": "sentinelone", "input": {"limit": 1}})
    path.write_bytes(orjson.dumps({"name": "codes", "steps": steps}))
    stopped = invoke("playbook", "run", "--sandbox-url", sandbox_url, str(path))
    document = orjson.loads(stopped.stdout)
    assert [step["status"] for step in document["steps"]][1:] == ["failed", "not_run"]
    assert stopped.exit_code == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--sandbox-url", "foo"], "--sandbox-url: must be an http(s) URL with a host, like http://127.0.0.1:8800"),
    (["--sandbox", "--input", '{"limit": 0}'], "inputs.limit: 0 is less than the minimum of 1 (rule: minimum)"),
    (["--sandbox", "--input", "[1"],
     "input (--input): not valid JSON: unexpected end of data: line 1 column 3 (char 2)"),
])
def test_cli_run_refuses_bad_arguments_before_starting_anything(args: list[str], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        invoke("playbook", "run", *args, str(PLAYBOOKS / "s1_progress.yaml"))
    assert caught.value.message == message


def test_cli_run_names_a_missing_file() -> None:
    with pytest.raises(BadInput, match=r"^playbook: cannot read .*absent.yaml: No such file or directory$"):
        invoke("playbook", "run", "--sandbox", str(PLAYBOOKS / "absent.yaml"))


def test_unquoted_timestamps_in_yaml_stay_text(acme_host: Host, tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text("name: dates\nsteps:\n  - id: events\n    action: list_events\n    vendor: nameshield\n"
                    "    input: {since: 2026-10-01T00:00:00Z, until: 2026-11-01}\n")
    with pytest.raises(PlaybookInvalid) as caught:
        load_checked(path, acme_host, sandbox=True)
    # The date-time stays the text written (valid); the bare date is text too, and not a date-time.
    assert caught.value.problems == ["step events: input.until: '2026-11-01' is not a 'date-time' (rule: format)"]
