"""The hooks of connector: what a plugin can add, and the lifecycle events it can observe.

Registration hooks receive a ``register`` callback instead of returning lists, so one plugin can
add several things. Event hooks are fired by the runner and the HTTP layer in this order for one
action: action_started, then per request request_sent / response_received (and retry_scheduled
before a retry), page_fetched per page, total_known once when the vendor told how many records
a read will give, record_emitted per record, items_processed as the ids of
a bulk change settle, and last action_finished or action_failed. An action refused before it
started (unknown action, invalid input, no such connection) fires action_failed alone.

Every event hook receives ``run_id``, the short id of one action run (also in the envelope's
``meta.run_id``): actions run concurrently (a playbook's ``for_each``), so a plugin that keeps
state per run keys it by ``run_id``. An implementation takes only the arguments it names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from connector.envelope import Envelope
    from connector.formats import OutputFormat
    from connector.http import Limiter
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
def register_output_formats(register: Callable[[OutputFormat], None]) -> None:
    """Add output formats: call ``register(OutputFormat(...))`` once per format (see :mod:`connector.formats`)."""


@hookspec(firstresult=True)
def rate_limiter(connection: str, base_url: str, rate: tuple[float, float]) -> Limiter | None:
    """A limiter shared beyond this process for the connection's ``rate`` (requests, seconds), or None.

    The first plugin answering wins; with none, each event loop holds the limit on its own.
    """


@hookspec
def action_started(run_id: str, action: str, vendor: str, connection: str, input: dict[str, Any]) -> None:
    """An action is about to run, its input already validated (``input`` may hold secrets a caller put there)."""


@hookspec
def request_sent(run_id: str, vendor: str, method: str, path: str, attempt: int) -> None:
    """The HTTP layer sent a request (path without query; no headers, so no secret); ``attempt`` counts from 1."""


@hookspec
def response_received(
    run_id: str, vendor: str, method: str, path: str, status: int, elapsed_ms: float, attempt: int
) -> None:
    """An answer arrived for the request sent just before (a connection error fires no answer)."""


@hookspec
def retry_scheduled(
    run_id: str, vendor: str, method: str, path: str, attempt: int, delay_s: float, reason: str
) -> None:
    """A request failed in a retriable way and will be sent again after ``delay_s`` seconds."""


@hookspec
def page_fetched(run_id: str, vendor: str, path: str, page: int, records: int) -> None:
    """One page of a paged read arrived (``page`` counts from 1; ``records`` as the vendor sent them)."""


@hookspec
def total_known(run_id: str, action: str, total: int) -> None:
    """A read learnt from its first page how many records it will hand out (the vendor told a total)."""


@hookspec
def record_emitted(run_id: str, action: str, record: dict[str, Any]) -> None:
    """An action produced one record of its output (a threat, an event, an incident)."""


@hookspec
def items_processed(run_id: str, action: str, succeeded: int, failed: int) -> None:
    """A bulk change settled some of its ids: how many of them succeeded and failed (this step, not totals)."""


@hookspec
def action_finished(run_id: str, envelope: Envelope) -> None:
    """An action ended with status success or partial; ``envelope.meta`` holds its final counts."""


@hookspec
def action_failed(run_id: str, envelope: Envelope) -> None:
    """An action ended with status failed (its errors say why)."""
