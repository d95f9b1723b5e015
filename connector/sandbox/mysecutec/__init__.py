"""Simulator of the MySecutec Threat & Asset Management (TAM) threats API.

Serves every operation of ``spec/mysecutec-tam-threats.txt`` under ``/tam/v1/threats``: list (filters,
search, multi-field sort, offset paging with ``next``/``previous`` links), get, patch, bulk status with
per-id partial success, logs, filter facets and aggregate. Modules: ``data`` (seeded records), ``store``
(state and changes), ``query`` (query strings), ``bodies`` (request bodies), ``aggregate`` (counting),
``errors`` (the error body) and ``app`` (routes, auth, rate limit).
"""

from connector.sandbox.mysecutec.app import RATE_LIMIT_PER_SECOND, create_app

__all__ = ["RATE_LIMIT_PER_SECOND", "create_app"]
