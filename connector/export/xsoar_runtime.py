"""What the generated XSOAR integration calls: the command, the instance's params and the args in, one entry out.

The script keeps only the XSOAR side (``demisto.command()``, ``params()``, ``args()``,
``results()``); here the instance becomes a connection (the token in memory), the command an
action with its input, and the run's envelope an XSOAR entry: a note with the output in the
context under ``Connector.<Action>``, or an error entry with one line.
"""

from __future__ import annotations

from typing import Any

from connector.connections import Connection
from connector.envelope import Envelope
from connector.errors import BadInput
from connector.export import runtime
from connector.export.description import camel

NOTE, ERROR = 1, 4
"""XSOAR entry types."""
_COMMAND_PREFIX = "connector-"
_TABLE_FIELDS = ("uid", "title", "severity", "status", "created_at")


def run_command(command: str, params: dict[str, Any], args: dict[str, Any]) -> dict[str, Any] | str:
    """The entry XSOAR shows for ``command``; ``test-module`` answers ``ok`` when the connection works."""
    if command == "test-module":
        envelope = runtime.run("test_connection", {}, lambda: _connection(params))
        return "ok" if envelope.status != "failed" else _error(envelope)
    action = command.removeprefix(_COMMAND_PREFIX).replace("-", "_")
    known = {item.name for item in runtime.description().actions}
    if not command.startswith(_COMMAND_PREFIX) or action not in known:
        return {"Type": ERROR, "ContentsFormat": "text", "Contents": f"command: {command!r} is not a connector command"}
    values = {name: value for name, value in args.items() if name != "dry_run"}
    allowed = {param.name for param in runtime.description().action(action).params}
    unknown = sorted(set(values) - allowed)
    if unknown:
        return {"Type": ERROR, "ContentsFormat": "text", "Contents": f"args.{unknown[0]}: not an argument of {command}"}
    envelope = runtime.run(action, values, lambda: _connection(params, action), args.get("dry_run", False))
    if envelope.status == "failed":
        return _error(envelope)
    return _note(envelope)


def _connection(params: dict[str, Any], action: str = "test_connection") -> Connection:
    vendor = str(params.get("vendor") or "")
    vendors = runtime.description().action(action).vendors
    if vendor not in vendors:
        raise BadInput(f"params.vendor: {vendor!r} does not run {action} (one of {', '.join(vendors)})")
    credentials = params.get("credentials") or {}
    token = credentials.get("password") if isinstance(credentials, dict) else None
    return runtime.connection("xsoar", vendor, str(params.get("url") or ""), token or None,
                              not params.get("insecure", False))


def _note(envelope: Envelope) -> dict[str, Any]:
    result = envelope.model_dump(mode="json")
    return {
        "Type": NOTE,
        "ContentsFormat": "json",
        "Contents": result,
        "ReadableContentsFormat": "markdown",
        "HumanReadable": _markdown(envelope),
        "EntryContext": {f"Connector.{camel(envelope.action)}": result["output"]},
    }


def _error(envelope: Envelope) -> dict[str, Any]:
    lines = [f"{error.item}: {error.message}" if error.item else error.message for error in envelope.errors]
    return {"Type": ERROR, "ContentsFormat": "text", "Contents": "; ".join(lines) or f"{envelope.action} failed"}


def _markdown(envelope: Envelope) -> str:
    """A heading and, for a read, a table of its records (uid, title, severity, status, created)."""
    heading = f"### {camel(envelope.action)} at {envelope.vendor}: {envelope.status}"
    records = next((value for value in envelope.output.values()
                    if isinstance(value, list) and value and isinstance(value[0], dict)), None)
    if not records:
        scalars = {key: value for key, value in envelope.output.items() if not isinstance(value, dict | list)}
        return "\n".join([heading, "", *(f"- **{key}**: {value}" for key, value in scalars.items())])
    rows = [" | ".join(_cell(record.get(field)) for field in _TABLE_FIELDS) for record in records]
    return "\n".join([heading, "", "| " + " | ".join(_TABLE_FIELDS) + " |",
                      "|" + " --- |" * len(_TABLE_FIELDS), *(f"| {row} |" for row in rows)])


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
