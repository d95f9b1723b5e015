"""Nameshield CTI: domain-monitoring threat events as common Events carrying a detection Threat.

Auth is ``Authorization: Bearer <token>``; 600 requests per 5 minutes per token, then 429 with
``Retry-After``; errors come as ``{"message": ..., "data": null}``. Modules: ``mapping`` (tables
and ``normalize_event``), ``query`` (list_events input -> v2 query / v1 body), ``bindings``.

Endpoints: ``GET /cti/v2/events`` (page/size paging, ``has_next``), ``GET /cti/v2/events/{id}``,
and the deprecated ``POST /cti/v1/events/search`` (limit/offset paging), used when asked
(``api: v1``) or automatically when the v2 list answers 404/410 (withdrawn), in which case the
envelope's meta says so under ``fallback``.

Mapping (lossy spots marked):
- severity: criticality.level HIGH/MEDIUM/LOW/NONE -> high/medium/low/informational (OCSF 4/3/2/1);
  any other level -> unknown (0), the label kept in ``vendor_severity``. Nothing maps to critical.
- status: Nameshield events have no workflow status, so every threat is ``new`` (LOSSY: a domain
  already taken down still reads new; analysts' comments are the only trace, in ``description``).
- time: ``date`` is the event's time and the threat's first_seen, last_seen and created_at;
  there is no update time (LOSSY: comment dates survive only inside ``description``).
- the brand is the threat's resource (type ``brand``); whois, DNS records and website go whole
  into the indicator; observables are the domain, each DNS record's ip and name, the owner's
  e-mail and the website's final/origin URLs, each value once.
- LOSSY: ``customer_id``, ``brand.monitored_since`` and ``criticality.name`` are only in ``raw``
  (``include_raw``, on the Event).

list_events: the API takes one criticality, so one wanted severity is filtered by Nameshield and
several (or ``unknown``) are filtered client-side from the unfiltered walk (one walk, whatever the
sort, instead of one per level merged); the total is then unknown (null). Bounds are sent in
whole seconds (since floored, until rounded up) and applied exactly client-side. The v1 search
cannot sort: its events are put oldest first once read.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor
from connector.vendors.nameshield.bindings import check_connection, get_event, list_events
from connector.vendors.nameshield.mapping import NAME, error_detail

RATE_LIMIT = (600.0, 300.0)
"""600 requests per 5 minutes per token."""


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """Nameshield CTI and its bindings."""
    register(
        Vendor(
            name=NAME,
            title="Nameshield CTI",
            auth_scheme="Bearer",
            bindings={
                "list_events": list_events,
                "get_event": get_event,
                "test_connection": check_connection,
            },
            error_detail=error_detail,
            rate_limit=RATE_LIMIT,
        )
    )
