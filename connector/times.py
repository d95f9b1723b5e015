"""Relative times in inputs: ``now``, ``-24h``, ``7d`` wherever an input takes a date-time.

The runner resolves them once, before the input is validated (:func:`resolved_times`), so every
surface (run, playbooks, watch, the server, the Python API) takes them alike. A field takes a time
when its schema says ``format: date-time`` (directly, through a ``$ref``, or in a branch of
``anyOf``/``oneOf``). An age is always in the past: ``-24h`` and ``24h`` both mean 24 hours ago.
Anything else is left as written for the schema to judge (RFC 3339 text).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema_rs import Resolver

from connector.documents import quoted
from connector.errors import BadInput

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
"""The units of an age, in seconds."""

RULE = "give RFC 3339 (2024-01-31T00:00:00Z), now, or an age like -24h, 7d (units s, m, h, d, w)"
_AGE = re.compile(r"^\s*([-+]?)(\d+)\s*([a-zA-Z]+)\s*$")


def resolved_times(document: dict[str, Any], schema: dict[str, Any], resolver: Resolver, label: str,
                   now: datetime | None = None) -> dict[str, Any]:
    """``document`` with each relative time in a date-time field written as UTC RFC 3339 text
    (a copy; the rest untouched); BadInput naming the field and the rule for an age it cannot read."""
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    walked: dict[str, Any] = _walk(document, schema, resolver, label, moment)
    return walked


def instant(text: str, field: str, now: datetime) -> str | None:
    """The instant ``text`` names when it is ``now`` or an age (None for anything else)."""
    if text.strip().lower() == "now":
        return _rfc3339(now)
    match = _AGE.match(text)
    if match is None:
        return None
    sign, number, unit = match.groups()
    if sign == "+" or unit not in UNITS:
        raise BadInput(f"{field}: {quoted(text)} is not a time: {RULE}")
    try:
        return _rfc3339(now - timedelta(seconds=int(number) * UNITS[unit]))
    except OverflowError:
        raise BadInput(f"{field}: {quoted(text)} is before the first year: {RULE}") from None


def _walk(value: Any, schema: Any, resolver: Resolver, field: str, now: datetime) -> Any:
    schema, resolver = _deref(schema, resolver)
    if isinstance(value, str) and _takes_time(schema, resolver):
        return instant(value, field, now) or value
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: _walk(item, properties[key], resolver, f"{field}.{key}", now) if key in properties else item
                for key, item in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_walk(item, schema["items"], resolver, f"{field}[{index}]", now) for index, item in enumerate(value)]
    return value


def _deref(schema: Any, resolver: Resolver) -> tuple[dict[str, Any], Resolver]:
    if not isinstance(schema, dict):
        return {}, resolver
    if "$ref" in schema:
        found = resolver.lookup(schema["$ref"])
        return _deref(found.contents, found.resolver)
    return schema, resolver


def _takes_time(schema: dict[str, Any], resolver: Resolver) -> bool:
    if schema.get("format") == "date-time":
        return True
    return any(_takes_time(*_deref(branch, resolver))
               for key in ("anyOf", "oneOf") for branch in schema.get(key, []))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
