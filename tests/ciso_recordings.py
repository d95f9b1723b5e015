"""The recorded real CISO Assistant exchanges (tests/fixtures/real/ciso_assistant), read at test time.

:class:`Translation` maps the recorded ids and timestamps to the ones a
simulator generated, learning each pair the first time an answer shows it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from tests.conftest import REAL

RECORDINGS = REAL / "ciso_assistant"
TOKEN = "<token>"
"""The recordings' stand-in for the real key; the simulator under test is given it as its token."""

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d(?::|%3A)\d\d(?::|%3A)\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d(?::|%3A)\d\d)")
PLAIN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})?")
"""A datetime as the CSV and Markdown write it: UTC without zone."""


def recording_files() -> list[Path]:
    """The 40 recorded files in order."""
    return sorted(RECORDINGS.glob("[0-9][0-9]-*.json"))


def exchanges(path: Path) -> list[dict[str, Any]]:
    """The exchanges of one recorded file."""
    return list(json.loads(path.read_text(encoding="ascii"))["exchanges"])


def instant(text: str) -> datetime:
    """The UTC instant of an ISO or plain datetime (percent-encoded colons allowed)."""
    moment = datetime.fromisoformat(unquote(text).replace(" ", "T"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def drf(moment: datetime) -> str:
    """DRF's rendering of an instant."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain(moment: datetime, *, seconds: bool = False) -> str:
    """The CSV/Markdown rendering of an instant."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return str(naive.replace(microsecond=0) if seconds else naive)


@dataclass
class Translation:
    """Recorded id -> simulator id and recorded instant -> simulator instant, learned as the replay goes."""

    ids: dict[str, str] = field(default_factory=dict)
    times: dict[datetime, datetime] = field(default_factory=dict)
    seconds: dict[str, str] = field(default_factory=dict)
    """Second-precision renderings seen in text (the Markdown report), recorded -> simulator."""

    def learn_id(self, recorded: str, actual: Any, where: str) -> None:
        """Pair a recorded uuid with the simulator's, or check the pair already learned."""
        if recorded in self.ids:
            assert actual == self.ids[recorded], f"{where}: {actual!r} is not the simulator's {recorded}"
            return
        assert isinstance(actual, str) and UUID.fullmatch(actual), f"{where}: {actual!r} is not a uuid"
        assert actual not in self.ids.values(), f"{where}: {actual} already stands for another recorded id"
        self.ids[recorded] = actual

    def learn_time(self, recorded: str, actual: Any, where: str) -> None:
        """Pair a recorded timestamp with the simulator's, or check the pair already learned."""
        moment = instant(recorded)
        if moment in self.times:
            assert actual == drf(self.times[moment]), f"{where}: {actual!r}, expected {drf(self.times[moment])}"
            return
        assert isinstance(actual, str) and ISO.fullmatch(actual) and actual.endswith("Z"), f"{where}: {actual!r}"
        self.times[moment] = instant(actual)

    def request_value(self, value: Any) -> Any:
        """A recorded request value for the simulator: known ids and instants swapped, new ones kept."""
        if isinstance(value, dict):
            return {key: self.request_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.request_value(item) for item in value]
        return self.text(value, register=True) if isinstance(value, str) else value

    def text(self, value: str, *, register: bool = False) -> str:
        """``value`` with every known id and ISO instant swapped (new ones kept as they are when ``register``)."""

        def swap_id(match: re.Match[str]) -> str:
            if register:
                self.ids.setdefault(match[0], match[0])
            return self.ids.get(match[0], match[0])

        def swap_time(match: re.Match[str]) -> str:
            moment = instant(match[0])
            if register:
                self.times.setdefault(moment, moment)
            if moment not in self.times:
                return match[0]
            rendered = drf(self.times[moment])
            return quote(rendered, safe="") if "%3A" in match[0] else rendered

        return ISO.sub(swap_time, UUID.sub(swap_id, value))

    def plain_text(self, value: str) -> str:
        """``text`` plus the CSV's full-precision plain datetimes swapped."""

        def swap(match: re.Match[str]) -> str:
            moment = instant(match[0])
            return plain(self.times[moment]) if moment in self.times and len(match[0]) > 19 else match[0]

        return PLAIN.sub(swap, self.text(value))
