"""Value hygiene for every vendor's mapping: what a value dropped while mapping one record was.

Mappers clean each value they emit; a value they cannot use is dropped (never emitted as it came)
and noted with :func:`drop`. The runner maps each record inside :func:`recording`, so the drops
of one record are counted in the envelope's ``meta.dropped_values`` and named at ``-v``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Dropped:
    """One value a mapper left out: where it was in the output, and the rule it broke."""

    field: str
    rule: str


_dropped: ContextVar[list[Dropped] | None] = ContextVar("dropped", default=None)


@contextmanager
def recording() -> Iterator[list[Dropped]]:
    """Collect the values dropped while mapping one record (the list fills as the mapper runs)."""
    drops: list[Dropped] = []
    token = _dropped.set(drops)
    try:
        yield drops
    finally:
        _dropped.reset(token)


def drop(field: str, rule: str) -> None:
    """Note that the value for ``field`` was dropped for breaking ``rule``; outside :func:`recording`, nothing."""
    drops = _dropped.get()
    if drops is not None:
        drops.append(Dropped(field, rule))
