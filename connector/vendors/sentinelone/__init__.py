"""SentinelOne Management API v2.1: the vendor plugin.

Auth is ``Authorization: ApiToken <token>``; errors come as ``{"errors": [{"code", "detail",
"title"}]}``; about 10 requests/s on ``/threats``. Modules: ``mapping`` (the tables and pure
functions between SentinelOne records and the common shapes), ``threats`` (a threat record ->
the common Threat), ``reads`` (get_threats, get_threat_notes, test_connection), ``lookup``
(get_threat) and ``writes`` (update_threat_status, mitigate_threat,
add_threat_note).
"""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor
from connector.vendors.sentinelone.lookup import get_threat
from connector.vendors.sentinelone.mapping import NAME, error_detail, threat_query
from connector.vendors.sentinelone.reads import get_threat_notes, get_threats, test_connection
from connector.vendors.sentinelone.threats import normalize_threat
from connector.vendors.sentinelone.writes import add_threat_note, mitigate_threat, update_threat_status

__all__ = ["error_detail", "normalize_threat", "register_vendors", "threat_query"]


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """SentinelOne and its bindings."""
    register(
        Vendor(
            name=NAME,
            title="SentinelOne Management API v2.1",
            auth_scheme="ApiToken",
            bindings={
                "get_threats": get_threats,
                "get_threat": get_threat,
                "update_threat_status": update_threat_status,
                "mitigate_threat": mitigate_threat,
                "add_threat_note": add_threat_note,
                "get_threat_notes": get_threat_notes,
                "test_connection": test_connection,
            },
            error_detail=error_detail,
            rate_limit=(10.0, 1.0),
        )
    )
