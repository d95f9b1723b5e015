"""Where the declarative parts live: actions/, schemas/ and manifest.yaml.

In a source checkout they sit beside the package; an installed wheel carries them inside it
(``connector/_catalog``, see pyproject.toml), so both layouts work without configuration.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


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
