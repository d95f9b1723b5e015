"""Dropped values: what a mapper left out of one record, and why (see :mod:`connector.hygiene`)."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True)
class Dropped:
    """One value a mapper left out: where it was in the output, and the rule it broke."""

    field: str
    rule: str


_dropped: ContextVar[list[Dropped] | None] = ContextVar("dropped", default=None)


class recording:  # lower case as contextlib.suppress is: used as a function, ``with recording() as drops``
    """Collect the values dropped while mapping one record (the list fills as the mapper runs).

    A class rather than a ``@contextmanager`` generator: the runner enters one per record, and a
    generator costs several times as much to set up.
    """

    __slots__ = ("_drops", "_token")

    def __init__(self) -> None:
        self._drops: list[Dropped] = []
        self._token: Token[list[Dropped] | None] | None = None

    def __enter__(self) -> list[Dropped]:
        self._token = _dropped.set(self._drops)
        return self._drops

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._token is not None:
            _dropped.reset(self._token)


def drop(field: str, rule: str) -> None:
    """Note that the value for ``field`` was dropped for breaking ``rule``; outside :func:`recording`, nothing."""
    drops = _dropped.get()
    if drops is not None:
        drops.append(Dropped(field, rule))
