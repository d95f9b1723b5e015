"""CISO Assistant (incidents API): client bindings and the mapping to the common Threat.

Auth is ``Authorization: Token <token>`` (knox). Every path ends with ``/`` (the server
redirects without it, 301, and the client does not follow). Lists are ``{count, next, previous,
results}`` paged by limit/offset (100 per page here). Errors are DRF's: ``{"detail": ...}`` or
``{field: [messages]}``, shown as ``field: message``. The behaviour relied on is the one recorded
from a real server (``tests/fixtures/real/ciso_assistant``, tested by replay).

Connection options: ``folder`` (a folder uuid) is sent with every create that names none.
Without it no folder is sent and the server files the incident in Global.

Mapping to the common Threat, kind ``incident`` (lossy spots marked):
- severity 1..6 (Critical, Major, Moderate, Minor, Low, unknown) -> OCSF 5/4/3/2/1/0
  (critical, high, medium, low, informational, unknown): "Minor" is OCSF low and "Low" is OCSF
  informational. ``vendor_severity`` keeps the vendor's label ("Major").
- status new/ongoing/resolved/closed/dismissed -> new/in_progress/resolved/closed/closed. LOSSY:
  dismissed becomes closed; ``vendor_status`` keeps the slug ("dismissed"). As a filter, common
  ``closed`` therefore matches closed and dismissed.
- title = name, first_seen = reported_at, url = link, resources = assets, assignee = the first
  owner's name. LOSSY: folder, ref_id, detection, threats, qualifications, entities, labels and
  is_published have no common field (``include_raw`` keeps them).
- From a common threat (create_incident ``from_threat``): OCSF severity 5/4/3/2/1/0 -> 1..6, fatal
  -> Critical (LOSSY), other -> unknown; ref_id = the threat uid (over 100 characters: a prefix
  plus a sha256 digest); reported_at = first_seen (else created_at); detection = external; the
  threat's resources, observables and attacks are not carried over (LOSSY: CISO Assistant assets
  are its own objects), the ref_id leads back to them.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.hookspecs import hookimpl
from connector.vendor import Vendor
from connector.vendors.ciso_assistant.batch import incident_batch_action
from connector.vendors.ciso_assistant.incidents import (
    create_incident,
    delete_incident,
    get_incident,
    update_incident,
)
from connector.vendors.ciso_assistant.listing import export_incidents, list_incidents
from connector.vendors.ciso_assistant.mapping import NAME, error_detail, normalize_incident
from connector.vendors.ciso_assistant.metrics import incident_metrics
from connector.vendors.ciso_assistant.probe import check_connection

__all__ = ["NAME", "error_detail", "normalize_incident", "register_vendors"]


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """CISO Assistant and its bindings."""
    register(
        Vendor(
            name=NAME,
            title="CISO Assistant",
            auth_scheme="Token",
            bindings={
                "create_incident": create_incident,
                "list_incidents": list_incidents,
                "get_incident": get_incident,
                "update_incident": update_incident,
                "delete_incident": delete_incident,
                "incident_batch_action": incident_batch_action,
                "export_incidents": export_incidents,
                "incident_metrics": incident_metrics,
                "test_connection": check_connection,
            },
            error_detail=error_detail,
            options={"folder": None},
        )
    )
