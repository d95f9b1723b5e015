"""Declarative actions: one YAML file per action, read into :class:`ActionSpec`.

The format is ``schemas/action.json`` (generated from :class:`ActionSpec`); a plugin's action
files are checked against it when they are registered (:func:`check_action_files`).

An action file says what the action is (name, title, description, whether it mutates), which
schemas its input and output follow, which vendors bind it, with the vendor endpoints each
binding calls, and the deprecated names its input still accepts (``aliases``). The Python that
runs a binding lives in that vendor's module.

Every single-object action names its object ``id`` (many-object ones ``ids``); an older name such as
``threat_id`` is an alias: :func:`aliased_input` renames it before the input is validated and says
so, and :func:`connector.deprecations.warn_deprecated` turns that into one warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connector.errors import BadInput, ConfigError

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (every run reads the action files), else PyYAML's."""


class BindingSpec(BaseModel):
    """What one vendor's binding of an action calls."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoints: list[str] = Field(description="METHOD /path of every vendor endpoint the binding uses")
    vendor_filters: str | None = Field(None, description="schema file that input.vendor_filters must follow")
    notes: str | None = Field(None, description="What the binding does that the action's description does not say")
    role: str | None = Field(None, description="The vendor role or permission the API token needs for this action")


class ActionSpec(BaseModel):
    """One action as declared in actions/<name>.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    mutates: bool
    input: str = Field(description="schema file name of the input")
    output: str = Field(description="schema file name of the output")
    records: str | None = Field(
        None, description="output key of the list the bindings yield record by record, as they are read"
    )
    example: dict[str, Any] | None = Field(
        None, description="An input the generated docs run against the sandbox (a dry run when the action mutates)"
    )
    vendors: dict[str, BindingSpec]
    aliases: dict[str, str] = Field(
        default_factory=dict, description="deprecated input name -> the input field it names now (still accepted)"
    )

    @property
    def cli_name(self) -> str:
        """The name as typed on the command line: ``get-threats``."""
        return self.name.replace("_", "-")


def load_action(path: Path) -> ActionSpec:
    """Read one action file; an invalid one is a configuration error naming the file and field."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        return ActionSpec.model_validate(document)
    except yaml.YAMLError:
        raise ConfigError(f"action file {path.name}: not valid YAML") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(root)"
        raise ConfigError(f"action file {path.name}: {where}: {error['msg']}") from None


def check_action_files(path: Path) -> None:
    """Check each action file in ``path`` (a file or a folder) against ``schemas/action.json``:
    ConfigError naming the file, the field and the rule, for a plugin author to act on."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from connector.catalog import schema_file
    from connector.schemas import describe_error

    validator = Draft202012Validator(schema_file("action.json"))
    for file in sorted(path.glob("*.yaml")) if path.is_dir() else [path]:
        try:
            document = yaml.load(file.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            raise ConfigError(f"action file {file}: not a readable YAML file") from None
        error = best_match(validator.iter_errors(document))
        if error is not None:
            raise ConfigError(f"action file {file}: {describe_error(error, '(root)').removeprefix('(root).')}")


def load_actions(path: Path) -> list[ActionSpec]:
    """Every action in a YAML file or in a folder of them."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return [load_action(file) for file in files]


def aliased_input(spec: ActionSpec, document: Any) -> tuple[Any, list[str]]:
    """``document`` with each deprecated name renamed to its field, and one message per rename.

    Pure: the caller's document is not changed. Both names at once are bad input.
    """
    if not spec.aliases or not isinstance(document, dict) or not spec.aliases.keys() & document.keys():
        return document, []
    renamed = dict(document)
    messages: list[str] = []
    for old, new in spec.aliases.items():
        if old not in renamed:
            continue
        if new in renamed:
            raise BadInput(f"input.{old}: a deprecated name of {new}; give {new} only")
        renamed[new] = renamed.pop(old)
        messages.append(f"{spec.name}: input.{old} is deprecated, use {new}")
    return renamed, messages
