"""The one error body every MySecutec 4xx answer carries: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from starlette.responses import Response

from connector.sandbox.common import json_response


class ApiError(Exception):
    """A request the simulator refuses; the app turns it into the MySecutec error body."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    """A 400 naming the parameter and the rule it broke."""
    return ApiError(400, code, message)


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The MySecutec error body as a JSON response."""
    return json_response({"error": {"code": code, "message": message}}, status_code, headers)
