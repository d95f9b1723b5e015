"""The Cortex XSOAR export: a content pack with one integration whose commands are the actions.

XSOAR installs a pack folder (``pack_metadata.json``, ``README.md``, ``Integrations/<Name>/``)
whose integration is a YAML definition beside its Python script. Rules on top of the shared ones
(:mod:`connector.export.description`):

- one instance is one connection: ``url`` (base_url), ``credentials`` (the token, in XSOAR's
  encrypted credentials field), ``vendor`` and ``insecure`` (XSOAR's name for not checking TLS);
- a command is ``connector-<action>`` in kebab case; its arguments are the input properties
  (a choice is ``predefined``, a list ``isArray``), plus ``dry_run`` where the action mutates;
- the outputs are the output schema's properties under ``Connector.<Action>``, a list of
  records (threats, events) with the common record's fields one level down.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from connector.export.description import ActionDescription, Description, Param, camel
from connector.export.examples import example
from connector.export.project import author, homepage

PACK = "Connector"
CONTEXT = "Connector"
DOCKER_IMAGE = "demisto/python3:3.11.10.113941"
"""The XSOAR Python image the script runs in; connector is added to it (see the pack's README)."""
_TYPES = {"string": "String", "integer": "Number", "number": "Number", "boolean": "Boolean"}
_PARAM_TYPES = {"url": 0, "credentials": 9, "vendor": 15, "insecure": 8}


def command_name(action: str) -> str:
    """``get_threats`` -> ``connector-get-threats``."""
    return f"{PACK.lower()}-{action.replace('_', '-')}"


def xsoar_files(description: Description) -> dict[str, str]:
    """The pack's files by path: ``pack_metadata.json``, ``README.md``, ``Integrations/Connector/*``."""
    folder = f"Integrations/{PACK}"
    return {
        "pack_metadata.json": json.dumps(_metadata(description), indent=4) + "\n",
        "README.md": _PACK_README.format(version=description.version),
        ".pack-ignore": "",
        ".secrets-ignore": "",
        f"{folder}/{PACK}.yml": _integration_yaml(description),
        f"{folder}/{PACK}.py": _SCRIPT.format(version=description.version),
        f"{folder}/{PACK}_description.md": _DESCRIPTION,
        f"{folder}/README.md": _readme(description),
        f"{folder}/command_examples": "".join(f"!{command_name(action.name)}\n" for action in description.actions),
    }


def _metadata(description: Description) -> dict[str, Any]:
    return {
        "name": PACK,
        "description": "SOAR-style actions against " + ", ".join(description.vendors.values()) + ".",
        "support": "community",
        "currentVersion": description.version,
        "author": author(),
        "url": homepage(),
        "email": "",
        "categories": ["Data Enrichment & Threat Intelligence"],
        "tags": [],
        "useCases": [],
        "keywords": ["connector", *description.vendors],
        "marketplaces": ["xsoar"],
    }


def _integration_yaml(description: Description) -> str:
    vendors = list(description.vendors)
    document = {
        "commonfields": {"id": PACK, "version": -1},
        "name": PACK,
        "display": PACK,
        "category": "Data Enrichment & Threat Intelligence",
        "description": "Runs connector's actions against " + ", ".join(description.vendors.values()) + ".",
        "configuration": [
            {"display": "Server URL (the vendor's API base URL)", "name": "url", "type": _PARAM_TYPES["url"],
             "required": True, "section": "Connect"},
            {"displaypassword": "API Token", "name": "credentials", "type": _PARAM_TYPES["credentials"],
             "hiddenusername": True, "required": True, "section": "Connect"},
            {"display": "Vendor", "name": "vendor", "type": _PARAM_TYPES["vendor"], "options": vendors,
             "defaultvalue": vendors[0], "required": True, "section": "Connect"},
            {"display": "Trust any certificate (not secure)", "name": "insecure", "type": _PARAM_TYPES["insecure"],
             "required": False, "section": "Connect", "advanced": True},
        ],
        "script": {
            "commands": [_command(description, action) for action in description.actions],
            "dockerimage": DOCKER_IMAGE,
            "runonce": False,
            "script": "-",
            "subtype": "python3",
            "type": "python",
        },
        "fromversion": "6.10.0",
        "tests": ["No tests (auto formatted)"],
    }
    return yaml.safe_dump(document, sort_keys=False, width=120, allow_unicode=True)


def _command(description: Description, action: ActionDescription) -> dict[str, Any]:
    arguments = [_argument(action, param) for param in action.params]
    if action.mutates:
        arguments.append({"name": "dry_run", "description": "Send nothing; the output lists the requests.",
                          "auto": "PREDEFINED", "predefined": ["false", "true"], "defaultValue": "false"})
    return {
        "name": command_name(action.name),
        "description": f"{action.title}. {action.description} Vendors: {', '.join(action.vendors)}.",
        "arguments": arguments,
        "outputs": _outputs(description, action),
        **({"execution": True} if action.mutates else {}),
    }


def _argument(action: ActionDescription, param: Param) -> dict[str, Any]:
    argument: dict[str, Any] = {"name": param.name, "description": _argument_text(action, param)}
    if param.required:
        argument["required"] = True
    if param.kind == "choice" or param.kind == "boolean":
        argument["auto"] = "PREDEFINED"
        argument["predefined"] = list(param.options) if param.kind == "choice" else ["false", "true"]
    if param.kind == "list":
        argument["isArray"] = True
    return argument


def _argument_text(action: ActionDescription, param: Param) -> str:
    text = param.description.rstrip(".") + "."
    if param.kind == "list":
        text += " Comma-separated, or a JSON array."
    elif param.kind == "json":
        text += " JSON."
    return f"{text} Example: {example(action, param)}"


def _outputs(description: Description, action: ActionDescription) -> list[dict[str, str]]:
    prefix = f"{CONTEXT}.{camel(action.name)}"
    outputs = []
    for name, schema in action.returns.get("properties", {}).items():
        resolved, root = _resolve(schema, action.returns, description)
        outputs.append(_output(f"{prefix}.{name}", resolved))
        record, record_root = _record(resolved, root, description)
        for field, field_schema in record.get("properties", {}).items():
            outputs.append(_output(f"{prefix}.{name}.{field}", _resolve(field_schema, record_root, description)[0]))
    return outputs


def _output(path: str, schema: dict[str, Any]) -> dict[str, str]:
    text = schema.get("description") or schema.get("title") or path.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    return {"contextPath": path, "description": " ".join(str(text).split()), "type": _type(schema)}


Resolved = tuple[dict[str, Any], dict[str, Any]]
"""A schema and the document its local ``$ref`` s point into."""


def _record(schema: dict[str, Any], root: dict[str, Any], description: Description) -> Resolved:
    """The object whose fields go one level down: the property itself, or its array's items."""
    if schema.get("type") == "array":
        return _resolve(schema.get("items") or {}, root, description)
    return (schema, root) if schema.get("type") == "object" else ({}, root)


def _resolve(schema: dict[str, Any], root: dict[str, Any], description: Description) -> Resolved:
    """``$ref`` (local or to a shared record schema) followed, and a nullable ``anyOf`` reduced to its value."""
    reference = schema.get("$ref", "")
    if reference in description.documents:
        document = description.documents[reference]
        return document, document
    if reference.startswith("#/$defs/"):
        return _resolve(root.get("$defs", {})[reference.removeprefix("#/$defs/")], root, description)
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if len(branches) == 1:
        inner, inner_root = _resolve(branches[0], root, description)
        return {**inner, **{key: value for key, value in schema.items() if key != "anyOf"}}, inner_root
    types = schema.get("type")
    if isinstance(types, list):
        return {**schema, "type": next((kind for kind in types if kind != "null"), "null")}, root
    return schema, root


def _type(schema: dict[str, Any]) -> str:
    if schema.get("format") == "date-time":
        return "Date"
    return _TYPES.get(str(schema.get("type")), "Unknown")


def _readme(description: Description) -> str:
    lines = [
        f"Runs connector {description.version}'s actions against "
        + ", ".join(description.vendors.values()) + ". One instance is one vendor account.",
        "",
        "## Configure Connector on Cortex XSOAR",
        "",
        "| Parameter | Description | Required |",
        "| --- | --- | --- |",
        "| Server URL | The vendor's API base URL. | True |",
        "| API Token | The vendor's API token, kept in XSOAR's credentials. | True |",
        "| Vendor | Which vendor the instance talks to. | True |",
        "| Trust any certificate (not secure) | Do not check the vendor's TLS certificate. | False |",
        "",
        "## Commands",
        "",
    ]
    for action in description.actions:
        lines += [f"### {command_name(action.name)}", "", f"{action.title}. {action.description}", "",
                  f"Vendors: {', '.join(action.vendors)}. Outputs under `{CONTEXT}.{camel(action.name)}`.", ""]
    return "\n".join(lines)


_DESCRIPTION = """One instance per vendor account: the vendor's API base URL, its API token (stored in the
credentials field, never shown) and the vendor. Every command answers the action's envelope; a
failed run is an error entry with one line naming the field or the vendor's answer.
"""

_PACK_README = """Cortex XSOAR pack generated by `connector export xsoar` (connector {version}); do not edit.

The integration runs connector's actions through its Python API, so its Docker image needs
connector installed: build one from the `DOCKER_IMAGE` named in the integration with
`pip install connector-{version}-py3-none-any.whl`, and select it in the integration settings.
"""

_SCRIPT = '''"""connector {version} as a Cortex XSOAR integration, generated by `connector export xsoar`; do not edit.

Every command runs one action through connector's Python API (connector.run_action) on the
instance's connection, the token held in memory only, and answers one entry: the envelope with
its output in the context, or an error entry with one line.
"""

import demistomock as demisto

from connector.export.xsoar_runtime import run_command


def main():
    demisto.results(run_command(demisto.command(), demisto.params(), demisto.args()))


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
'''
