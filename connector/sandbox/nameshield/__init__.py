"""Nameshield CTI simulator: domain-monitoring threat events, v2 list/get and the deprecated v1 search.

``create_app`` builds the Starlette app the sandbox host mounts at ``/nameshield``; ``generate_events``
gives the same seeded events the app serves, for tests and fixtures. Modules: ``data`` (seeded
events, customers, brands), ``store`` (index, sorting), ``params`` (validation of v2 query strings and
v1 bodies), ``app`` (routes, auth, rate limit, error shape).

Every 4xx answer is ``{"message": "<what went wrong>", "data": null}``, the envelope the v1 API uses.
"""

from connector.sandbox.nameshield.app import create_app
from connector.sandbox.nameshield.data import generate_events

__all__ = ["create_app", "generate_events"]
