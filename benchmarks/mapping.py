"""``python -m benchmarks.mapping``: the cost of mapping 1,000 records of each vendor, as served.

The records come from the embedded sandbox (clean, then with every record damaged by the messy
sandbox); each mapper builds its plain-dict records, the best of ``ROUNDS`` runs is printed. The
baseline beside it is decoding the same records from JSON with orjson, which every read pays anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from connector.errors import BadVendorAnswer
from connector.sandbox import SandboxConfig, build_app
from connector.vendors.ciso_assistant.mapping import normalize_incident
from connector.vendors.mysecutec.mapping import normalize_threat as mysecutec_threat
from connector.vendors.nameshield.mapping import normalize_event
from connector.vendors.sentinelone.threats import normalize_threat as sentinelone_threat

RECORDS = 1000
ROUNDS = 20
SOURCES: dict[str, tuple[str, str, str, Callable[..., dict[str, Any]]]] = {
    "sentinelone": ("/sentinelone/web/api/v2.1/threats?limit=1000", "ApiToken", "data", sentinelone_threat),
    "mysecutec": ("/mysecutec/tam/v1/threats/?limit=1000", "Bearer", "threats", mysecutec_threat),
    "nameshield": ("/nameshield/cti/v2/events?size=500", "Bearer", "data", normalize_event),
    "ciso_assistant": ("/ciso_assistant/api/incidents/?limit=100", "Token", "results", normalize_incident),
}


async def _served(messy: float) -> dict[str, list[Any]]:
    config = SandboxConfig(rate_limits=False, messy=messy)
    transport = httpx.ASGITransport(app=build_app(config))
    found: dict[str, list[Any]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        for vendor, (path, scheme, key, _) in SOURCES.items():
            answer = await http.get(path, headers={"Authorization": f"{scheme} {config.token}"})
            records = answer.json()[key]
            found[vendor] = (records * (RECORDS // len(records) + 1))[:RECORDS]
    return found


def _best(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _map_all(mapper: Callable[..., dict[str, Any]], records: list[Any]) -> None:
    for record in records:
        with contextlib.suppress(BadVendorAnswer):  # a refused messy record costs its refusal
            mapper(record)


def main() -> None:
    """Print, per vendor, the milliseconds to map 1,000 records (clean and messy) and to decode them."""
    for messy in (0.0, 1.0):
        served = asyncio.run(_served(messy))
        for vendor, records in served.items():
            mapper = SOURCES[vendor][3]
            encoded = [orjson.dumps(record) for record in records]
            mapped = _best(lambda: _map_all(mapper, records))  # noqa: B023 (called at once)
            decoded = _best(lambda: [orjson.loads(item) for item in encoded])  # noqa: B023
            label = "messy" if messy else "clean"
            print(f"{vendor:15} {label}: map {mapped:6.1f} ms / {RECORDS}   (orjson decode {decoded:5.1f} ms)")


if __name__ == "__main__":
    main()
