"""httpx clients for connections: one per run, or kept between runs by a :class:`~connector.pool.ClientPool`.

A client carries what belongs to the connection's transport (its base URL, TLS, proxy and time-outs);
the token goes on each request, so clients of one connection are alike whoever's secret a run reads.
A one-off run (``connector run``) opens a client and closes it; a long-lived caller (``connector
serve``) keeps them in a pool (:mod:`connector.pool`).
"""

from __future__ import annotations

import functools
import ssl

import httpx

from connector import __version__
from connector.connections import Connection

HEADERS = {"Accept": "application/json", "User-Agent": f"connector/{__version__}"}


def new_client(
    connection: Connection, transport: httpx.AsyncBaseTransport | None = None, *,
    kind: type[httpx.AsyncClient] = httpx.AsyncClient,
) -> httpx.AsyncClient:
    """A client of ``kind`` for ``connection`` (the caller closes it); requests add the Authorization header."""
    timeout = connection.timeout
    # Plain http (loopback only, or allowed insecure) has no TLS to verify, and redirects are not
    # followed: loading the CA bundle would only cost start-up time.
    plain = connection.base_url.startswith("http://") and not str(connection.proxy or "").startswith("https://")
    return kind(
        base_url=connection.base_url,
        headers=HEADERS,
        timeout=httpx.Timeout(timeout.read, connect=timeout.connect),
        verify=_tls_context(False if plain else connection.verify_tls),
        proxy=connection.proxy,
        transport=transport,
        follow_redirects=False,
    )


@functools.cache
def _tls_context(verify: bool | str) -> ssl.SSLContext:
    # Loading the CA bundle costs ~35 ms of CPU, more than a whole small action: built once per
    # setting and shared (a client-side SSLContext is safe to share between threads and loops).
    return httpx.create_ssl_context(verify=verify)
