"""A plugin whose hook name is misspelled: the host must refuse it at start-up."""

from collections.abc import Callable
from typing import Any

from connector.hookspecs import hookimpl


@hookimpl
def register_vendor(register: Callable[[Any], None]) -> None:
    """Misspelled: the hook is register_vendors."""
