"""Did you mean: the one close name to offer when a name is not known.

Used for commands, actions, vendors, connections, input keys and enum values alike, so that every
"is not known" line offers the same kind of hint, or none when nothing is close.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6
"""How alike two names must be (difflib's ratio) to be offered: below it a guess misleads more than it helps."""


def closest(word: str, choices: Iterable[object]) -> str | None:
    """The choice closest to ``word``, compared case-insensitively with ``-`` read as ``_``; None
    when none is close or ``word`` is itself a choice."""
    by_key: dict[str, str] = {}
    for choice in choices:
        if isinstance(choice, str):
            by_key.setdefault(_key(choice), choice)
    key = _key(word)
    if key in by_key:
        return by_key[key] if by_key[key] != word else None
    found = difflib.get_close_matches(key, list(by_key), n=3, cutoff=CUTOFF)
    if not found:
        return None
    # A typo replaces a character more often than it drops one: among close names, the one of the
    # same length wins (get-threat5 is get-threats rather than get-threat).
    return by_key[min(found, key=lambda name: abs(len(name) - len(key)))]


def did_you_mean(word: str, choices: Iterable[object], *, dashes: bool = False) -> str:
    """``"; did you mean 'run'?"`` for the closest choice, or ``""``: appended to a message as is.

    With ``dashes``, the choice is offered as typed on the command line when ``word`` was
    (``get-threats`` for ``get-threat5``, ``get_threats`` for ``get_threat5``).
    """
    found = closest(word, choices)
    if found is None:
        return ""
    if dashes and "-" in word:
        found = found.replace("_", "-")
    return f"; did you mean {found!r}?"


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")
