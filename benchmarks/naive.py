"""The baseline reader: a plain sequential httpx + orjson loop that downloads and parses every page.

``python -m benchmarks.naive sentinelone URL`` walks SentinelOne's threats by cursor, and
``python -m benchmarks.naive mysecutec URL`` walks MySecutec's by offset, 1000 a page, in the order
the connector asks for; both print how many records they read. It runs as its own process, like
``connector run``, so both sides of a comparison pay an interpreter start and their imports.
"""

from __future__ import annotations

import sys

import httpx
import orjson

PAGE = 1000
S1_THREATS = "/sentinelone/web/api/v2.1/threats"
MYSECUTEC_THREATS = "/mysecutec/tam/v1/threats/"
TOKEN = "sandbox-token"


def sentinelone(base_url: str) -> int:
    """Every threat, by cursor; the number read."""
    count, cursor = 0, None
    with httpx.Client(base_url=base_url, headers={"Authorization": f"ApiToken {TOKEN}"}) as client:
        while True:
            params = {"limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
            body = orjson.loads(client.get(S1_THREATS, params=params).raise_for_status().content)
            count += len(body["data"])
            cursor = body["pagination"]["nextCursor"]
            if not cursor:
                return count


def mysecutec(base_url: str) -> int:
    """Every threat, by offset, oldest first; the number read."""
    count, offset = 0, 0
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        while True:
            params = {"limit": str(PAGE), "offset": str(offset), "sort": "created_at,id"}
            body = orjson.loads(client.get(MYSECUTEC_THREATS, params=params).raise_for_status().content)
            count += len(body["threats"])
            offset += PAGE
            if offset >= body["pagination"]["total"]:
                return count


if __name__ == "__main__":
    vendor, url = sys.argv[1:3]
    print({"sentinelone": sentinelone, "mysecutec": mysecutec}[vendor](url))
