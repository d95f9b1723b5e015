"""The plugin host: loads built-in and third-party plugins and collects what they register.

Built-in features are ordinary plugins listed in :data:`DEFAULT_PLUGINS`. Third parties arrive
through the ``connector`` entry-point group; ``CONNECTOR_LOAD_PLUGINS`` (a comma-separated list
of entry-point names, empty for none) narrows which of those load. A hook implementation whose
name matches no hook fails loudly at start-up (``check_pending``), and so does an action bound to
a vendor that has no binding for it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pluggy

from connector import hookspecs
from connector.actions import ActionSpec, BindingSpec, canonical_name, load_actions
from connector.errors import BadInput, ConfigError
from connector.schemas import SchemaStore
from connector.vendor import Vendor

ENTRY_POINT_GROUP = "connector"
LOAD_ENV = "CONNECTOR_LOAD_PLUGINS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "connector.builtin",
    "connector.events.counters",
    "connector.vendors.sentinelone",
    "connector.vendors.mysecutec",
    "connector.vendors.nameshield",
    "connector.vendors.ciso_assistant",
)


class Host:
    """The plugin manager and everything the plugins registered: vendors, actions, schemas."""

    def __init__(self, extra_plugins: Iterable[object] = (), *, entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("connector")
        self.pm.add_hookspecs(hookspecs)
        for name in DEFAULT_PLUGINS:
            self.pm.register(importlib.import_module(name), name=name)
        if entry_points:
            self._load_entry_points()
        for plugin in extra_plugins:
            self.pm.register(plugin)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigError(f"plugin {self.pm.get_name(exc.plugin)}: {exc}") from None
        self.vendors: dict[str, Vendor] = {}
        self.actions: dict[str, ActionSpec] = {}
        schema_folders: list[Path] = []
        self.pm.hook.register_vendors(register=self._add_vendor)
        self.pm.hook.register_actions(register=self._add_actions)
        self.pm.hook.register_schemas(register=schema_folders.append)
        self.schemas = SchemaStore(schema_folders)
        self._check_bindings()

    @property
    def hook(self) -> Any:
        """The hook relay, to fire lifecycle events."""
        return self.pm.hook

    def action(self, name: str) -> ActionSpec:
        """The action called ``name`` (dashes or underscores); unknown names are bad input."""
        key = canonical_name(name)
        if key not in self.actions:
            raise BadInput(f"action {name!r} is not known (see `connector list`)")
        return self.actions[key]

    def vendor(self, name: str) -> Vendor:
        """The vendor called ``name``; unknown names are bad input."""
        if name not in self.vendors:
            raise BadInput(f"vendor {name!r} is not known (known: {', '.join(sorted(self.vendors))})")
        return self.vendors[name]

    def _load_entry_points(self) -> None:
        chosen = os.environ.get(LOAD_ENV)
        if chosen is None:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            return
        for name in filter(None, (part.strip() for part in chosen.split(","))):
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)

    def _add_vendor(self, vendor: Vendor) -> None:
        if vendor.name in self.vendors:
            raise ConfigError(f"plugin: vendor {vendor.name!r} is registered twice")
        self.vendors[vendor.name] = vendor

    def _add_actions(self, path: Path) -> None:
        for spec in load_actions(path):
            if spec.name in self.actions:
                raise ConfigError(f"plugin: action {spec.name!r} is registered twice")
            self.actions[spec.name] = spec

    def _check_bindings(self) -> None:
        # A vendor plugin may bind an action declared elsewhere (a third-party vendor for
        # get_threats): the action then lists that vendor too.
        for vendor in self.vendors.values():
            for action_name in vendor.bindings:
                spec = self.actions.get(action_name)
                if spec is None:
                    raise ConfigError(f"vendor {vendor.name}: binds unknown action {action_name!r}")
                if vendor.name not in spec.vendors:
                    added = {
                        **spec.vendors,
                        vendor.name: BindingSpec(endpoints=list(vendor.endpoints.get(action_name, []))),
                    }
                    self.actions[action_name] = spec.model_copy(update={"vendors": added})
        for spec in self.actions.values():
            for schema in (spec.input, spec.output):
                if schema not in self.schemas:
                    raise ConfigError(f"action {spec.name}: schema {schema!r} is not known")
            for vendor_name in spec.vendors:
                bound = self.vendors.get(vendor_name)
                if bound is None or spec.name not in bound.bindings:
                    raise ConfigError(f"action {spec.name}: vendor {vendor_name!r} has no binding for it")


@cache
def default_host() -> Host:
    """The host with the built-in and installed plugins, built once per process."""
    return Host()
