"""SentinelOne Management API v2.1 simulator: threats (cursor paging, every documented filter), the
incident/verdict/notes/mitigate actions, a system info endpoint, ``ApiToken`` auth and the ~10/s rate limit.

Modules: ``data`` seeds the threats, ``filters`` is the table of filters, ``query`` parses paging,
sort and cursor, ``store`` holds the state and serves pages, ``app`` wires routes, auth and rate limit.
"""

from connector.sandbox.sentinelone.app import create_app

__all__ = ["create_app"]
