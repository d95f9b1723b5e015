"""A third-party output format, as a plugin package would bring it: ``markdown``, a bullet per record.

Also a shared rate limiter (the ``rate_limiter`` hook) that counts what it was asked for, so the
tests see the HTTP layer take a limiter from a plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from connector.envelope import Envelope
from connector.formats import OutputFormat
from connector.hookspecs import hookimpl


class MarkdownWriter:
    """A bullet per record (its uid and title), then a line saying how the run ended."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def record(self, envelope: Envelope, key: str, record: dict[str, Any]) -> None:
        """One bullet."""
        self.stream.write(f"- `{record.get('uid')}` {record.get('title', '')}\n")

    def finish(self, envelope: Envelope, key: str | None) -> None:
        """The outcome."""
        self.stream.write(f"\n**{envelope.action}**: {envelope.status}\n")


@hookimpl
def register_output_formats(register: Callable[[OutputFormat], None]) -> None:
    """``markdown``."""
    register(OutputFormat("markdown", "a bullet per record", "text/markdown", MarkdownWriter))


class CountingLimiter:
    """Lets every request go at once, counting them."""

    acquired = 0

    async def acquire(self) -> None:
        """Count the request."""
        CountingLimiter.acquired += 1


@hookimpl
def rate_limiter(connection: str, base_url: str, rate: tuple[float, float]) -> CountingLimiter:
    """The counting limiter, for every connection."""
    return CountingLimiter()
