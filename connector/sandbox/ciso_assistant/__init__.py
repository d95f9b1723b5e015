"""Simulator of the CISO Assistant API (Django REST Framework, knox tokens), as a real server answers.

It reproduces the recorded exchanges of ``tests/fixtures/real/ciso_assistant`` (community
edition, upstream f990d7b1): their shapes, key orders, defaults, rules and errors, upstream
defects included (batch ``change_*`` fails every id with "Unexpected error", OPTIONS is a 500).
Mounted by the host at ``/ciso_assistant``; auth is ``Authorization: Token <token>``.

- ``GET|POST /api/incidents/``: ``{count, next, previous, results}`` of read shapes (limit/offset,
  default page 5000) | 201 with the write shape
- ``GET|PUT|PATCH|DELETE /api/incidents/{id}/``: read shape | write shape | write shape | 204
- ``GET /api/incidents/{id}/cascade-info/``: ``{deleted, affected, blocked}``
- ``GET /api/incidents/{id}/object/``: the write shape; ``md/`` and ``pdf/``: report attachments
- ``POST /api/incidents/batch-action/``: ``{"succeeded": [{id, name}], "failed": [{id, name?, error}]}``
- ``GET /api/incidents/severity/``, ``status/``, ``detection/``: choices as ``{value: label}``
- ``GET /api/incidents/summary_stats/``, ``monthly_metrics/``, ``severity_breakdown/``,
  ``detection_breakdown/``, ``qualifications_breakdown/`` (``?folder=``)
- ``GET /api/incidents/export_csv/`` and ``export_xlsx/``: every matching incident (list filters)
- ``GET|POST /api/folders/``, ``POST /api/assets/``, ``GET /api/actors/``, ``GET /api/terminologies/``

A path without its trailing slash is a 301 to it. The real server has no throttle; ``throttle=N``
turns on DRF's 429 beyond N requests per second.
"""

from connector.sandbox.ciso_assistant.app import create_app

__all__ = ["create_app"]
