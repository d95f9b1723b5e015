"""The exceptions of connector, one root and three families.

    ConnectorError                  root; carries one human line and an exit code
    ├── InternalError               exit 1: a bug, any other exception, told in one line
    ├── BadInput                    exit 2: action input, CLI arguments, playbook
    │   └── ConfigError             exit 2: connections file, secrets, base URLs
    ├── VendorError                 exit 1: the vendor or the network failed the action
    │   ├── RetriableError          429, 5xx, connection errors: the HTTP layer retries these
    │   ├── AuthError               401/403: wrong or missing token, missing permission
    │   └── BadVendorAnswer         HTML page, truncated JSON, a shape the mapper cannot read
    └── QueueError                  exit 1: the task queue failed the run (connector.jobs)
        ├── BrokerUnavailable       the broker or its result store cannot be reached, or went away
        └── JobTimeout              a job had no result within the time the caller would wait

Messages never contain secrets: the HTTP layer builds them from the method, the path and the
vendor's own error text, never from headers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

logger = logging.getLogger(__name__)

EXIT_SUCCESS, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_PARTIAL = 0, 1, 2, 3
"""The exit codes a playbook branches on: success, failed (vendor, network), bad input or config, partial."""


class ConnectorError(Exception):
    """Root of every error connector raises on purpose."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InternalError(ConnectorError):
    """An exception connector did not raise on purpose (a bug), as one line; the traceback goes to
    the debug log (``-vv``) only. Every entry point (CLI, serve routes, watch loop, Python API)
    turns what escapes it into one of these."""

    kind = "internal"

    @classmethod
    def wrapping(cls, error: BaseException) -> InternalError:
        """The one line for ``error``; its traceback is logged at debug level (shown by ``-vv``)."""
        logger.debug("internal error", exc_info=error)
        text = str(error).strip()
        detail = text.splitlines()[0][:200] if text else "(no message)"
        return cls(f"internal error: {type(error).__name__}: {detail} (please report; -vv shows the traceback)")


def as_connector_error(error: BaseException) -> ConnectorError:
    """The boundary guard of every surface: an error raised on purpose as it is, anything else as
    an :class:`InternalError` line (its traceback in the debug log)."""
    return error if isinstance(error, ConnectorError) else InternalError.wrapping(error)


P = ParamSpec("P")
T = TypeVar("T")


def guarded(function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """An entry point's guard (an async function): what it raises on purpose passes, anything else
    becomes an :class:`InternalError` line."""

    @functools.wraps(function)
    async def entry_point(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await function(*args, **kwargs)
        except Exception as error:
            raise as_connector_error(error) from None

    return entry_point


class BadInput(ConnectorError):
    """The caller asked for something invalid: nothing was sent to a vendor."""

    exit_code = 2
    kind = "bad_input"


class ConfigError(BadInput):
    """The connections file, a secret reference or a connection setting is invalid."""

    kind = "config"


class VendorError(ConnectorError):
    """The vendor answered with an error, or could not be reached."""

    kind = "vendor"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetriableError(VendorError):
    """A failure worth another try: rate limited, a 5xx, a reset connection or a time-out."""

    kind = "retriable"

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class AuthError(VendorError):
    """The vendor refused the token (401) or the permission (403)."""

    kind = "auth"


class BadVendorAnswer(VendorError):
    """The vendor answered something that is not what its API documents."""

    kind = "bad_answer"


class QueueError(ConnectorError):
    """The task queue failed a run: nothing says whether the action ran."""

    kind = "queue"


class BrokerUnavailable(QueueError):
    """The broker (or its result backend) could not be reached, or went away."""

    kind = "broker"


class JobTimeout(QueueError):
    """A job had no result within the time the caller would wait."""

    kind = "timeout"
