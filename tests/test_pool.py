"""A server's runs keep their connection's client, sending through aiohttp.

The vendor sees one TCP connection, not one per run: counted by a byte-for-byte TCP relay between
the runs and the sandbox, which counts the connections it accepts. Every way a vendor's connection
can fail reads the same to the run on a kept client (aiohttp) as on a one-off run's (httpcore):
the same error, the same retries.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

from connector.connections import Timeouts, sandbox_connection
from connector.errors import ConnectorError, RetriableError
from connector.executor import InProcess
from connector.http import VendorClient
from connector.plugins import default_host
from connector.pool import ClientPool, KeptClient
from connector.request import RunRequest
from connector.sandbox import SandboxConfig, running_sandbox


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone",))) as url:
        yield url


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@asynccontextmanager
async def relay(target: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback relay to ``target``'s host and port; yields its URL and the count of connections accepted."""
    upstream = urlsplit(target)
    accepted = [0]

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        far_reader, far_writer = await asyncio.open_connection(upstream.hostname, upstream.port)
        await asyncio.gather(pipe(reader, far_writer), pipe(far_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", accepted


async def _three_runs(sandbox_url: str, pool: ClientPool | None) -> int:
    async with relay(sandbox_url) as (url, accepted):
        connection = sandbox_connection("sentinelone", url, SandboxConfig().token)
        executor = InProcess(connections={"s1": connection}, pool=pool)
        for _ in range(3):
            envelope = await executor.run(RunRequest(action="get_threats", input={"limit": 1}, connection="s1"))
            assert envelope.status == "success" and envelope.output["count"] == 1, envelope.errors
        if pool is not None:
            await pool.aclose()
        return accepted[0]


def test_runs_with_a_pool_share_one_connection_to_the_vendor(sandbox_url: str) -> None:
    assert asyncio.run(_three_runs(sandbox_url, ClientPool())) == 1


def test_runs_without_a_pool_open_their_own(sandbox_url: str) -> None:
    assert asyncio.run(_three_runs(sandbox_url, None)) == 3


def test_closing_the_pool_closes_its_clients(sandbox_url: str) -> None:
    async def kept_then_closed() -> tuple[bool, bool, bool]:
        pool = ClientPool()
        connection = sandbox_connection("sentinelone", sandbox_url, SandboxConfig().token)
        client = pool.client(connection)
        same = pool.client(connection) is client
        await pool.aclose()
        return same, client.is_closed, pool.client(connection) is not client

    assert asyncio.run(kept_then_closed()) == (True, True, True)


def test_kept_clients_send_through_aiohttp_and_one_off_runs_through_httpcore(sandbox_url: str) -> None:
    async def transports() -> tuple[object, object]:
        pool = ClientPool()
        connection = sandbox_connection("sentinelone", sandbox_url, SandboxConfig().token)
        kept = pool.client(connection)
        one_off = VendorClient(connection, default_host().vendor("sentinelone"), default_host().hook)
        await pool.aclose()
        await one_off.aclose()
        return kept._transport, one_off._http._transport

    kept, one_off = asyncio.run(transports())
    assert isinstance(kept, AiohttpTransport) and isinstance(one_off, httpx.AsyncHTTPTransport)


def test_a_socks_proxy_keeps_httpcore_and_an_http_one_goes_through_aiohttp() -> None:
    # httpcore's SOCKS support is the socksio extra: asking for it is how httpx tells it chose httpcore.
    with pytest.raises(ImportError, match="socksio"):
        KeptClient(proxy="socks5://127.0.0.1:1080")
    client = KeptClient(proxy="http://127.0.0.1:3128")
    assert {type(mounted) for mounted in client._mounts.values()} == {type(client._transport)}


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _disconnect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"garbage, not a status line\r\n\r\n")


async def _illegal_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Token: a\x00b\r\nContent-Length: 2\r\n\r\n{}")


async def _cut_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"Content-Length: 100\r\n\r\n{\"data\": [")


async def _reset_in_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"Content-Length: 100\r\n\r\n{")
    await writer.drain()
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # answers nothing until the client gives up


FAILURES: dict[str, tuple[Behaviour, str]] = {
    "closed before answering": (_disconnect, "connection failed (RemoteProtocolError: the vendor sent something"),
    "not HTTP": (_not_http, "connection failed (RemoteProtocolError: the vendor sent something that is not valid"),
    "an illegal header": (_illegal_header, "connection failed (RemoteProtocolError: the vendor sent something"),
    "a body cut short": (_cut_body, "connection failed (RemoteProtocolError: the vendor sent something"),
    "reset in the body": (_reset_in_body, "connection failed ("),
    "no answer in time": (_silent, "timed out"),
}


async def _failed_request(url: str, method: str, pool: ClientPool | None) -> tuple[ConnectorError, int]:
    """One request to ``url`` with one retry allowed: the error the run gets, and the retries made."""
    connection = sandbox_connection("sentinelone", url, SandboxConfig().token).model_copy(
        update={"retries": 1, "timeout": Timeouts(connect=1.0, read=0.3)}
    )
    host = default_host()

    async def no_sleep(seconds: float) -> None:
        pass

    client = VendorClient(connection, host.vendor("sentinelone"), host.hook, sleep=no_sleep, pool=pool)
    try:
        await client.request(method, "/web/api/v2.1/threats", json={} if method == "POST" else None)
    except ConnectorError as error:
        return error, client.counts.retries
    finally:
        await client.aclose()
        if pool is not None:
            await pool.aclose()
    raise AssertionError("the request succeeded")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_answer_reads_the_same_on_a_kept_client(failure: str, method: str) -> None:
    behaviour, said = FAILURES[failure]

    async def both() -> list[tuple[str, str, int]]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                await behaviour(reader, writer)
                await writer.drain()
            finally:
                writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with server:
            outcomes = [await _failed_request(url, method, pool) for pool in (None, ClientPool())]
        return [(type(error).__name__, error.message, retries) for error, retries in outcomes]

    one_off, kept = asyncio.run(both())
    assert said in one_off[1] and said in kept[1], (one_off, kept)
    assert (kept[0], kept[2]) == (one_off[0], one_off[2]) == ("RetriableError", 1 if method == "GET" else 0)


def test_a_connection_never_opened_is_retried_even_for_a_write_on_a_kept_client() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"  # bound, never listening: refused

    outcomes = [asyncio.run(_failed_request(url, "POST", pool)) for pool in (None, ClientPool())]
    assert [(isinstance(error, RetriableError), retries) for error, retries in outcomes] == [(True, 1)] * 2
    assert all("cannot connect (" in error.message for error, _ in outcomes)


def test_a_kept_client_keeps_no_cookie_for_the_next_run() -> None:
    async def cookies_sent(pool: ClientPool | None) -> list[str | None]:
        sent: list[str | None] = []

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while head := await reader.readuntil(b"\r\n\r\n"):
                    lines = head.decode().lower().split("\r\n")
                    sent.append(next((line[8:] for line in lines if line.startswith("cookie: ")), None))
                    writer.write(HEAD + b"Set-Cookie: sessionid=run-a; Path=/\r\nContent-Length: 2\r\n\r\n{}")
                    await writer.drain()
            except asyncio.IncompleteReadError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        connection = sandbox_connection("sentinelone", url, SandboxConfig().token)
        host = default_host()
        async with server:
            client = VendorClient(connection, host.vendor("sentinelone"), host.hook, pool=pool)
            for _ in range(2):
                await client.request("GET", "/web/api/v2.1/threats")
            await client.aclose()
            if pool is not None:
                await pool.aclose()
        return sent

    # A one-off run's client sends back what the vendor set (the run is one caller); a kept one never does.
    assert asyncio.run(cookies_sent(None)) == [None, "sessionid=run-a"]
    assert asyncio.run(cookies_sent(ClientPool())) == [None, None]
