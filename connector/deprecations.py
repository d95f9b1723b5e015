"""Deprecated input names: one :class:`InputDeprecation` warning each, one line on the command line.

Light on purpose (``warnings`` only): the command line installs :func:`show_deprecations_with` for
every command, ``connector list`` and ``--help`` included, which import nothing heavy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TextIO


class InputDeprecation(DeprecationWarning):
    """An action's input used a deprecated name of a field (an alias its action file declares)."""


# Shown once per message, not hidden as DeprecationWarning is by default: its readers run actions.
warnings.filterwarnings("default", category=InputDeprecation)


def warn_deprecated(messages: list[str]) -> None:
    """Each message (from :func:`connector.actions.aliased_input`) as an :class:`InputDeprecation`."""
    for message in messages:
        warnings.warn(message, InputDeprecation, stacklevel=2)


class _ShowThrough:
    """``warnings.showwarning`` that shows :class:`InputDeprecation` through ``say``, others as before."""

    def __init__(self, say: Callable[[str], None], fallback: Callable[..., None]) -> None:
        self.say, self.fallback = say, fallback

    def __call__(
        self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
        file: TextIO | None = None, line: str | None = None,
    ) -> None:
        if issubclass(category, InputDeprecation):
            self.say(str(message))
        else:
            self.fallback(message, category, filename, lineno, file, line)


def show_deprecations_with(say: Callable[[str], None]) -> None:
    """Show :class:`InputDeprecation` warnings as ``say`` lines (the CLI's one line on stderr)."""
    if not isinstance(warnings.showwarning, _ShowThrough):
        warnings.showwarning = _ShowThrough(say, warnings.showwarning)
