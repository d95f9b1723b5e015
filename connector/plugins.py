"""The plugin host: loads built-in and third-party plugins and collects what they register.

Built-in features are ordinary plugins listed in :data:`DEFAULT_PLUGINS`; the built-in vendors
(:data:`VENDOR_PLUGINS`) are plugins too, imported the first time a run needs one, so that a run
against one vendor loads no other vendor's code. Third parties arrive through the ``connector``
entry-point group; ``CONNECTOR_LOAD_PLUGINS`` (a comma-separated list of entry-point names, empty
for none) narrows which of those load. A hook implementation whose name matches no hook fails
loudly at start-up (``check_pending``), and so does an action bound to a vendor that has no
binding for it (when that vendor is loaded). A third-party plugin that fails to import is named in
one warning line (and kept in :attr:`Host.broken`); every other plugin keeps working.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pluggy

from connector import hookspecs
from connector.actions import ActionSpec, BindingSpec, check_action_files, load_actions
from connector.catalog import ENTRY_POINT_GROUP, LOAD_ENV, actions_dir, canonical_name
from connector.errors import BadInput, ConfigError
from connector.formats import OutputFormat
from connector.schemas import SchemaStore
from connector.suggest import did_you_mean
from connector.vendor import Vendor

log = logging.getLogger(__name__)

DEFAULT_PLUGINS: tuple[str, ...] = ("connector.builtin", "connector.formats.builtin", "connector.jobs.limits")
VENDOR_PLUGINS: dict[str, str] = {
    "sentinelone": "connector.vendors.sentinelone",
    "mysecutec": "connector.vendors.mysecutec",
    "nameshield": "connector.vendors.nameshield",
    "ciso_assistant": "connector.vendors.ciso_assistant",
}
"""Built-in vendor name -> its plugin module, imported on first use (see :meth:`Host.vendor`)."""


class Host:
    """The plugin manager and everything the plugins registered: vendors, actions, schemas."""

    def __init__(self, extra_plugins: Iterable[object] = (), *, entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("connector")
        self.pm.add_hookspecs(hookspecs)
        self.broken: dict[str, str] = {}
        """Entry-point name -> why that third-party plugin could not be imported (one line)."""
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
        self._vendors: dict[str, Vendor] = {}
        self.actions: dict[str, ActionSpec] = {}
        schema_folders: list[Path] = []
        self.pm.hook.register_actions(register=self._add_actions)
        self.pm.hook.register_schemas(register=schema_folders.append)
        self.schemas = SchemaStore(schema_folders)
        self.formats: dict[str, OutputFormat] = {}
        self.pm.hook.register_output_formats(register=self._add_format)
        self.pm.hook.register_vendors(register=self._add_vendor)
        for spec in self.actions.values():
            for schema in (spec.input, spec.output):
                if schema not in self.schemas:
                    raise ConfigError(f"action {spec.name}: schema {schema!r} is not known")
            for vendor_name in spec.vendors:
                if vendor_name not in VENDOR_PLUGINS and vendor_name not in self._vendors:
                    raise ConfigError(f"action {spec.name}: vendor {vendor_name!r} has no binding for it")

    @property
    def hook(self) -> Any:
        """The hook relay, to fire lifecycle events."""
        return self.pm.hook

    def action(self, name: str) -> ActionSpec:
        """The action called ``name`` (dashes or underscores); unknown names are bad input."""
        key = canonical_name(name)
        if key not in self.actions:
            hint = did_you_mean(name, self.actions, dashes=True)
            raise BadInput(f"action {name!r} is not known (see `connector list`){hint}")
        return self.actions[key]

    @property
    def vendors(self) -> dict[str, Vendor]:
        """Every vendor, the built-in ones loaded (for listings and checks; a run uses :meth:`vendor`)."""
        for name in VENDOR_PLUGINS:
            self._load_vendor(name)
        return self._vendors

    def vendor(self, name: str) -> Vendor:
        """The vendor called ``name``, its plugin loaded if it is a built-in one; unknown names are bad input."""
        if name in VENDOR_PLUGINS:
            self._load_vendor(name)
        if name not in self._vendors:
            known = sorted(self.vendors)
            raise BadInput(f"vendor {name!r} is not known (known: {', '.join(known)}){did_you_mean(name, known)}")
        return self._vendors[name]

    def _load_vendor(self, name: str) -> None:
        module_name = VENDOR_PLUGINS[name]
        if self.pm.has_plugin(module_name):
            return
        module = importlib.import_module(module_name)
        self.pm.register(module, name=module_name)
        others = [plugin for plugin in self.pm.get_plugins() if plugin is not module]
        self.pm.subset_hook_caller("register_vendors", remove_plugins=others)(register=self._add_vendor)

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        chosen = os.environ.get(LOAD_ENV)
        wanted = None if chosen is None else {part.strip() for part in chosen.split(",")}
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if (wanted is not None and entry.name not in wanted) or self.pm.has_plugin(entry.name):
                continue
            try:
                plugin = entry.load()
            except Exception as exc:  # a third party's import error of any kind: that plugin only is left out
                reason = str(exc).splitlines()[0] if str(exc) else ""
                self.broken[entry.name] = f"plugin {entry.name} ({entry.value}) failed to import, left out: " \
                    f"{type(exc).__name__}{': ' if reason else ''}{reason}"
                log.warning("%s", self.broken[entry.name])
                continue
            self.pm.register(plugin, name=entry.name)

    def _add_vendor(self, vendor: Vendor) -> None:
        if vendor.name in self._vendors:
            raise ConfigError(f"plugin: vendor {vendor.name!r} is registered twice")
        self._vendors[vendor.name] = vendor
        self._check_bindings(vendor)

    def _add_format(self, output_format: OutputFormat) -> None:
        if output_format.name in self.formats:
            raise ConfigError(f"plugin: format {output_format.name!r} is registered twice")
        self.formats[output_format.name] = output_format

    def _add_actions(self, path: Path) -> None:
        if path.resolve() != actions_dir().resolve():
            check_action_files(path)  # a plugin's files: every mistake named against the format
        for spec in load_actions(path):
            if spec.name in self.actions:
                raise ConfigError(f"plugin: action {spec.name!r} is registered twice")
            self.actions[spec.name] = spec

    def _check_bindings(self, vendor: Vendor) -> None:
        # A vendor plugin may bind an action declared elsewhere (a third-party vendor for
        # get_threats): the action then lists that vendor too.
        for action_name in vendor.bindings:
            spec = self.actions.get(action_name)
            if spec is None:
                raise ConfigError(f"vendor {vendor.name}: binds unknown action {action_name!r}")
            if vendor.name not in spec.vendors:
                endpoints = list(vendor.endpoints.get(action_name, []))
                added = {**spec.vendors, vendor.name: BindingSpec(endpoints=endpoints)}
                self.actions[action_name] = spec.model_copy(update={"vendors": added})
        for spec in self.actions.values():
            if vendor.name in spec.vendors and spec.name not in vendor.bindings:
                raise ConfigError(f"action {spec.name}: vendor {vendor.name!r} has no binding for it")


@cache
def default_host() -> Host:
    """The host with the built-in and installed plugins, built once per process."""
    return Host()
