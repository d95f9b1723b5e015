"""What the generated Shuffle app and Cortex programs call at run time, on connector's Python API.

A platform hands over text (Shuffle) or JSON (Cortex) and its own copy of the token; this module
turns them into a :class:`~connector.connections.Connection` holding the token in memory, the
action's input (by the shared type rules of :mod:`connector.export.description`), and a run of
:func:`connector.run_action` or :func:`connector.run_playbook`. Nothing here raises for bad input:
every problem becomes a failed envelope with one line naming the field and the rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from connector.api import run_action
from connector.connections import Connection
from connector.envelope import Envelope
from connector.errors import BadInput, ConfigError, ConnectorError
from connector.export.description import Description, Param, describe, parse_value
from connector.playbook import run_playbook
from connector.playbook.report import PlaybookResult
from connector.redaction import redactor

TOKEN_ENV = "CONNECTOR_TOKEN"
"""Where a standalone run (no platform to hand the token over) reads it, so it stays off the command line."""


@cache
def description() -> Description:
    """The description the app was generated from (the installed connector's, pinned by version)."""
    return describe()


def connection(name: str, vendor: str, base_url: str, token: str | None, verify_tls: Any = True) -> Connection:
    """The connection of a platform's credentials: the token in memory, else ``$CONNECTOR_TOKEN``."""
    token = token or os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        raise ConfigError(f"connection {name!r}: token: missing (the platform's credential, or ${TOKEN_ENV})")
    fields = {"name": name, "vendor": vendor, "base_url": (base_url or "").strip(), "verify_tls": _flag(verify_tls)}
    return Connection.with_token(token, **fields)


def action_input(action: str, values: dict[str, Any]) -> dict[str, Any]:
    """The action's input from the values a platform handed over; empty text means not given."""
    params = {param.name: param for param in description().action(action).params}
    document = {}
    for name, value in values.items():
        if value is None or value == "":
            continue
        param = params[name]
        document[param.property] = parse_value(param, value)
    return document


def run(action: str, values: dict[str, Any], target: Callable[[], Connection], dry_run: Any = False) -> Envelope:
    """Run ``action`` on the connection ``target()`` builds (called here, so its errors land in the envelope)."""
    try:
        document = action_input(action, values)
        chosen = target()
        return run_action(action, document, connection=chosen, vendor=chosen.vendor, dry_run=_dry_run(dry_run))
    except ConnectorError as exc:
        return failed(action, exc)


def failed(action: str, exc: ConnectorError) -> Envelope:
    """The envelope of a run refused before it started (bad input or configuration)."""
    return Envelope.failed(action, exc)


_DRY_RUN = Param(name="dry_run", property="dry_run", description="", required=False, kind="boolean")
_INPUTS = Param(name="inputs", property="inputs", description="The playbook's inputs.", required=False, kind="json")


def shuffle_result(envelope: Envelope) -> dict[str, Any]:
    """The envelope as a Shuffle result: ``success`` and ``exit_code`` added, and ``reason`` when it failed.

    ``reason`` is the one line Shuffle's own failures carry (its SDK's errors, the official apps').
    """
    result = {**envelope.model_dump(mode="json"), "success": envelope.status != "failed",
              "exit_code": envelope.exit_code}
    if envelope.status == "failed":
        lines = [f"{error.item}: {error.message}" if error.item else error.message for error in envelope.errors]
        result["reason"] = "; ".join(lines) or f"{envelope.action} failed"
    return result


SHUFFLE_USAGE = (
    "usage: python app.py --standalone --action=NAME [--PARAMETER=VALUE ...] (token in $CONNECTOR_TOKEN); "
    "Shuffle runs the app with $ACTION set or SHUFFLE_SWARM_CONFIG=run"
)


def shuffle_main(app: Any, argv: list[str], environ: Mapping[str, str]) -> int:
    """Start the Shuffle app as Shuffle does; run bare, outside Shuffle, print how to run it (exit 2).

    Without this the SDK would post an error result to shuffler.io, which is no use on a terminal.
    """
    if len(argv) <= 1 and not environ.get("ACTION") and environ.get("SHUFFLE_SWARM_CONFIG") != "run":
        print(SHUFFLE_USAGE)
        return 2
    app.run()
    return 0


def shuffle_action(action: str, *, url: str, apikey: str, verify_tls: str, vendor: str, dry_run: str = "",
                   values: dict[str, Any]) -> dict[str, Any]:
    """One action of the generated Shuffle app: its parameters in, the envelope out."""
    def target() -> Connection:
        if not vendor:
            raise BadInput(f"vendor: missing (one of {', '.join(description().action(action).vendors)})")
        return connection("shuffle", vendor, url, apikey, verify_tls if verify_tls != "" else True)

    return shuffle_result(run(action, values, target, dry_run))


def shuffle_playbook(playbook: Any, inputs: Any = "", dry_run: Any = "", config: str = "",
                     sandbox_url: str = "") -> dict[str, Any]:
    """The playbook runner action: a playbook (YAML text or a path) with its inputs (JSON).

    Shuffle hands JSON-looking text over already parsed, so either may arrive as a mapping.
    """
    try:
        source = playbook if isinstance(playbook, dict) else _playbook_source(playbook)
        values = parse_value(_INPUTS, inputs) if inputs not in ("", None) else {}
        if not isinstance(values, dict):
            raise BadInput("inputs: must be a JSON object")
        result = run_playbook(
            source, values, dry_run=_dry_run(dry_run), config=Path(config) if config else None,
            sandbox=sandbox_url.rstrip("/") or False,
        )
    except ConnectorError as exc:
        problems = [redactor.redact(line) for line in getattr(exc, "problems", [exc.message])]
        return {"status": "failed", "errors": problems, "success": False, "exit_code": exc.exit_code,
                "reason": "; ".join(problems)}
    answer = {**result.model_dump(mode="json"), "success": result.status != "failed", "exit_code": result.exit_code}
    if result.status == "failed":
        answer["reason"] = _playbook_reason(result)
    return answer


def _playbook_reason(result: PlaybookResult) -> str:
    """The failed playbook's first failed step and its first error, or the outputs that could not be evaluated."""
    for step in result.steps:
        errors = [error for envelope in step.envelopes for error in envelope.errors]
        if step.status == "failed":
            return f"step {step.id}: {errors[0].message if errors else 'failed'}"
    return "; ".join(result.errors) or f"playbook {result.playbook}: failed"


def _playbook_source(text: str) -> Path | dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        raise BadInput("playbook: not valid YAML") from None
    if isinstance(document, dict):
        return document
    if isinstance(document, str) and document:
        return Path(document)
    raise BadInput("playbook: must be a playbook (YAML) or the path of a playbook file")


def _dry_run(value: Any) -> bool:
    return value not in ("", None) and bool(parse_value(_DRY_RUN, value))


def _flag(value: Any) -> Any:
    # Shuffle hands booleans over as text; a CA bundle path (verify_tls) is kept as it is.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value

