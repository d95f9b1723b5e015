"""A third-party format arrives through the register_output_formats hook, and every surface has it."""

from __future__ import annotations

import asyncio
import io

import pytest

from connector.execute import deliver
from connector.executor import InProcess
from connector.plugins import Host
from connector.request import RunRequest
from connector.sandbox import SandboxConfig, running_sandbox
from tests.plugins import markdown_format


@pytest.fixture(scope="module")
def sandbox_url() -> object:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": 5})) as url:
        yield url


def test_a_plugin_format_writes_a_run(sandbox_url: str) -> None:
    host = Host([markdown_format], entry_points=False)
    out = io.StringIO()
    request = RunRequest(action="get_threats", input={"limit": 2}, sandbox=sandbox_url, vendor="sentinelone",
                         format="markdown")
    envelope = asyncio.run(deliver(InProcess(host=host), request, out))
    lines = out.getvalue().splitlines()
    assert envelope.status == "success"
    assert len([line for line in lines if line.startswith("- `sentinelone:")]) == 2 == envelope.output["count"]
    assert lines[-1] == "**get_threats**: success"


def test_a_plugin_limiter_is_the_http_layers(sandbox_url: str) -> None:
    host = Host([markdown_format], entry_points=False)
    before = markdown_format.CountingLimiter.acquired
    request = RunRequest(action="get_threats", input={"limit": 2}, sandbox=sandbox_url, vendor="sentinelone")
    envelope = asyncio.run(deliver(InProcess(host=host), request))
    assert envelope.meta.requests == 1
    assert markdown_format.CountingLimiter.acquired == before + 1


def test_an_unknown_format_is_a_failed_envelope_naming_the_known_ones(sandbox_url: str) -> None:
    request = RunRequest(action="get_threats", sandbox=sandbox_url, vendor="sentinelone", format="xml")
    envelope = asyncio.run(deliver(InProcess(), request))
    assert envelope.exit_code == 2
    assert envelope.errors[0].message.startswith("format: 'xml' is not a known format (known: csv, json")
