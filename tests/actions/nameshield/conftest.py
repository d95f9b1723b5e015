"""The Nameshield action tests: the seeded events, runs on one recording simulator, shared checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.envelope import Envelope
from connector.sandbox import SandboxConfig, build_app
from connector.sandbox.nameshield import generate_events
from connector.testing import RecordingTransport, run_in_sandbox

SIZE = 150
CONFIG = SandboxConfig(sizes={"nameshield": SIZE}, rate_limits=False, vendors=("nameshield",))
EVENTS = generate_events(CONFIG.seed, SIZE)
LEVEL_OF = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW", "informational": "NONE"}


def oldest_first(*customers: int, keep: Callable[[dict[str, Any]], bool] = lambda event: True) -> list[str]:
    """uids of these customers' events that ``keep`` accepts, by date then id."""
    chosen = [e for e in EVENTS if e["customer_id"] in customers and keep(e)]
    return [f"nameshield:{e['id']}" for e in sorted(chosen, key=lambda e: (e["date"], e["id"]))]


def level(*levels: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["criticality"]["level"] in levels


OWN = oldest_first(42)
V2_LIST = "/nameshield/cti/v2/events"


def act(
    sandbox: RecordingTransport,
    action: str,
    document: dict[str, Any],
    *,
    gone: int | None = None,
    slept: list[float] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> Envelope:
    """Run ``action`` on the simulator behind ``sandbox``, its earlier requests forgotten.

    ``gone``: the v2 list answers that status instead; ``slept`` collects the waits between retries.
    """

    def v2_gone(request: httpx.Request) -> httpx.Response | None:
        if gone and request.method == "GET" and request.url.path == V2_LIST:
            return httpx.Response(gone, json={"message": "This route has been removed", "data": None})
        return None

    async def no_wait(seconds: float) -> None:
        if slept is not None:
            slept.append(seconds)

    sandbox.clear()
    sandbox.answer = v2_gone
    return run_in_sandbox(action, document, vendor="nameshield", transport=transport or sandbox, sleep=no_wait,
                          **options)


@pytest.fixture(scope="module")
def sandbox() -> RecordingTransport:
    """One simulator for the module (the actions here do not change it)."""
    return RecordingTransport(build_app(CONFIG))


def uids(envelope: Envelope) -> list[str]:
    assert envelope.status == "success", envelope.errors
    return [event["uid"] for event in envelope.output["events"]]


def only_error(envelope: Envelope) -> str:
    assert envelope.status == "failed" and len(envelope.errors) == 1
    message = envelope.errors[0].message
    assert "\n" not in message and "sandbox-token" not in message
    return message


def extras(envelope: Envelope) -> dict[str, Any]:
    """The meta keys the binding added; the seeded DNS records' link-local addresses are dropped from
    the observables (counted in dropped_values, which only ever names that field here)."""
    extra = dict(envelope.meta.model_extra or {})
    assert set(extra.pop("dropped_values", {})) <= {"observables.ip"}
    return extra
