"""test_connection: reachability, authentication and the permission to read incidents, each reported.

One ``GET /api/incidents/?limit=1`` answers all three: no HTTP answer (or a 5xx, or a page that is
not the API) fails reachability; 401 (knox: no or invalid token) fails authentication; 403 fails
permissions. None of these raise: the output says which check failed and why.
"""

from __future__ import annotations

from typing import Any

from connector.errors import AuthError, BadVendorAnswer, RetriableError, VendorError
from connector.http import VendorClient
from connector.vendors.ciso_assistant.incidents import INCIDENTS


def _check(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "message": message}


Outcome = tuple[bool, str]


def _checks(reached: Outcome, authenticated: Outcome, permitted: Outcome) -> dict[str, Any]:
    checks = [
        _check("reachability", *reached),
        _check("authentication", *authenticated),
        _check("permissions", *permitted),
    ]
    return {"ok": all(check["ok"] for check in checks), "checks": checks}


async def check_connection(client: VendorClient, document: dict[str, Any]) -> dict[str, Any]:
    """Probe the incidents list once and say which of the three checks passed."""
    unreachable = (False, "not checked: reachability failed")
    where = f"{client.connection.base_url}{INCIDENTS}"
    reached = (True, f"{where} answered")
    try:
        body = await client.request("GET", INCIDENTS, params={"limit": 1})
    except AuthError as exc:
        if exc.status == 403:
            return _checks(reached, (True, "the token is accepted"), (False, exc.message))
        return _checks(reached, (False, exc.message), (False, "not checked: authentication failed"))
    except (RetriableError, BadVendorAnswer) as exc:
        return _checks((False, exc.message), unreachable, unreachable)
    except VendorError as exc:
        # A 404 here (Django's HTML page) means the base URL does not lead to the API.
        return _checks((False, f"{exc.message} (is the base URL right?)"), unreachable, unreachable)
    count = body.get("count") if isinstance(body, dict) else None
    if not isinstance(count, int):
        return _checks((False, f"{where} answered, but not with an incident list"), unreachable, unreachable)
    permitted = (True, f"may read incidents ({count} visible)")
    return _checks(reached, (True, "the token is accepted"), permitted)
