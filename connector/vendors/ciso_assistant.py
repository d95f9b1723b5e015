"""CISO Assistant: client bindings and the mapping to the common shapes."""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor

NAME = "ciso_assistant"


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """CISO Assistant and its bindings."""
    register(Vendor(name=NAME, title="CISO Assistant", auth_scheme="Token", bindings={}))
