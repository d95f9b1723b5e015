"""The built-in plugin: the host's own actions and schemas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connector.catalog import actions_dir, schemas_dir
from connector.hookspecs import hookimpl


@hookimpl
def register_actions(register: Callable[[Path], None]) -> None:
    """The actions of actions/."""
    register(actions_dir())


@hookimpl
def register_schemas(register: Callable[[Path], None]) -> None:
    """The schemas of schemas/."""
    register(schemas_dir())
