"""Nameshield CTI: client bindings and the mapping to the common shapes."""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor

NAME = "nameshield"


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """Nameshield CTI and its bindings."""
    register(Vendor(name=NAME, title="Nameshield CTI", auth_scheme="Bearer", bindings={}))
