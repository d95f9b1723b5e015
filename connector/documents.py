"""Reading what people write (input files, connections files, playbooks) and quoting it back short.

Every file is read as UTF-8 and every document is parsed with a bound on its nesting, so a wrong
encoding, an unreadable file or a hostile ``[[[[...`` is one line naming the file, never a
traceback. Values quoted in error lines go through :func:`quoted`, which cuts them to about 80
characters and says what they were ("a list of 2 items"), so an error line stays one line however
large the value it is about.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml

from connector.errors import BadInput

MAX_DEPTH = 64
"""The deepest nesting of lists and mappings accepted in any document (inputs, playbooks, connections)."""

QUOTE_LIMIT = 80
"""About how many characters of a value an error line quotes."""


def read_text(path: Path, label: str, error: type[BadInput] = BadInput) -> str:
    """The UTF-8 text of ``path``; ``error`` naming ``label`` and the file when it cannot be read or decoded."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{label}: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{label}: {path} is not UTF-8 text (byte {exc.start})") from None


def load_yaml(
    text: str, label: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader, error: type[BadInput] = BadInput
) -> Any:
    """The YAML document in ``text`` (a safe loader); ``error`` naming ``label`` and the line otherwise."""
    try:
        document = yaml.load(text, Loader=loader)  # a SafeLoader or a subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{label}{where}: not valid YAML") from None
    except RecursionError:
        # PyYAML's composer recurses once per level: a document this deep was never written by hand.
        raise error(f"{label}: nested deeper than {MAX_DEPTH} levels") from None
    check_depth(document, label, error)
    return document


def check_depth(document: Any, label: str, error: type[BadInput] = BadInput) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH`, before anything recursive walks it."""
    level = [document]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise error(f"{label}: nested deeper than {MAX_DEPTH} levels")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, QUOTE_LIMIT, QUOTE_LIMIT


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` for an error line: short values as their repr, long ones cut with their type and size.

    ``quoted("x" * 500)`` is ``'xxx…xx… (a string of 500 characters)`` in about 80 characters.
    """
    # reprlib stops at a few items per level and a few levels, so a megabyte of vendor data costs
    # no more to quote than a line of it; "..." in its answer means it left something out.
    text = _SHORT.repr(value)
    if len(text) <= limit and "..." not in text:
        return text
    return f"{text[: limit - 3].rstrip('.')}… ({describe(value)})"


def describe(value: Any) -> str:
    """What ``value`` is, in words: "a string of 500 characters", "a list of 2 items", "an object of 3 keys"."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, list | tuple):
        noun = "object" if value and all(isinstance(item, dict) for item in value) else "item"
        return f"a list of {len(value)} {noun}{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"an object of {len(value)} key{'s' if len(value) != 1 else ''}"
    return f"a {type(value).__name__}"
