"""A big response body keeps the heap's freed buffers mapped (glibc): later pages fault nothing in."""

from __future__ import annotations

import asyncio
import platform
import subprocess
import sys
import textwrap

import httpx
import pytest

from connector import heap
from connector.connections import Connection
from connector.http import VendorClient
from connector.plugins import default_host

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt"
)

FAULTS = """
import resource
from connector import heap

def faults():
    # Three page-size buffers at once, written through, freed together: as a page's read does.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        buffers = [b"x" * (4 << 20) for _ in range(3)]
        del buffers
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

untuned = faults()
heap.body_read(heap.BIG_BODY - 1)
small = faults()
heap.body_read(heap.BIG_BODY)
faults()  # the first round maps what the heap keeps from then on
print(untuned, small, faults())
"""


@glibc
def test_after_a_big_body_freed_buffers_stay_mapped() -> None:
    # A process of its own: the tuning lasts for the process.
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(FAULTS)], capture_output=True, text=True, check=True)
    untuned, small, tuned = map(int, done.stdout.split())
    assert untuned > 5000  # each round maps its buffers afresh: 3 x 1024 pages, about
    assert small > 5000  # a body under BIG_BODY changes nothing
    assert tuned < 100


def test_a_vendor_client_reports_each_body_read(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    monkeypatch.setattr(heap, "body_read", sizes.append)
    monkeypatch.setenv("S1_TEST", "s1-token-abcdef123456")
    bodies = iter([b'{"data": []}', b'{"data": []' + b" " * heap.BIG_BODY + b"}"])
    client = VendorClient(
        connection=Connection(name="s1", vendor="sentinelone", base_url="https://s1.example", secret="env:S1_TEST"),
        vendor=default_host().vendor("sentinelone"),
        events=default_host().hook,
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=next(bodies))),
    )

    async def twice() -> None:
        async with client:
            for _ in range(2):
                assert await client.request("GET", "/web/api/v2.1/threats") == {"data": []}

    asyncio.run(twice())
    assert sizes == [12, heap.BIG_BODY + 12]


def test_nothing_is_asked_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert heap.keep_freed_pages() is False
