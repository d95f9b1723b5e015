"""The hooks of connector: what a plugin can add, and the lifecycle events it can observe.

Registration hooks receive a ``register`` callback instead of returning lists, so one plugin can
add several things. Event hooks are fired by the runner and the HTTP layer in this order for one
action: action_started, then per request request_sent / response_received (and retry_scheduled
before a retry), page_fetched per page, record_emitted per record, and last action_finished or
action_failed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from connector.envelope import Envelope
    from connector.vendor import Vendor

hookspec = pluggy.HookspecMarker("connector")
hookimpl = pluggy.HookimplMarker("connector")


@hookspec
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """Add vendors: call ``register(Vendor(...))`` once per vendor this plugin brings."""


@hookspec
def register_actions(register: Callable[[Path], None]) -> None:
    """Add action definitions: call ``register(path)`` with a YAML file or a folder of them."""


@hookspec
def register_schemas(register: Callable[[Path], None]) -> None:
    """Add JSON Schemas that action files refer to: call ``register(folder)``."""


@hookspec
def action_started(action: str, vendor: str, connection: str, input: dict[str, Any]) -> None:
    """An action is about to run, its input already validated."""


@hookspec
def request_sent(vendor: str, method: str, path: str, attempt: int) -> None:
    """The HTTP layer sent a request (path without query; no headers, so no secret)."""


@hookspec
def response_received(vendor: str, method: str, path: str, status: int, elapsed_ms: float, attempt: int) -> None:
    """An answer arrived for the request sent just before."""


@hookspec
def retry_scheduled(vendor: str, method: str, path: str, attempt: int, delay_s: float, reason: str) -> None:
    """A request failed in a retriable way and will be sent again after ``delay_s`` seconds."""


@hookspec
def page_fetched(vendor: str, path: str, page: int, records: int) -> None:
    """One page of a paged read arrived (``page`` counts from 1)."""


@hookspec
def record_emitted(action: str, record: dict[str, Any]) -> None:
    """An action produced one record of its output (a threat, an event, an incident)."""


@hookspec
def action_finished(envelope: Envelope) -> None:
    """An action ended with status success or partial."""


@hookspec
def action_failed(envelope: Envelope) -> None:
    """An action ended with status failed."""
