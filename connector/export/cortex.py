"""The Cortex export: analyzers for the read actions, responders for the mutating ones.

Cortex runs a program with a job directory (``input/input.json`` in, ``output/output.json`` out)
and shows each *flavor* of an analyzer by the JSON definition beside the program. Rules on top of
the shared ones (:mod:`connector.export.description`):

- one folder per kind (``analyzers/Connector``, ``responders/Connector``) holding one program on
  cortexutils and one definition per (action, vendor) flavor, named
  ``Connector_<Vendor>_<Action>`` in CamelCase; the definition's fixed ``config`` says which
  action and vendor the program runs;
- the connection is configuration items shared per vendor (``baseConfig``): ``base_url``,
  ``api_key`` (the token: Cortex's secret items are the ones whose name holds ``key``, which
  cortexutils also removes from error reports) and ``verify_tls``; an action's settings (a
  report's ``limit``, the ``status`` a responder sets) are items typed by the shared kinds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.export.cortex_templates import templates
from connector.export.description import ActionDescription, Description, Kind, camel
from connector.export.project import author, homepage

PREFIX = "Connector"
MAX_TLP = 2
"""TLP:AMBER at most: observables go only to the organisation's own vendor consoles."""
MAX_PAP = 2
"""PAP:AMBER at most: the analyzers query, the responders act, on the organisation's own systems."""
_ITEM_TYPES: dict[Kind, str] = {"integer": "number", "number": "number", "boolean": "boolean"}


@dataclass(frozen=True)
class Flavor:
    """One analyzer or responder: an action at one vendor, for some TheHive data types."""

    action: str
    vendor: str
    data_types: tuple[str, ...]
    settings: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        """``Connector_Sentinelone_GetThreats``."""
        return f"{PREFIX}_{camel(self.vendor)}_{camel(self.action)}"


ANALYZERS = (
    Flavor("get_threats", "sentinelone", ("hash", "hostname", "fqdn", "filename"), ("limit",), (("limit", 100),)),
    Flavor("get_threats", "mysecutec", ("ip", "domain", "fqdn"), ("limit",), (("limit", 100),)),
    Flavor("list_events", "nameshield", ("domain", "fqdn"), ("limit",), (("limit", 100),)),
    Flavor("list_incidents", "ciso_assistant", ("other",), ("limit",), (("limit", 100),)),
)
"""Read actions by observable type: threats and events that mention it; an incident by reference."""

RESPONDERS = (
    Flavor("update_threat_status", "sentinelone", ("thehive:alert", "thehive:case"), ("status", "verdict"),
           (("status", "in_progress"),)),
    Flavor("update_threat_status", "mysecutec", ("thehive:alert", "thehive:case"), ("status",),
           (("status", "resolved"),)),
    Flavor("add_threat_note", "sentinelone", ("thehive:alert", "thehive:case"), ()),
    Flavor("create_incident", "ciso_assistant", ("thehive:case",), ("status",), (("status", "new"),)),
)
"""Mutating actions from a TheHive alert or case: the threat ids are its tags (or sourceRef) ``<vendor>:<id>``."""


def docker_image(kind: str, version: str) -> str:
    """The image each flavor names (``dockerImage``), built from its folder's Dockerfile."""
    return f"{PREFIX.lower()}/cortex-{kind}s:{version}"


def cortex_files(description: Description) -> dict[str, str]:
    """The export's files by path: ``analyzers/Connector/...``, ``responders/Connector/...``, ``thehive-templates/``."""
    files: dict[str, str] = {}
    for kind, flavors in (("analyzer", ANALYZERS), ("responder", RESPONDERS)):
        folder = f"{kind}s/{PREFIX}"
        program = f"connector_{kind}.py"
        for flavor in flavors:
            definition = _definition(description, flavor, kind, f"{PREFIX}/{program}")
            files[f"{folder}/{flavor.name}.json"] = json.dumps(definition, indent=2) + "\n"
        files[f"{folder}/{program}"] = _PROGRAMS[kind].format(version=description.version)
        files[f"{folder}/requirements.txt"] = f"connector-soar=={description.version}\ncortexutils>=2.2\n"
        files[f"{folder}/Dockerfile"] = _DOCKERFILE.format(version=description.version, program=program)
    for flavor in ANALYZERS:
        folder = f"thehive-templates/{flavor.name}_{description.version.replace('.', '_')}"
        for name, text in templates(flavor.name, _records_key(flavor.action)).items():
            files[f"{folder}/{name}"] = text
    return files


def _records_key(action: str) -> str:
    return {"list_events": "events", "list_incidents": "incidents"}.get(action, "threats")


def _definition(description: Description, flavor: Flavor, kind: str, command: str) -> dict[str, Any]:
    action = description.action(flavor.action)
    vendor_title = description.vendors[flavor.vendor]
    return {
        "name": flavor.name,
        "version": description.version,
        "author": author(),
        "url": homepage(),
        "license": "MIT",
        "description": f"{action.title} at {vendor_title}: {_purpose(kind, flavor)}",
        "dataTypeList": list(flavor.data_types),
        "command": command,
        "dockerImage": docker_image(kind, description.version),
        "baseConfig": f"{PREFIX}_{camel(flavor.vendor)}",
        "config": {"service": flavor.action, "vendor": flavor.vendor, "check_tlp": True, "max_tlp": MAX_TLP,
                   "check_pap": True, "max_pap": MAX_PAP},
        "configurationItems": _connection_items(vendor_title) + _setting_items(action, flavor),
    }


def _purpose(kind: str, flavor: Flavor) -> str:
    if kind == "analyzer":
        what = "the incident whose reference is" if flavor.action == "list_incidents" else "what mentions"
        return f"{what} the observable, in connector's common shape, with a severity taxonomy."
    if flavor.action == "create_incident":
        return "an incident for the case, idempotent by the case id (ref_id thehive:<case id>)."
    return f"on the threats the alert or case names by tag or sourceRef {flavor.vendor}:<id>."


def _connection_items(vendor_title: str) -> list[dict[str, Any]]:
    return [
        _item("base_url", f"{vendor_title} API base URL (a connection's base_url).", "string", required=True),
        _item("api_key", f"{vendor_title} API token (a connection's secret).", "string", required=True),
        _item("verify_tls", "Check the vendor's TLS certificate.", "boolean", required=False, default=True),
    ]


def _setting_items(action: ActionDescription, flavor: Flavor) -> list[dict[str, Any]]:
    params = {param.property: param for param in action.params}
    defaults = dict(flavor.defaults)
    items = []
    for name in flavor.settings:
        param = params[name]
        description = param.description + (f" One of: {', '.join(param.options)}." if param.options else "")
        items.append(
            _item(name, description, _ITEM_TYPES.get(param.kind, "string"), required=name in defaults,
                  default=defaults.get(name), multi=param.kind == "list")
        )
    return items


def _item(name: str, description: str, kind: str, *, required: bool, default: Any = None,
          multi: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "description": description, "type": kind, "multi": multi,
                            "required": required}
    if default is not None:
        item["defaultValue"] = default
    return item


_ANALYZER = '''#!/usr/bin/env python3
"""connector {version} analyzers for Cortex, generated by `connector export cortex`; do not edit.

One program for every Connector_* analyzer: the definition's config says which action and vendor
(service, vendor); the connection is the configuration items base_url, api_key and verify_tls.
"""

from cortexutils.analyzer import Analyzer

from connector.export.cortex_runtime import SECRET_PHRASES, analyze, artifacts, taxonomies


class ConnectorAnalyzer(Analyzer):
    """Reads what the vendor knows of the observable through connector's Python API."""

    def __init__(self):
        super().__init__(secret_phrases=SECRET_PHRASES)

    def run(self):
        report, error = analyze(self.get_param("config", {{}}), self.data_type, self.get_data())
        if error:
            self.error(error)
        self.report(report)

    def summary(self, raw):
        return {{"taxonomies": [self.build_taxonomy(*taxonomy) for taxonomy in taxonomies(raw)]}}

    def artifacts(self, raw):
        return [self.build_artifact(data_type, value) for data_type, value in artifacts(raw, self.get_data())]


if __name__ == "__main__":
    ConnectorAnalyzer().run()
'''

_RESPONDER = '''#!/usr/bin/env python3
"""connector {version} responders for Cortex, generated by `connector export cortex`; do not edit.

One program for every Connector_* responder: the definition's config says which action and vendor
(service, vendor); the connection is the configuration items base_url, api_key and verify_tls.
"""

from cortexutils.responder import Responder

from connector.export.cortex_runtime import SECRET_PHRASES, operations, respond


class ConnectorResponder(Responder):
    """Acts at the vendor on what a TheHive alert or case names, through connector's Python API."""

    def __init__(self):
        super().__init__(secret_phrases=SECRET_PHRASES)

    def run(self):
        report, error = respond(self.get_param("config", {{}}), self.data_type, self.get_data())
        if error:
            self.error(error)
        self.report(report)

    def operations(self, raw):
        return [self.build_operation(kind, **parameters) for kind, parameters in operations(raw, self.data_type)]


if __name__ == "__main__":
    ConnectorResponder().run()
'''

_PROGRAMS = {"analyzer": _ANALYZER, "responder": _RESPONDER}

_DOCKERFILE = """# Generated by `connector export cortex`; the image every flavor of this folder names (dockerImage).
# Put connector's own wheel beside this file first: `pip wheel --no-deps -w wheels <connector checkout>`;
# installing that file keeps pip from taking a different package called connector from an index.
FROM python:3.11-slim
WORKDIR /worker
COPY wheels /wheels
COPY requirements.txt Connector/
RUN pip install --no-cache-dir /wheels/connector_soar-{version}-py3-none-any.whl -r Connector/requirements.txt
COPY . Connector/
ENTRYPOINT ["python", "Connector/{program}"]
"""
