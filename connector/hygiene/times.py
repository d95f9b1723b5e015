"""The cleaner of instants: every vendor's form of a timestamp, written as UTC RFC 3339 text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from connector.hygiene.drops import drop
from connector.hygiene.values import is_null

EPOCH_MILLIS_ABOVE = 100_000_000_000  # as seconds the year 5138, as milliseconds March 1973
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(?!000000)\d{6})?Z")  # timestamp()'s own form
_DIGITS = re.compile(r"[0-9]+")


def timestamp(value: Any, field: str) -> str | None:
    """An instant as UTC RFC 3339 text, written as pydantic writes aware datetimes.

    Read: RFC 3339 and ISO 8601 variants (``Z`` or an offset, ``T`` or a space, any fraction, lower
    case), ``yyyy-MM-dd HH:mm:ss`` (a time without offset is UTC, as the vendors send it), and epoch
    seconds or milliseconds as numbers or digit strings.
    """
    if isinstance(value, str) and _CANONICAL_TIME.fullmatch(value):
        return value
    if value is None:
        return None
    moment = _instant(value, field)
    if moment is None:
        return None
    written = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{written}.{moment.microsecond:06d}Z" if moment.microsecond else f"{written}Z"


def _instant(value: Any, field: str) -> datetime | None:
    if is_null(value):
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        moment = _epoch(value) if not isinstance(value, str) or _DIGITS.fullmatch(value.strip()) else _iso(value)
    if moment is None:
        drop(field, f"{str(value)[:60]!r} is not a timestamp (RFC 3339, 'yyyy-MM-dd HH:mm:ss' or epoch)")
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        drop(field, f"{str(value)[:60]!r} is out of the range of timestamps")
        return None


def _epoch(value: float | str) -> datetime | None:
    seconds = float(value)
    if seconds > EPOCH_MILLIS_ABOVE:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return None
