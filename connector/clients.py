"""httpx clients for connections: one per run, or kept between runs by a :class:`ClientPool`.

A client carries what belongs to the connection's transport (its base URL, TLS, proxy and time-outs);
the token goes on each request, so clients of one connection are alike whoever's secret a run reads.
A one-off run (``connector run``) opens a client and closes it. A long-lived caller (``connector
serve``) keeps a pool: each run of a connection borrows its client and the connections it holds
open, where opening a new client and a new TCP (and TLS) connection per run would cost more than
a one-record action's request itself.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from typing import Any

import httpx

from connector import __version__
from connector.connections import Connection

HEADERS = {"Accept": "application/json", "User-Agent": f"connector/{__version__}"}


def new_client(connection: Connection, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A client for ``connection`` (the caller closes it); requests add the Authorization header."""
    timeout = connection.timeout
    # Plain http (loopback only, or allowed insecure) has no TLS to verify, and redirects are not
    # followed: loading the CA bundle would only cost start-up time.
    plain = connection.base_url.startswith("http://") and not str(connection.proxy or "").startswith("https://")
    return httpx.AsyncClient(
        base_url=connection.base_url,
        headers=HEADERS,
        timeout=httpx.Timeout(timeout.read, connect=timeout.connect),
        verify=_tls_context(False if plain else connection.verify_tls),
        proxy=connection.proxy,
        transport=transport,
        follow_redirects=False,
    )


class ClientPool:
    """Clients kept between runs, one per connection's transport settings and event loop.

    Its owner closes it (:meth:`aclose`, on the loop that used it) when no run will need it again.
    """

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], httpx.AsyncClient]]
        self._clients = weakref.WeakKeyDictionary()

    def client(self, connection: Connection, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
        """The kept client of ``connection`` on this event loop (made on first use); never close it yourself."""
        timeout = connection.timeout
        key = (connection.base_url, connection.verify_tls, connection.proxy, timeout.read, timeout.connect,
               None if transport is None else id(transport))
        # A loop's clients belong to it: their connections cannot be awaited on another loop.
        kept = self._clients.setdefault(asyncio.get_running_loop(), {})
        client = kept.get(key)
        if client is None or client.is_closed:
            client = kept[key] = new_client(connection, transport)
        return client

    async def aclose(self) -> None:
        """Close the clients of the running loop."""
        kept = self._clients.pop(asyncio.get_running_loop(), {})
        for client in kept.values():
            await client.aclose()


@functools.cache
def _tls_context(verify: bool | str) -> ssl.SSLContext:
    # Loading the CA bundle costs ~35 ms of CPU, more than a whole small action: built once per
    # setting and shared (a client-side SSLContext is safe to share between threads and loops).
    return httpx.create_ssl_context(verify=verify)
