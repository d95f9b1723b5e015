"""The cleaners of plain values: text, identifiers, numbers, flags, objects and lists of them."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any

from connector.hygiene.drops import drop

NULL_LIKES = frozenset({"", "none", "null", "nil", "n/a", "-"})
"""Texts that tools between the vendor and us write for a missing value (compared case-folded)."""
NULL_LIKE_LONGEST = max(map(len, NULL_LIKES))
"""The longest of them: a longer text is never a null."""
IDENT_LONGEST = 256
_LIST_SEPARATORS = re.compile(r"\s*[,;\n]\s*")
_MASKED = re.compile(r"[*xX#•]{3,}|<[^<>]*>|\[\w*\]", re.IGNORECASE)
_MASK_STARTS = frozenset("*xX#•<[")
_FLAGS = frozenset({"true", "false", "1", "0"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _type_name(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__


def is_null(value: Any) -> bool:
    """Whether ``value`` means "no value": None, or a null spelled as text."""
    # Padding aside, a null-like text is short: longer ones are never case-folded.
    return value is None or (isinstance(value, str) and len(value) < 16 and value.strip().casefold() in NULL_LIKES)


def text(value: Any, field: str) -> str | None:
    """A text value: stripped, numbers written out, nulls spelled as text null; objects, lists and booleans dropped."""
    # The common cases first and cheaply: mapping calls this for nearly every value of every record.
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) > NULL_LIKE_LONGEST or stripped.casefold() not in NULL_LIKES:
            return stripped
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value) if math.isfinite(value) else None
    drop(field, f"{_type_name(value)} where text is expected")
    return None


def label(value: Any, field: str, known: Collection[str]) -> str | None:
    """A vendor's enum label: one of ``known`` as it is (Nameshield's ``NONE`` and SentinelOne's
    ``n/a`` are values, not nulls), anything else as :func:`text`."""
    if isinstance(value, str) and value in known:
        return value
    return text(value, field)


def ident(value: Any, field: str) -> str | None:
    """An identifier: text that is neither masked (``***``, ``<redacted>``, ``[hidden]``) nor longer
    than :data:`IDENT_LONGEST` characters (no vendor's ids are; it would flood every line naming it)."""
    found = text(value, field)
    if found is None:
        return None
    # Cheap checks before each regex: a mask starts with one of its characters, and control
    # characters are never printable (most ids are digits or hex, and pass both at C speed).
    if found[0] in _MASK_STARTS and _MASKED.fullmatch(found):
        drop(field, "a masked identifier")
        return None
    if len(found) > IDENT_LONGEST:
        drop(field, f"an identifier of {len(found)} characters (at most {IDENT_LONGEST})")
        return None
    if not found.isprintable() and _CONTROL.search(found):
        drop(field, "control characters in an identifier")
        return None
    return found


def keys_of(record: dict[Any, Any]) -> str:
    """The keys of a record, sorted, as they may appear in a one-line message (for a refusal)."""
    listed = ", ".join(sorted(_CONTROL.sub("?", str(key)) for key in record))
    return listed if len(listed) <= 200 else listed[:199] + "…"


def number(value: Any, field: str, *, low: float | None = None, high: float | None = None) -> float | None:
    """A finite number within [low, high]; a numeric string is read; anything else dropped."""
    if value is None or is_null(value):  # None first: an absent value is the common null
        return None
    found: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        found = float(value)
    elif isinstance(value, str):
        try:
            found = float(value.strip())
        except ValueError:
            found = None
    if found is None or not math.isfinite(found):
        drop(field, f"{_type_name(value)} {str(value)[:40]!r} is not a number")
        return None
    if (low is not None and found < low) or (high is not None and found > high):
        drop(field, f"{found:g} is out of range ({low} to {high})")
        return None
    return found


def integer(value: Any, field: str, *, low: int = 0) -> int | None:
    """A whole number, at least ``low`` (a numeric string or an integral float is read)."""
    found = number(value, field, low=low)
    if found is None:
        return None
    if not found.is_integer():
        drop(field, f"{found:g} is not a whole number")
        return None
    return int(found)


def flag(value: Any, field: str) -> bool | None:
    """A boolean; ``"true"``/``"false"`` and 0/1 are read, anything else dropped."""
    if isinstance(value, bool) or value is None:
        return value
    if str(value).strip().casefold() in _FLAGS:
        return str(value).strip().casefold() in {"true", "1"}
    if not is_null(value):
        drop(field, f"{_type_name(value)} is not a boolean")
    return None


def mapping(value: Any, field: str) -> dict[str, Any]:
    """An object; null reads as empty, anything else is dropped (and reads as empty)."""
    if isinstance(value, dict):
        return value
    if not is_null(value):
        drop(field, f"{_type_name(value)} where an object is expected")
    return {}


def objects(value: Any, field: str) -> list[dict[str, Any]]:
    """A list of objects: a lone object is a list of one; items that are not objects are dropped.

    A list holding only objects is returned as it is, not copied: read it, never change it.
    """
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        if not is_null(value):
            drop(field, f"{_type_name(value)} where a list of objects is expected")
        return []
    for item in value:
        if not isinstance(item, dict):
            break
    else:
        return value  # the common case, nothing to leave out
    for item in value:
        if not isinstance(item, dict) and item is not None:
            drop(field, f"{_type_name(item)} in a list of objects")
    return [item for item in value if isinstance(item, dict)]


def texts(value: Any, field: str) -> list[str]:
    """A list of texts: a string holding several joined by commas, semicolons or newlines is split."""
    if value is None:
        return []
    if isinstance(value, str) and not ("," in value or ";" in value or "\n" in value):
        one = text(value, field)  # the common case, one text: no list to walk and none to deduplicate
        return [] if one is None else [one]
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, str) and ("," in item or ";" in item or "\n" in item):
            found.extend(part for part in _LIST_SEPARATORS.split(item.strip()) if not is_null(part))
        else:
            one = text(item, field)
            if one is not None:
                found.append(one)
    return list(dict.fromkeys(found))
