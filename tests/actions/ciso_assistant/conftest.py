"""The CISO Assistant action tests: the seeded store, runs on a recording simulator, shared checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from connector.envelope import Envelope
from connector.sandbox import FaultPlan, SandboxConfig, build_app
from connector.sandbox.ciso_assistant.seed import seed_store
from connector.sandbox.ciso_assistant.store import Incident
from connector.sandbox.common import ANCHOR
from connector.testing import RecordingTransport, run_in_sandbox

VENDOR = "ciso_assistant"
SIZE = 150
CONFIG = SandboxConfig(sizes={VENDOR: SIZE}, rate_limits=False, vendors=(VENDOR,))
STORE = seed_store(CONFIG.seed, SIZE, ANCHOR)
SEEDED = list(STORE.incidents.values())
DOMAIN = next(folder.id for folder in STORE.folders.values() if folder.parent is not None)
OWNER, ASSET = next(iter(STORE.related["owners"])), next(iter(STORE.related["assets"]))
MISSING = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
NAME_REQUIRED = "input: 'name' is a required property (rule: required)"


def uids(incidents: list[Incident]) -> list[str]:
    """Common uids of seeded incidents."""
    return [f"{VENDOR}:{incident.id}" for incident in incidents]


def fresh(faults: str | None = None) -> RecordingTransport:
    """A recording transport into a fresh simulator (``faults`` as :meth:`FaultPlan.parse` reads them)."""
    return RecordingTransport(build_app(CONFIG if faults is None else replace(CONFIG, faults=FaultPlan.parse(faults))))


def act(
    sandbox: RecordingTransport,
    action: str,
    document: dict[str, Any],
    *,
    options: dict[str, Any] | None = None,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    **run_options: Any,
) -> Envelope:
    """Run ``action`` on the simulator behind ``sandbox`` (its earlier requests forgotten); ``wrap`` bends it."""
    sandbox.clear()
    return run_in_sandbox(
        action, document, vendor=VENDOR, transport=sandbox if wrap is None else wrap(sandbox),
        connection_update={"options": options} if options else None, **run_options,
    )


def ok(sandbox: RecordingTransport, action: str, document: dict[str, Any], **options: Any) -> dict[str, Any]:
    """The output of a run that must succeed."""
    envelope = act(sandbox, action, document, **options)
    assert envelope.status == "success", envelope.errors
    return envelope.output


def incidents_of(sandbox: RecordingTransport, **filters: Any) -> list[dict[str, Any]]:
    """list_incidents with ``filters``."""
    found: list[dict[str, Any]] = ok(sandbox, "list_incidents", filters)["incidents"]
    return found


def written(sandbox: RecordingTransport, vendor_id: str) -> dict[str, Any]:
    """The write face of one incident, as the vendor holds it now."""
    face: dict[str, Any] = ok(sandbox, "get_incident", {"id": vendor_id, "format": "object"})["object"]
    return face


def paths(sandbox: RecordingTransport) -> list[str]:
    """The requests of the last run, ``METHOD /path`` under the vendor's mount."""
    return sandbox.paths(f"/{VENDOR}")


@pytest.fixture(scope="module")
def reads() -> RecordingTransport:
    """A simulator for tests that only read (built once)."""
    return fresh()


@pytest.fixture
def sandbox() -> RecordingTransport:
    """A fresh simulator for tests that write."""
    return fresh()


def only_error(envelope: Envelope) -> str:
    assert envelope.status == "failed" and len(envelope.errors) == 1, envelope
    message = envelope.errors[0].message
    assert "\n" not in message and CONFIG.token not in message
    return message
