"""Request bodies: JSON objects with known keys only, checked like the CLI checks its input.

Every problem is one line in the CLI's style (``body.dry_run: 'yes' is not of type 'boolean'
(rule: type)``), from the same :func:`connector.schemas.describe_error`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.errors import BadInput
from connector.request import SURFACES, RunRequest
from connector.schemas import InlineSchema, load_object

PLAYBOOK_NAME = "^[A-Za-z0-9][A-Za-z0-9_-]*$"
"""A playbook name is a bare file stem: no dots or slashes, so it cannot leave the playbooks folder."""

PLAYBOOK_NAME_MAX = 100
"""Longer names are refused before they reach the file system (whose limit is 255 bytes)."""

SURFACE = "connector serve"


def _action_run_schema() -> dict[str, Any]:
    """The run request's own schema, less the action (in the path) and the options serve does not take."""
    schema = RunRequest.model_json_schema()
    skipped = {"action", *SURFACES[SURFACE]}
    properties = {name: value for name, value in schema["properties"].items() if name not in skipped}
    properties["connection"] = {"type": "string", "minLength": 1}
    return {"type": "object", "additionalProperties": False, "required": ["connection"], "properties": properties}


ACTION_RUN = InlineSchema(_action_run_schema())
"""POST /v1/actions/{name}/run: a run request (the action's input, the connection, how to run it)."""

PLAYBOOK_RUN = InlineSchema({
    "type": "object",
    "additionalProperties": False,
    "required": ["playbook"],
    "properties": {
        "playbook": {"type": ["string", "object"], "pattern": PLAYBOOK_NAME, "maxLength": PLAYBOOK_NAME_MAX},
        "input": {"type": "object"},
        "dry_run": {"type": "boolean"},
    },
})
"""POST /v1/playbooks/run: a playbook's name in the playbooks folder, or the playbook itself, and its inputs."""


def parse_body(raw: bytes, schema: InlineSchema) -> dict[str, Any]:
    """The JSON object in ``raw`` (an empty body is ``{}``), valid against ``schema``."""
    document = load_object(raw, "body")
    schema.validate(document, "body")
    return document


def playbook_file(folder: Path | None, name: str) -> Path:
    """The file ``NAME.yaml`` or ``NAME.yml`` in ``folder``; ``name`` was checked against :data:`PLAYBOOK_NAME`."""
    if folder is None:
        raise BadInput("body.playbook: no playbooks folder is served (connector serve --playbooks DIR); send it inline")
    for suffix in (".yaml", ".yml"):
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    known = sorted({path.stem for path in folder.glob("*.y*ml") if path.suffix in (".yaml", ".yml")})
    raise BadInput(f"body.playbook: no playbook {name!r} in the playbooks folder (known: {', '.join(known) or 'none'})")
