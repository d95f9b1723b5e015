"""test_connection's checks: which check an error fails, and the report of the three."""

from __future__ import annotations

import pytest

from connector.errors import AuthError, BadVendorAnswer, RetriableError, VendorError
from connector.probe import connection_report, failed_check

PASSED = {"reachability": "answered", "authentication": "accepted", "permissions": "may read"}


@pytest.mark.parametrize(
    ("error", "answered", "expected"),
    [
        (AuthError("x: 401", 401), False, ("authentication", "x: 401")),
        (AuthError("x: 403", 403), True, ("permissions", "x: 403")),
        (RetriableError("x: 503", 503), False, ("reachability", "x: 503")),
        (BadVendorAnswer("x: HTML page"), False, ("reachability", "x: HTML page")),
        (VendorError("x: 404", 404), False, ("reachability", "x: 404 (is the base URL right?)")),
        (VendorError("x: 404", 404), True, ("permissions", "x: 404")),
        (RetriableError("x: 503", 503), True, ("permissions", "x: 503")),
    ],
)
def test_which_check_an_error_fails(error: VendorError, answered: bool, expected: tuple[str, str]) -> None:
    assert failed_check(error, answered=answered) == expected


def test_the_report_passes_the_checks_before_the_failed_one_and_skips_those_after() -> None:
    assert connection_report(PASSED) == {"ok": True, "checks": [
        {"name": "reachability", "ok": True, "message": "answered"},
        {"name": "authentication", "ok": True, "message": "accepted"},
        {"name": "permissions", "ok": True, "message": "may read"},
    ]}
    assert connection_report(PASSED, ("authentication", "x: 401")) == {"ok": False, "checks": [
        {"name": "reachability", "ok": True, "message": "answered"},
        {"name": "authentication", "ok": False, "message": "x: 401"},
        {"name": "permissions", "ok": False, "message": "not checked: authentication failed"},
    ]}
