"""test_connection's three checks, the same for every vendor: reachability, authentication, permissions.

A vendor probes with one or two cheap reads. :func:`failed_check` says which check an error fails,
and :func:`probe_answer` writes the action's output: the checks before the failed one passed
(in the vendor's words), the failed one with the error's line, those after it not checked. A failed
check also fails the action (status ``failed``, exit 1, one error naming the check), so a playbook
branching on the exit code never takes a dead connection for a healthy one; the output still lists
every check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connector.errors import AuthError, VendorError

if TYPE_CHECKING:
    from connector.context import RunContext

CHECKS = ("reachability", "authentication", "permissions")
CHECK_FAILED = "check_failed"
"""The error type of a failed check in the envelope (its ``item`` names the check)."""
TOKEN_ACCEPTED = "the token was accepted"

Failure = tuple[str, str]
"""The check that failed, and why."""


def failed_check(error: VendorError, *, answered: bool = False) -> Failure:
    """The check ``error`` fails: 401 authentication, 403 permissions; anything else reachability
    (no connection, a 5xx, an HTML page, a 404 from a base URL that leads elsewhere), or permissions
    once the API has ``answered`` an earlier probe."""
    if isinstance(error, AuthError):
        return ("permissions" if error.status == 403 else "authentication", error.message)
    if answered:
        return "permissions", error.message
    hint = " (is the base URL right?)" if error.status == 404 else ""
    return "reachability", error.message + hint


def connection_report(passed: Mapping[str, str], failure: Failure | None = None) -> dict[str, Any]:
    """The output of test_connection: ``passed`` holds each check's message for when it passes."""
    stage = CHECKS.index(failure[0]) if failure else len(CHECKS)
    checks = []
    for index, name in enumerate(CHECKS):
        if index < stage:
            checks.append({"name": name, "ok": True, "message": passed[name]})
        elif failure is not None and index == stage:
            checks.append({"name": name, "ok": False, "message": failure[1]})
        else:
            checks.append({"name": name, "ok": False, "message": f"not checked: {CHECKS[stage]} failed"})
    return {"ok": failure is None, "checks": checks}


def probe_answer(run: RunContext, passed: Mapping[str, str], failure: Failure | None = None) -> dict[str, Any]:
    """The output of test_connection (see :func:`connection_report`); a failure also fails the action."""
    if failure is not None:
        run.item_failed(failure[0], CHECK_FAILED, failure[1])
        run.nothing_succeeded = True
    return connection_report(passed, failure)
