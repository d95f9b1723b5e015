"""Playbooks: templates and the static check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.playbook import PlaybookInvalid, load_checked
from connector.playbook.expressions import compile_template, render
from connector.plugins import Host
from tests.playbook.conftest import ROOT, World, alerts, ping


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
        "step c: connection: missing (name one from the connections file, give --connection VENDOR=NAME, "
        "or run with --sandbox)",
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
