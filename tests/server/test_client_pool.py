"""A server's runs keep their connection's client: the vendor sees one TCP connection, not one per run.

Counted by a byte-for-byte TCP relay between the runs and the sandbox, which counts the
connections it accepts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from connector.clients import ClientPool
from connector.connections import sandbox_connection
from connector.executor import InProcess
from connector.request import RunRequest
from connector.sandbox import SandboxConfig


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
