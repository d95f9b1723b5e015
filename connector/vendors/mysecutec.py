"""MySecutec TAM: client bindings and the mapping to the common shapes."""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor

NAME = "mysecutec"


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """MySecutec TAM and its bindings."""
    register(Vendor(name=NAME, title="MySecutec TAM", auth_scheme="Bearer", bindings={}))
