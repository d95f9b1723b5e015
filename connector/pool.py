"""Clients kept between runs by a long-lived caller (``connector serve``), sending through aiohttp.

A server's runs borrow their connection's client from a :class:`ClientPool` and the connections it
holds open, where opening a new client and a new TCP (and TLS) connection per run would cost more
than a one-record action's request itself.

Kept clients are httpx clients whose transport is aiohttp (httpx-aiohttp's adapter) rather than
httpcore: with aiohttp's compiled parser and plain asyncio pool, a request costs about 400 µs of CPU
instead of 620 µs through httpcore, anyio and h11, and on a served one-record action the vendor
request is the largest part of the work. A one-off run (``connector run``) keeps httpcore, as
importing aiohttp would add about 85 ms to its start; so does a connection through a SOCKS proxy,
which aiohttp does not speak.

The adapter's own error map would call a reset connection a connect time-out: :func:`_as_httpx`
tells failures apart as httpcore does, so the retry policy reads them the same on both. Only a
connection that never opened is a ``ConnectError`` (nothing was sent, so a write may go again).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from connector.clients import new_client
from connector.connections import Connection

CertTypes = str | tuple[str, str] | tuple[str, str, str]
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's own defaults, which it passes to the methods below."""


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
            client = kept[key] = new_client(connection, transport, kind=KeptClient)
        return client

    async def aclose(self) -> None:
        """Close the clients of the running loop."""
        kept = self._clients.pop(asyncio.get_running_loop(), {})
        for client in kept.values():
            await client.aclose()


class KeptClient(httpx.AsyncClient):
    """An httpx client kept for every run of a connection: it sends through aiohttp (through
    httpcore when its proxy is a SOCKS one) and keeps no cookie, as the runs sharing it may send
    different tokens (two connections to one console): a cookie the vendor set in answer to one
    token would go out with the other's requests.

    httpx builds a client's transports in the two methods below (a proxy from the environment too).
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(cookies=CookieJar(_KeepNone()), **settings)

    def _init_transport(
        self, verify: ssl.SSLContext | str | bool = True, cert: CertTypes | None = None, trust_env: bool = True,
        http1: bool = True, http2: bool = False, limits: httpx.Limits = DEFAULT_LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        return _Transport(verify=verify, cert=cert, trust_env=trust_env, limits=limits)

    def _init_proxy_transport(
        self, proxy: httpx.Proxy, verify: ssl.SSLContext | str | bool = True, cert: CertTypes | None = None,
        trust_env: bool = True, http1: bool = True, http2: bool = False, limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> httpx.AsyncBaseTransport:
        if proxy.url.scheme.startswith("socks"):
            return super()._init_proxy_transport(proxy, verify, cert, trust_env, http1, http2, limits)
        return _Transport(verify=verify, cert=cert, trust_env=trust_env, limits=limits, proxy=proxy)


class _Transport(AiohttpTransport):
    """httpx-aiohttp's transport, reading each body whole and telling its failures apart as httpcore does."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _as_httpcore_says():
            response = await super().handle_async_request(request)
        try:
            with _as_httpcore_says():
                await response.aread()
        except httpx.TransportError:
            await response.aclose()  # the connection goes back to aiohttp, which drops a broken one
            raise
        return response


@contextmanager
def _as_httpcore_says() -> Iterator[None]:
    """Raise the httpx error httpcore raises for the same failure, whatever the adapter made of it."""
    try:
        yield
    except httpx.TransportError as error:
        origin = error.__cause__
        if not isinstance(origin, aiohttp.ClientError | TimeoutError):
            raise
        raise _as_httpx(origin) from None
    except (aiohttp.ClientError, TimeoutError) as error:  # what the adapter leaves as it is
        raise _as_httpx(error) from None


class _KeepNone(DefaultCookiePolicy):
    """Accepts no cookie, so offers none."""

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        return False


def _as_httpx(error: aiohttp.ClientError | TimeoutError) -> httpx.TransportError:
    message = str(error).strip() or type(error).__name__
    if isinstance(error, aiohttp.ClientHttpProxyError):
        return httpx.ProxyError(message)
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, no such host, TLS refused: nothing sent
        return httpx.ConnectError(message)
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        # Closed before a whole answer (a body cut short, or reset while it came), or not HTTP at all.
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)  # reset before the answer
