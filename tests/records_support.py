"""Helpers of the tests that check mapped records: the schema check, and records as the sandbox serves them."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from connector import hygiene
from connector.catalog import schemas_dir
from connector.errors import BadVendorAnswer
from connector.ocsf import VERSION, profiles_of
from connector.sandbox import SandboxConfig, build_app
from connector.schemas import SchemaStore

STORE = SchemaStore([schemas_dir()])
TOKEN = SandboxConfig().token

Mapped = tuple[Any, list[tuple[str, str]]]


def mapped_with_drops(normalize: Callable[[Any], Any], record: Any) -> Mapped:
    """``normalize(record)``, or the refusal's line, with every value dropped on the way."""
    with hygiene.recording() as drops:
        try:
            out: Any = normalize(record)
        except BadVendorAnswer as exc:
            out = exc.message
    return out, [(dropped.field, dropped.rule) for dropped in drops]


def assert_valid(record: dict[str, Any], schema: str) -> None:
    """``record`` validates against ``schema`` in full; the first error otherwise, with its path."""
    error = next(iter(STORE.validator(schema).iter_errors(record)), None)
    assert error is None, f"{record.get('uid')}: {list(error.absolute_path)}: {error.message[:300]}"
    assert json.loads(json.dumps(record)) == record, "JSON-ready: plain str/int/float/bool/None/list/dict"


async def served_records(config: SandboxConfig) -> dict[str, list[Any]]:
    """Every record of each simulator as served (one page each), plus the logs of some MySecutec threats."""
    transport = httpx.ASGITransport(app=build_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        async def get(path: str, scheme: str, **params: Any) -> Any:
            answer = await http.get(path, params=params, headers={"Authorization": f"{scheme} {TOKEN}"})
            assert answer.status_code == 200, answer.text
            return answer.json()

        s1 = await get("/sentinelone/web/api/v2.1/threats", "ApiToken", limit=1000)
        ms = await get("/mysecutec/tam/v1/threats/", "Bearer", limit=1000)
        logs = [
            entry
            for threat in ms["threats"][:15]
            if isinstance(threat.get("id"), str) and len(threat["id"]) == 36
            for entry in (await get(f"/mysecutec/tam/v1/threats/{threat['id']}/logs", "Bearer"))["logs"]
        ]
        ns = await get("/nameshield/cti/v2/events", "Bearer", size=500)
        ca = await get("/ciso_assistant/api/incidents/", "Token", limit=100)
    return {"sentinelone": s1["data"], "mysecutec": ms["threats"], "logs": logs, "nameshield": ns["data"],
            "ciso_assistant": ca["results"]}


CLASS_NAMES = {2004: "detection_finding", 2002: "vulnerability_finding", 2005: "incident_finding"}


@cache
def _embedded() -> OcsfJsonSchemaEmbedded:
    return OcsfJsonSchemaEmbedded(get_ocsf_schema(VERSION))


@cache
def _validator(class_uid: int, profiles: tuple[str, ...]) -> Draft202012Validator:
    schema = _embedded().get_class_schema(CLASS_NAMES[class_uid], list(profiles))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_ocsf(event: dict[str, Any]) -> None:
    """``event`` validates against the official schema of its class and profiles."""
    validator = _validator(event["class_uid"], tuple(profiles_of(event)))
    error = next(iter(validator.iter_errors(event)), None)
    assert error is None, f"{event['metadata']['uid']}: {list(error.absolute_path)}: {error.message[:300]}"
