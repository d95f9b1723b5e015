"""The hand-written script a one-record ``connector run`` is compared with (issue 24).

``python -m benchmarks.minimal CONNECTIONS.yaml NAME INPUT_JSON`` does what a run does for one
record, the way a careful script would do it by hand: it reads the named SentinelOne connection
from the same YAML connections file a run reads (its secret named as ``env:VARIABLE``), checks
the input against a JSON Schema with jsonschema, sends one request with httpx, puts the threats
in a pydantic envelope and prints it as JSON. No paging, no mapping, no plugins, no retries: the
least that still does the same work with the same libraries.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import httpx
import jsonschema
import pydantic
import yaml

THREATS = "/web/api/v2.1/threats"
INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 1000}},
}


class Envelope(pydantic.BaseModel):
    """The answer: a status and the threats read."""

    status: str
    output: dict[str, list[dict[str, Any]]]


def main(connections: str, name: str, given: str) -> None:
    """Read the connection, check the input, fetch the threats and print the envelope."""
    with open(connections, encoding="utf-8") as file:
        connection = yaml.safe_load(file)["connections"][name]
    arguments = json.loads(given)
    jsonschema.validate(arguments, INPUT)
    token = os.environ[connection["secret"].removeprefix("env:")]
    headers = {"Authorization": f"ApiToken {token}"}
    with httpx.Client(base_url=connection["base_url"], headers=headers) as client:
        answer = client.get(THREATS, params={"limit": str(arguments.get("limit", 1000))})
    threats = answer.raise_for_status().json()["data"]
    print(Envelope(status="success", output={"threats": threats}).model_dump_json())


if __name__ == "__main__":
    main(*sys.argv[1:4])
