"""Where the declarative parts live: actions/, schemas/ and manifest.yaml, and reading them as plain data.

In a source checkout they sit beside the package; an installed wheel carries them inside it
(``connector/_catalog``, see pyproject.toml), so both layouts work without configuration.
:func:`declared_actions` and :func:`schema_file` read the built-in files with YAML and JSON only
(no validation, no plugins), for the commands that only show them (``list``, ``describe``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import yaml

from connector.errors import BadInput

_PACKAGE = Path(__file__).resolve().parent
ENTRY_POINT_GROUP = "connector"
"""The entry-point group third-party plugins register under."""
LOAD_ENV = "CONNECTOR_LOAD_PLUGINS"
"""Comma-separated entry-point names: only those third-party plugins load (empty: none)."""


def catalog_root() -> Path:
    """The folder that holds actions/, schemas/ and manifest.yaml."""
    bundled = _PACKAGE / "_catalog"
    return bundled if bundled.is_dir() else _PACKAGE.parent


def actions_dir() -> Path:
    """The built-in action definitions, one YAML file per action."""
    return catalog_root() / "actions"


def schemas_dir() -> Path:
    """The built-in JSON Schemas, one file per schema."""
    return catalog_root() / "schemas"


def manifest_path() -> Path:
    """The connector manifest, generated from the actions and vendors."""
    return catalog_root() / "manifest.yaml"


def canonical_name(name: str) -> str:
    """Accept ``get-threats``, ``get_threats`` and ``Get_Threats`` alike."""
    return name.strip().lower().replace("-", "_")


def declared_actions() -> list[dict[str, Any]]:
    """Every built-in action as its file declares it, by name (the files are validated where actions run)."""
    # libyaml's safe loader where PyYAML has it: the same safety, a fraction of the time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    files = sorted(actions_dir().glob("*.yaml"))
    return [yaml.load(path.read_text(encoding="utf-8"), Loader=loader) for path in files]


def schema_file(name: str) -> dict[str, Any]:
    """The built-in schema ``name`` (a file name such as ``get_threats.input.json``)."""
    path = schemas_dir() / name
    if "/" in name or not path.is_file():
        raise BadInput(f"schema {name!r} is not known")
    document: dict[str, Any] = orjson.loads(path.read_bytes())
    return document


def third_party_plugins() -> bool:
    """Whether a third-party plugin would load (an entry point of the group, not narrowed away)."""
    from importlib.metadata import entry_points

    chosen = os.environ.get(LOAD_ENV)
    names = {entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)}
    if chosen is not None:
        names &= {part.strip() for part in chosen.split(",")}
    return bool(names)
