"""MySecutec Threat & Asset Management (TAM): every documented threat operation as a binding.

Auth is ``Authorization: Bearer <token>``; lists page by ``limit``/``offset`` with
``pagination.total`` (pages after the first are fetched concurrently, see :mod:`.api`); errors come
as ``{"error": {"code", "message"}}`` (gateways: ``{"detail": ...}``). The spec documents no rate
limit: 20 requests/s is assumed, as the TAM gateway (and the sandbox) enforce.

Modules: :mod:`.mapping` (tables and pure mappers to Threat and Event), :mod:`.query` (common
filters -> list query), :mod:`.api` (paths, paging, concurrency), :mod:`.reads` (get_threats,
get_threat, test_connection), :mod:`.writes` (update_threat, update_threat_status), :mod:`.logs`
(get_threat_logs, list_events), :mod:`.facets` (get_threat_filters, aggregate_threats).
"""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor
from connector.vendors.mysecutec.facets import aggregate_threats, get_threat_filters
from connector.vendors.mysecutec.logs import get_threat_logs, list_events
from connector.vendors.mysecutec.mapping import NAME, error_detail
from connector.vendors.mysecutec.reads import check_connection, get_threat, get_threats
from connector.vendors.mysecutec.writes import update_threat, update_threat_status

RATE_LIMIT = (20.0, 1.0)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """MySecutec TAM and its bindings."""
    register(
        Vendor(
            name=NAME,
            title="MySecutec TAM",
            auth_scheme="Bearer",
            bindings={
                "get_threats": get_threats,
                "get_threat": get_threat,
                "update_threat": update_threat,
                "update_threat_status": update_threat_status,
                "get_threat_logs": get_threat_logs,
                "list_events": list_events,
                "get_threat_filters": get_threat_filters,
                "aggregate_threats": aggregate_threats,
                "test_connection": check_connection,
            },
            error_detail=error_detail,
            rate_limit=RATE_LIMIT,
        )
    )
