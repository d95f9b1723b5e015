"""What a vendor plugin hands to the host: its name, auth scheme, error parser and bindings.

A binding is the vendor's implementation of one declared action: an async function that gets a
ready :class:`~connector.http.RunContext` and the validated input, and returns the action's
output (already in the common shapes). For an action whose file names a ``records`` key, the
binding is better an async generator that yields the records one by one as pages arrive (mapped
through :meth:`~connector.http.RunContext.map_record`) and leaves the other output fields in
``client.fields``; the runner counts them. Everything else about the vendor stays in its module.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.context import RunContext

Binding = Callable[
    ["RunContext", dict[str, Any]],
    Awaitable[dict[str, Any]] | AsyncGenerator[dict[str, Any] | list[dict[str, Any]], None],
]
"""An action's binding: returns its output, or, for a read, yields its records one by one or in lists."""
ErrorParser = Callable[[Any], str | None]


def no_error_detail(body: Any) -> str | None:
    """An error parser for vendors whose error bodies carry nothing worth quoting."""
    return None


@dataclass(frozen=True)
class Vendor:
    """One vendor API the host can talk to."""

    name: str
    title: str
    auth_scheme: str
    """The word before the token in the Authorization header: ``ApiToken``, ``Bearer``, ``Token``."""
    bindings: Mapping[str, Binding]
    """Action name -> the coroutine that runs it against this vendor."""
    error_detail: ErrorParser = no_error_detail
    """Pulls the vendor's own message out of a decoded error body, for one-line errors."""
    rate_limit: tuple[float, float] | None = None
    """The documented limit as (requests, seconds); a connection may set a lower one."""
    endpoints: Mapping[str, list[str]] = field(default_factory=dict)
    """For bindings of actions whose file does not list this vendor: action -> endpoints used."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Defaults of vendor-specific connection options (a connection's ``options`` override them)."""
