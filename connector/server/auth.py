"""Bearer-token authentication for the HTTP API, and where the token comes from.

The token is read from a file (``--token-file``) or from ``$CONNECTOR_SERVE_TOKEN``, never from the
command line (it would show in ``ps`` and shell history). Requests present it as
``Authorization: Bearer <token>``; it is compared in constant time and never echoed back.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Collection
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from connector.errors import ConfigError
from connector.redaction import redactor
from connector.server.answers import error_answer

TOKEN_ENV = "CONNECTOR_SERVE_TOKEN"
MIN_TOKEN_LENGTH = 16
"""Shorter tokens are refused: a token is the only thing between the network and the vendors."""

MISSING = "authorization: a bearer token is required (Authorization: Bearer <token>)", 'Bearer realm="connector"'
INVALID = "authorization: the bearer token is not valid", 'Bearer realm="connector", error="invalid_token"'
"""The answers to a missing and to a wrong token: the message and the WWW-Authenticate challenge (RFC 6750)."""

log = logging.getLogger(__name__)


def load_token(token_file: Path | None) -> str:
    """The API token from ``token_file``, else ``$CONNECTOR_SERVE_TOKEN``; ConfigError when missing or short."""
    if token_file is not None:
        origin = f"--token-file {token_file}"
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{origin}: cannot read it: {reason}") from None
    else:
        origin = f"${TOKEN_ENV}"
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"serve: no API token: set ${TOKEN_ENV} or give --token-file PATH (it is never a command-line argument)"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{origin}: the token must be at least {MIN_TOKEN_LENGTH} characters long")
    return token


class BearerAuth:
    """ASGI middleware: every HTTP request but those to ``open_paths`` must carry the bearer token."""

    def __init__(self, app: ASGIApp, *, token: str, open_paths: Collection[str] = ()) -> None:
        self.app = app
        # Masked from logs and answers, like the vendors' secrets (a caller could paste it into an input).
        redactor.add(token)
        self._token = token.encode()
        self._open = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when it is authenticated (or open); answer 401 otherwise."""
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        problem = self._problem(Headers(scope=scope).get("authorization"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        message, challenge = problem
        client = scope.get("client")
        log.warning("refused %s %s from %s: %s", scope["method"], scope["path"], client[0] if client else "?", message)
        answer = error_answer(401, "unauthorized", message, {"WWW-Authenticate": challenge})
        await answer(scope, receive, send)

    def _problem(self, header: str | None) -> tuple[str, str] | None:
        """None when ``header`` carries the token, else the message and the WWW-Authenticate challenge."""
        scheme, _, presented = (header or "").partition(" ")
        if not header or scheme.lower() != "bearer":
            return MISSING
        # Compared as bytes: compare_digest refuses str with non-ASCII characters, which a caller controls.
        if hmac.compare_digest(presented.strip().encode(), self._token):
            return None
        return INVALID
