"""The floor of a one-record run: the libraries it needs, doing their part of the work, and nothing of ours.

``python -m benchmarks.floor URL`` imports what the baseline imports (pydantic, httpx, jsonschema,
pluggy, yaml) and fetches one SentinelOne threat from the sandbox at URL with httpx's async client,
decoding it with orjson: httpx imports its async transport (httpcore, anyio) only then, and asyncio
is not in the baseline either. ``--with-model`` also builds and validates one pydantic model, as a
run builds its envelope: the baseline's ``import pydantic`` loads none of pydantic's model
machinery, which is imported on first use. A one-record ``connector run`` cannot take less.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx
import jsonschema  # noqa: F401  (imported as a run imports it, to validate the input)
import orjson
import pluggy  # noqa: F401
import pydantic
import yaml  # noqa: F401

THREATS = "/sentinelone/web/api/v2.1/threats"


async def one_threat(base_url: str) -> list[Any]:
    """One threat, fetched and decoded."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": "ApiToken sandbox-token"}) as client:
        answer = await client.get(THREATS, params={"limit": "1"})
    return list(orjson.loads(answer.raise_for_status().content)["data"])


def modelled(threats: list[Any]) -> dict[str, Any]:
    """The threats in one validated pydantic model, dumped: what a run does with its envelope."""

    class Answer(pydantic.BaseModel):
        status: str
        output: dict[str, list[Any]]

    return Answer(status="success", output={"threats": threats}).model_dump()


if __name__ == "__main__":
    found = asyncio.run(one_threat(sys.argv[1]))
    envelope = modelled(found) if "--with-model" in sys.argv else {"status": "success", "output": {"threats": found}}
    sys.stdout.buffer.write(orjson.dumps(envelope))
