"""Simulator of the CISO Assistant incidents API (Django REST Framework, knox tokens).

Mounted by the host at ``/ciso_assistant``; every path below is relative to the app and ends with
``/``. Auth is ``Authorization: Token <token>``.

- ``GET /api/incidents/``: ``{count, next, previous, results}`` of read shapes (limit/offset)
- ``POST /api/incidents/``: 201 with the write shape
- ``GET|PUT|PATCH|DELETE /api/incidents/{id}/``: read shape | write shape | write shape | 204
- ``GET /api/incidents/{id}/cascade-info/``: ``{"deleted": [...], "affected": [...]}``
- ``GET /api/incidents/{id}/object/``: the write shape
- ``GET /api/incidents/{id}/md/`` and ``.../pdf/``: text/markdown and application/pdf reports
- ``POST /api/incidents/batch-action/``: ``{"succeeded": [ids], "failed": [{"id", "error"}]}``
- ``GET /api/incidents/severity/``, ``status/``, ``detection/``: choices as ``{value: label}``
- ``GET /api/incidents/summary_stats/``, ``monthly_metrics/``, ``severity_breakdown/``,
  ``detection_breakdown/``, ``qualifications_breakdown/``: dashboard JSON (DRF ``@action``
  default URLs, hence underscores)
- ``GET /api/incidents/export_csv/`` and ``export_xlsx/``: every matching incident (list filters)

Errors, in the order DRF checks them: an unrouted path (a missing trailing slash included) gets
Django's HTML 404 page; then 401 ``{"detail": "Authentication credentials were not provided."}``
or ``{"detail": "Invalid token."}``; then 429 ``{"detail": "Request was throttled. Expected
available in N second(s)."}`` with ``Retry-After`` (20 requests per second when ``rate_limit``);
then 405 ``{"detail": "Method \\"X\\" not allowed."}``; then 404 ``{"detail": "No Incident matches
the given query."}`` (``"Not found."`` for a malformed id), 400 ``{field: [messages]}``,
400/415 ``{"detail": ...}`` for a body that is not JSON.
"""

from connector.sandbox.ciso_assistant.app import create_app

__all__ = ["create_app"]
