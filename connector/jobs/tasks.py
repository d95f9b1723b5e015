"""The tasks a worker runs: one action, or one whole playbook (a watch's item).

An action's task carries its run request (:class:`~connector.request.RunRequest`) as it is: the
action, its input, the connection's *name* and the vendor, never a secret:
the worker resolves the connection from its own connections file (``--config`` or
``$CONNECTOR_CONFIG``), so each worker holds only the secrets it was given. Results are plain
JSON: an envelope as ``--format json`` prints it (secrets masked), or a playbook's result; a
playbook that cannot run comes back as ``{"refused": [problems]}`` rather than as an exception.

A result larger than ``max_result`` bytes is not stored: an action's task stores a failed
envelope that says so in one line instead, a playbook's ``{"too_large": line}``, so nothing is
ever truncated silently. A large read can instead stream its records to the request's
``output_file`` (a path on the worker's file system, in the request's format, one record as it is
read): the stored envelope then holds everything but the records, and says where they went in
``meta.output_file``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from celery import Celery, Task

from connector.envelope import Envelope, ErrorItem
from connector.errors import BadInput
from connector.output import to_json

RUN_ACTION = "connector.run_action"
RUN_PLAYBOOK = "connector.run_playbook"
CONFIG_KEY = "connector_config"
"""The app setting where ``connector worker`` keeps its connections file."""

OUTPUT_DIR_KEY = "connector_output_dir"
"""The app setting where ``connector worker --output-dir`` keeps the only folder tasks may write to."""

MAX_RESULT_BYTES = 32 * 1024 * 1024
"""The largest envelope stored in the backend (Redis takes 512 MB, but every reader holds it whole)."""

TOO_LARGE = "too_large"


def register(app: Celery) -> None:
    """Register connector's tasks on ``app``."""
    app.task(name=RUN_ACTION, bind=True)(run_action_task)
    app.task(name=RUN_PLAYBOOK, bind=True)(run_playbook_task)


def run_action_task(
    task: Task[Any, Any], request: dict[str, Any], max_result: int = MAX_RESULT_BYTES
) -> dict[str, Any]:
    """Run one run request on this worker; its envelope as JSON data (its records in its output file, if named)."""
    from connector.execute import deliver, failed_envelope
    from connector.executor import InProcess
    from connector.request import RunRequest
    from connector.sync import run_sync

    try:
        checked = RunRequest.from_payload(request, "request")
    except BadInput as exc:
        action = request.get("action") if isinstance(request, dict) else None
        return _bounded(failed_envelope(RunRequest(action=str(action or "?")), exc), max_result)
    if checked.output_file is not None:
        target = output_path(task.app.conf.get(OUTPUT_DIR_KEY), checked.output_file)
        if isinstance(target, str):
            return _bounded(failed_envelope(checked, BadInput(target)), max_result)
        checked = checked.model_copy(update={"output_file": str(target)})
    envelope = run_sync(deliver(InProcess(config=_config(task.app)), checked))
    return _bounded(envelope, max_result)


def output_path(folder: str | None, output_file: str) -> Path | str:
    """Where ``output_file`` goes: a path inside the worker's ``folder`` (a relative one is taken
    from there), else the one line refusing it. A message never writes anywhere else."""
    if not folder:
        return "output_file: this worker writes no files (start it with --output-dir)"
    root = Path(folder).resolve()
    # Resolved, so neither ``..`` nor a symbolic link leads out of the folder.
    target = (root / output_file).resolve()
    if not target.is_relative_to(root) or target == root:
        return f"output_file: {output_file!r} is not inside this worker's --output-dir"
    return target


def run_playbook_task(
    task: Task[Any, Any],
    playbook: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    sandbox: str | None = None,
    dry_run: bool = False,
    max_result: int = MAX_RESULT_BYTES,
) -> dict[str, Any]:
    """Run a whole playbook on this worker, its steps in-process; its result as JSON data."""
    from connector.playbook import PlaybookInvalid, run_playbook

    try:
        result = run_playbook(playbook, inputs, sandbox=sandbox or False, dry_run=dry_run, config=_config(task.app))
    except PlaybookInvalid as exc:
        return {"refused": exc.problems}
    except BadInput as exc:
        return {"refused": [exc.message]}
    text = to_json(result, pretty=False)
    size = len(text.encode())
    if size > max_result:
        return {TOO_LARGE: f"playbook {result.playbook}: {_too_large(size, max_result)}"}
    data: dict[str, Any] = orjson.loads(text)
    return data


def _config(app: Celery) -> Path | None:
    value = app.conf.get(CONFIG_KEY)
    return Path(value) if value else None


def _bounded(envelope: Envelope, max_result: int) -> dict[str, Any]:
    """The envelope as JSON data, secrets masked; a failed one saying so when it exceeds ``max_result``."""
    text = to_json(envelope, pretty=False)
    size = len(text.encode())
    if size <= max_result:
        data: dict[str, Any] = orjson.loads(text)
        return data
    refused = Envelope(
        action=envelope.action, vendor=envelope.vendor, connection=envelope.connection, status="failed",
        errors=[ErrorItem(type=TOO_LARGE, message=_too_large(size, max_result))], meta=envelope.meta,
    )
    refusal: dict[str, Any] = orjson.loads(to_json(refused, pretty=False))
    return refusal


def _too_large(size: int, limit: int) -> str:
    return (
        f"the result is {size} bytes, over the result limit of {limit} bytes: narrow the input "
        "(limit, filters) or run it in-process with `connector run`, which streams"
    )
