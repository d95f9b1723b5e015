"""BENCH-ONLY peer: a minimal Meltano singer-sdk tap reading SentinelOne's threats, no mapping.

What a user would otherwise write: one ``RESTStream`` over ``GET /web/api/v2.1/threats``, 1000 a
page, paged by the SDK's own paginator on ``pagination.nextCursor``, each threat emitted as the
vendor sent it (the schema names ``id`` and lets every other property through) as a Singer RECORD
message on stdout. It needs the ``bench`` extra (``pip install -e '.[bench]'``, which ``make bench``
does); :mod:`benchmarks.peer` runs it beside ``connector run``:

    python -m benchmarks.singer_tap --config CONFIG.json > /dev/null

with ``{"api_url": "http://host:port/<count>/sentinelone", "api_token": "..."}`` in CONFIG.json.
"""

from __future__ import annotations

from typing import Any, ClassVar

from singer_sdk import RESTStream, Stream, Tap
from singer_sdk import typing as th
from singer_sdk.pagination import JSONPathPaginator

PAGE = 1000
THREATS = "/web/api/v2.1/threats"


class Threats(RESTStream[str | None]):
    """Every threat, by cursor, as the vendor sent it."""

    name = "threats"
    path = THREATS
    primary_keys = ("id",)
    records_jsonpath = "$.data[*]"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": True,
    }

    @property
    def url_base(self) -> str:
        """The vendor's base URL, from the config."""
        return str(self.config["api_url"])

    @property
    def http_headers(self) -> dict[str, str]:
        """SentinelOne's token header."""
        return {"Authorization": f"ApiToken {self.config['api_token']}"}

    def get_new_paginator(self) -> JSONPathPaginator:
        """The SDK's cursor paginator: the next cursor is in the page, null on the last one."""
        return JSONPathPaginator("$.pagination.nextCursor")

    def get_url_params(self, context: Any, next_page_token: str | None) -> dict[str, Any]:
        """A page of PAGE threats, from the cursor once there is one."""
        return {"limit": PAGE, **({"cursor": next_page_token} if next_page_token else {})}


class TapThreats(Tap):
    """The tap: one stream."""

    name = "tap-bench-threats"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, required=True),
        th.Property("api_token", th.StringType, required=True, secret=True),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """The threats stream."""
        return [Threats(self)]


if __name__ == "__main__":
    TapThreats.cli()
