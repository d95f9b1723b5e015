"""Every generated Cortex analyzer and responder, run by cortexutils with a job directory against the sandbox."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from connector.export.cortex import ANALYZERS, RESPONDERS
from tests.export.conftest import BAD_TOKEN, TOKEN, direct, run_program

PROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]

pytest.importorskip("cortexutils", reason="cortexutils is in the dev extra that `make install` installs")


def job(exported: Path, tmp_path: Path, kind: str, name: str, data_type: str, data: Any, sandbox_url: str,
        token: str = TOKEN, **settings: Any) -> tuple[dict[str, Any], int]:
    """Run flavor ``name`` as Cortex does: its definition's config and defaults plus the organisation's items."""
    folder = exported / "cortex" / f"{kind}s" / "Connector"
    definition = json.loads((folder / f"{name}.json").read_text())
    config = {item["name"]: item["defaultValue"] for item in definition["configurationItems"] if "defaultValue" in item}
    vendor = definition["config"]["vendor"]
    config.update(definition["config"], base_url=f"{sandbox_url}/{vendor}", api_key=token, **settings)
    (tmp_path / "input").mkdir(parents=True)
    document = {"dataType": data_type, "data": data, "tlp": 2, "pap": 2, "config": config}
    (tmp_path / "input" / "input.json").write_text(json.dumps(document))
    done = run_program([definition["command"].split("/")[-1], str(tmp_path)], folder)
    output = (tmp_path / "output" / "output.json").read_text()
    assert token not in output + done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    report: dict[str, Any] = json.loads(output)
    return report, done.returncode


def test_every_flavor_has_a_definition_naming_its_program(exported: Path) -> None:
    for kind, flavors in (("analyzer", ANALYZERS), ("responder", RESPONDERS)):
        folder = exported / "cortex" / f"{kind}s" / "Connector"
        for flavor in flavors:
            definition = json.loads((folder / f"{flavor.name}.json").read_text())
            assert definition["command"] == f"Connector/connector_{kind}.py"
            assert definition["config"] == {"service": flavor.action, "vendor": flavor.vendor, "check_tlp": True,
                                            "max_tlp": 2, "check_pap": True, "max_pap": 2}
            assert definition["dockerImage"] == f"connector/cortex-{kind}s:0.1.0"
            assert (definition["author"], definition["url"]) == (PROJECT["authors"][0]["name"],
                                                                 PROJECT["urls"]["Homepage"])
            assert definition["dataTypeList"] == list(flavor.data_types)
            items = {item["name"]: item for item in definition["configurationItems"]}
            assert items["api_key"] == {"name": "api_key", "description": items["api_key"]["description"],
                                        "type": "string", "multi": False, "required": True}


FLAVOR_RULES: dict[str, Any] = {
    # What Cortex-Analyzers' utils/flavors/check_json_schema.py demands of a flavor, in our words.
    "type": "object",
    "required": ["name", "version", "author", "url", "license", "description", "dataTypeList", "command",
                 "baseConfig"],
    "properties": {
        "name": {"type": "string", "pattern": "^\\S*$"},
        "url": {"type": "string", "format": "uri"},
        "dataTypeList": {"type": "array"},
        "config": {"type": "object", "properties": {"service": {"type": ["number", "string"]}}},
        "configurationItems": {"type": "array", "items": {
            "required": ["name", "description", "multi", "type", "required"],
            "properties": {"multi": {"type": "boolean"}, "required": {"type": "boolean"},
                           "defaultValue": {"type": ["string", "number", "boolean", "array"]}},
        }},
    },
}


def test_definitions_pass_the_flavor_check_and_ship_their_image_and_templates(exported: Path) -> None:
    validator = Draft7Validator(FLAVOR_RULES, format_checker=FormatChecker())
    for kind, flavors in (("analyzer", ANALYZERS), ("responder", RESPONDERS)):
        folder = exported / "cortex" / f"{kind}s" / "Connector"
        dockerfile = (folder / "Dockerfile").read_text()
        assert f'ENTRYPOINT ["python", "Connector/connector_{kind}.py"]' in dockerfile
        assert "pip install --no-cache-dir /wheels/connector_soar-0.1.0-py3-none-any.whl" in dockerfile
        for flavor in flavors:
            definition = json.loads((folder / f"{flavor.name}.json").read_text())
            assert [error.message for error in validator.iter_errors(definition)] == [], flavor.name
            assert "placeholder" not in json.dumps(definition) and definition["url"] != "https://github.com/"
    for flavor in ANALYZERS:
        templates = exported / "cortex" / "thehive-templates" / f"{flavor.name}_0_1_0"
        assert "t in content.taxonomies" in (templates / "short.html").read_text()
        long = (templates / "long.html").read_text()
        assert flavor.name in long and "content.errorMessage" in long


def test_sentinelone_threats_by_hash(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    threats = direct("get_threats", {"limit": 5, "severity": ["high"]}, "sentinelone", sandbox_url)["threats"]
    threat, sha1 = next((threat, item["value"]) for threat in threats for item in threat["observables"]
                        if item["type"] == "file_hash.sha1")
    report, code = job(exported, tmp_path, "analyzer", "Connector_Sentinelone_GetThreats", "hash", sha1, sandbox_url)
    expected = direct("get_threats", {"search": sha1, "limit": 100}, "sentinelone", sandbox_url)
    assert (code, report["success"]) == (0, True)
    assert report["full"]["threats"] == expected["threats"]
    assert threat["uid"] in [record["uid"] for record in report["full"]["threats"]]
    assert (report["full"]["action"], report["full"]["vendor"], report["full"]["status"]) == (
        "get_threats", "sentinelone", "success")
    assert report["summary"] == {"taxonomies": [
        {"level": "malicious", "namespace": "Connector", "predicate": "SentineloneThreats",
         "value": expected["total"]},
    ]}
    hosts = [item["value"] for item in threat["observables"] if item["type"] == "hostname"]
    assert {"dataType": "hostname", "data": hosts[0]} in report["artifacts"]
    assert all(artifact["data"] != sha1 for artifact in report["artifacts"])
    assert report["operations"] == []


def test_mysecutec_threats_by_domain(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    threat = direct("get_threats", {"limit": 1}, "mysecutec", sandbox_url)["threats"][0]
    asset = threat["resources"][0]["name"]
    report, code = job(exported, tmp_path, "analyzer", "Connector_Mysecutec_GetThreats", "domain", asset, sandbox_url,
                       limit=3)
    expected = direct("get_threats", {"search": asset, "limit": 3}, "mysecutec", sandbox_url)
    assert (code, report["success"], report["full"]["threats"]) == (0, True, expected["threats"])
    worst = max(("unknown", "informational", "low", "medium", "high", "critical").index(record["severity"])
                for record in expected["threats"])
    level = ["info", "info", "suspicious", "suspicious", "malicious", "malicious"][worst]
    assert report["summary"]["taxonomies"] == [
        {"level": level, "namespace": "Connector", "predicate": "MysecutecThreats", "value": expected["total"]}
    ]


def test_nameshield_events_read_severity_and_observables_under_threat(
    exported: Path, tmp_path: Path, sandbox_url: str
) -> None:
    events = direct("list_events", {"limit": 20}, "nameshield", sandbox_url)["events"]
    event = next(event for event in events if event["threat"]["severity"] == "medium"
                 and len(event["threat"]["observables"]) > 2)
    domain = event["threat"]["observables"][0]["value"]
    report, code = job(exported, tmp_path, "analyzer", "Connector_Nameshield_ListEvents", "domain", domain,
                       sandbox_url)
    expected = direct("list_events", {"search": domain, "limit": 100}, "nameshield", sandbox_url)
    assert (code, report["success"], report["full"]["events"]) == (0, True, expected["events"])
    worst = max(("unknown", "informational", "low", "medium", "high", "critical").index(record["threat"]["severity"])
                for record in expected["events"])
    assert report["summary"]["taxonomies"] == [{
        "level": ["info", "info", "suspicious", "suspicious", "malicious", "malicious"][worst],
        "namespace": "Connector", "predicate": "NameshieldEvents", "value": expected["total"],
    }]
    kinds = {"ip": "ip", "domain": "domain", "url": "url", "hostname": "hostname", "email": "mail"}
    wanted = {(kinds[item["type"]], item["value"]) for record in expected["events"]
              for item in record["threat"]["observables"] if item["type"] in kinds and item["value"] != domain}
    assert wanted and {(item["dataType"], item["data"]) for item in report["artifacts"]} == wanted


def test_taxonomy_counts_every_match_not_the_page(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    report, code = job(exported, tmp_path, "analyzer", "Connector_Sentinelone_GetThreats", "hostname", "DESKTOP",
                       sandbox_url, limit=2)
    expected = direct("get_threats", {"search": "DESKTOP", "limit": 2}, "sentinelone", sandbox_url)
    assert (code, report["full"]["count"]) == (0, 2)
    assert expected["total"] > 2
    assert report["summary"]["taxonomies"][0]["value"] == expected["total"]


def test_nameshield_events_nothing_found_is_safe(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    report, code = job(exported, tmp_path, "analyzer", "Connector_Nameshield_ListEvents", "domain",
                       "no-such-domain.invalid", sandbox_url)
    assert (code, report["success"], report["full"]["events"], report["full"]["count"]) == (0, True, [], 0)
    assert report["summary"]["taxonomies"] == [
        {"level": "safe", "namespace": "Connector", "predicate": "NameshieldEvents", "value": 0}
    ]
    assert report["artifacts"] == []


def test_ciso_assistant_incident_by_reference(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    created = direct("create_incident", {"name": "Cortex lookup", "ref_id": "cortex-ref-42", "severity": "medium"},
                     "ciso_assistant", sandbox_url)
    report, code = job(exported, tmp_path, "analyzer", "Connector_CisoAssistant_ListIncidents", "other",
                       "cortex-ref-42", sandbox_url)
    assert (code, report["success"], report["full"]["count"]) == (0, True, 1)
    record = report["full"]["incidents"][0]
    assert (record["vendor_id"], record["title"], record["raw"]["ref_id"]) == (
        created["incident"]["vendor_id"], "Cortex lookup", "cortex-ref-42")
    assert report["summary"]["taxonomies"][0]["level"] == "suspicious"


def test_a_bad_token_is_cortex_error_report(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    report, code = job(exported, tmp_path, "analyzer", "Connector_Sentinelone_GetThreats", "hash", "abc", sandbox_url,
                       token=BAD_TOKEN)
    assert (code, report["success"]) == (1, False)
    assert report["errorMessage"] == (
        "sentinelone: GET /web/api/v2.1/threats: 401 Unauthorized: Authentication Failed: Missing or invalid API token"
    )
    assert report["input"]["config"]["api_key"] == "REMOVED"
    assert (report["input"]["dataType"], report["input"]["data"]) == ("hash", "abc")


def test_an_unsupported_data_type_and_a_bad_setting_are_error_reports(
    exported: Path, tmp_path: Path, sandbox_url: str
) -> None:
    report, code = job(exported, tmp_path / "a", "analyzer", "Connector_Sentinelone_GetThreats", "mail", "a@b.c",
                       sandbox_url)
    assert (code, report["errorMessage"]) == (
        1, "dataType: 'mail' is not supported by Connector_Sentinelone_GetThreats "
           "(supported: hash, hostname, fqdn, filename)")
    report, code = job(exported, tmp_path / "b", "analyzer", "Connector_Sentinelone_GetThreats", "hash", "abc",
                       sandbox_url, limit="lots")
    assert (code, report["errorMessage"]) == (1, "input.limit: 'lots' is not an integer")


def case(identifier: str, tags: list[str], **fields: Any) -> dict[str, Any]:
    """A TheHive case as Cortex hands it to a responder."""
    return {"_id": identifier, "id": identifier, "_type": "case", "caseId": 7, "title": "Ransomware on a laptop",
            "description": "Seen by the SOC.", "severity": 3, "tags": tags, "createdAt": 1767225600000, **fields}


def test_sentinelone_status_from_a_case(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    threats = direct("get_threats", {"limit": 2, "status": ["new"]}, "sentinelone", sandbox_url)["threats"]
    ids = [threat["vendor_id"] for threat in threats]
    data = case("~101", [threats[0]["uid"], f"sentinelone:{ids[1]}", "mysecutec:other", "ransomware"])
    report, code = job(exported, tmp_path, "responder", "Connector_Sentinelone_UpdateThreatStatus", "thehive:case",
                       data, sandbox_url, status="resolved", verdict="true_positive")
    assert (code, report["success"]) == (0, True)
    assert report["operations"] == [{"type": "AddTagToCase", "tag": "sentinelone:resolved"}]
    assert (report["full"]["status"], sorted(report["full"]["succeeded"]), report["full"]["failed"]) == (
        "success", sorted(ids), [])
    assert report["full"]["summary"] == {"total_attempted": 2, "total_successful": 2, "total_failed": 0,
                                         "success_rate": 1.0}
    after = direct("get_threats", {"ids": ids}, "sentinelone", sandbox_url)["threats"]
    assert [(threat["status"], threat["verdict"]) for threat in after] == [("resolved", "true_positive")] * 2
    notes = direct("get_threat_notes", {"id": ids[0]}, "sentinelone", sandbox_url)["notes"]
    assert notes[-1]["text"] == "TheHive case #7: Ransomware on a laptop"


def test_mysecutec_status_from_an_alert(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    threat = direct("get_threats", {"limit": 1, "status": ["new"]}, "mysecutec", sandbox_url)["threats"][-1]
    alert = {"_id": "~202", "_type": "alert", "type": "external", "source": "mysecutec", "title": "Exposed service",
             "sourceRef": threat["uid"], "tags": [], "severity": 2}
    report, code = job(exported, tmp_path, "responder", "Connector_Mysecutec_UpdateThreatStatus", "thehive:alert",
                       alert, sandbox_url)
    assert (code, report["success"], report["full"]["succeeded"]) == (0, True, [threat["vendor_id"]])
    assert report["operations"] == [{"type": "AddTagToAlert", "tag": "mysecutec:resolved"}]
    after = direct("get_threats", {"ids": [threat["vendor_id"]]}, "mysecutec", sandbox_url)["threats"][0]
    assert (after["status"], after["vendor_status"]) == ("resolved", "solved")


def test_sentinelone_note_and_a_case_without_threat(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    threat = direct("get_threats", {"limit": 3}, "sentinelone", sandbox_url)["threats"][2]
    report, code = job(exported, tmp_path / "a", "responder", "Connector_Sentinelone_AddThreatNote", "thehive:case",
                       case("~303", [threat["uid"]]), sandbox_url)
    assert (code, report["full"]["requested"], report["full"]["affected"]) == (0, 1, 1)
    assert report["operations"] == [{"type": "AddTagToCase", "tag": "sentinelone:noted"}]
    report, code = job(exported, tmp_path / "b", "responder", "Connector_Sentinelone_AddThreatNote", "thehive:case",
                       case("~304", ["unrelated"]), sandbox_url)
    assert (code, report["success"], report["errorMessage"]) == (
        1, False, "data.tags: no sentinelone threat on this case (tag it sentinelone:<threat id>)")


def test_ciso_assistant_incident_from_a_case_is_idempotent(exported: Path, tmp_path: Path, sandbox_url: str) -> None:
    data = case("~404", [])
    first, code = job(exported, tmp_path / "a", "responder", "Connector_CisoAssistant_CreateIncident", "thehive:case",
                      data, sandbox_url)
    again, _ = job(exported, tmp_path / "b", "responder", "Connector_CisoAssistant_CreateIncident", "thehive:case",
                   data, sandbox_url)
    assert (code, first["success"], first["full"]["existed"], again["full"]["existed"]) == (0, True, False, True)
    assert first["full"]["ref_id"] == "thehive:~404"
    incident = first["full"]["incident"]
    assert (incident["title"], incident["description"], incident["severity"], incident["status"]) == (
        "Ransomware on a laptop", "Seen by the SOC.", "high", "new")
    assert again["full"]["incident"]["vendor_id"] == incident["vendor_id"]
    assert first["operations"] == [{"type": "AddTagToCase", "tag": f"ciso_assistant:incident:{incident['vendor_id']}"}]
