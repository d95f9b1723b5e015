"""A third-party plugin, as a separate package ships it: a vendor and an action of its own.

It binds the built-in get_threats and test_connection for its vendor ``acme`` and brings a new
action, ``acme_ping``, with its schemas in the folders beside this file. Nothing in the host knows
about it: pyproject.toml declares it in the ``connector`` entry-point group (docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.context import RunContext
from connector.enums import Kind, SeverityId, StatusId
from connector.errors import VendorError
from connector.hookspecs import hookimpl
from connector.probe import TOKEN_ACCEPTED, failed_check, probe_answer
from connector.threat import Threat
from connector.vendor import Vendor

HERE = Path(__file__).parent
SEVERITY = {"sev1": SeverityId.critical, "sev2": SeverityId.high}


async def get_threats(run: RunContext, filters: dict[str, Any]) -> dict[str, Any]:
    """Acme's alerts as common threats."""
    body = await run.request("GET", "/alerts")
    threats = [
        Threat(
            uid=f"acme:{alert['id']}", vendor="acme", vendor_id=alert["id"], kind=Kind.detection,
            title=alert["name"], severity_id=SEVERITY.get(alert["sev"], SeverityId.unknown),
            status_id=StatusId.new, vendor_severity=alert["sev"],
        ).model_dump(mode="json")
        for alert in body["alerts"]
    ]
    return {"threats": threats, "count": len(threats)}


async def acme_ping(run: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    """Ask Acme whether it is there."""
    body = await run.request("GET", "/ping", params={"echo": params["echo"]})
    return {"pong": body["pong"]}


async def test_connection(run: RunContext, params: dict[str, Any]) -> dict[str, Any]:
    """Reachability, authentication and permission to read alerts, from one ``GET /alerts``."""
    passed = {"reachability": "Acme answered", "authentication": TOKEN_ACCEPTED, "permissions": "may read alerts"}
    try:
        await run.request("GET", "/alerts")
    except VendorError as error:
        return probe_answer(run, passed, failed_check(error))
    return probe_answer(run, passed)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """The Acme vendor."""
    register(
        Vendor(
            name="acme", title="Acme Alerts", auth_scheme="Bearer",
            bindings={"get_threats": get_threats, "acme_ping": acme_ping, "test_connection": test_connection},
            endpoints={"get_threats": ["GET /alerts"], "test_connection": ["GET /alerts"]},
        )
    )


@hookimpl
def register_actions(register: Callable[[Path], None]) -> None:
    """The acme_ping action."""
    register(HERE / "actions")


@hookimpl
def register_schemas(register: Callable[[Path], None]) -> None:
    """acme_ping's schemas."""
    register(HERE / "schemas")
