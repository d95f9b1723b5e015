"""Helpers of the Nameshield binding tests."""

from __future__ import annotations

from typing import Any

from connector.catalog import schemas_dir
from connector.vendors.nameshield.mapping import (
    normalize_event,
)

FILTERS_SCHEMA = schemas_dir() / "nameshield.event_filters.json"


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return normalize_event(record).model_dump(mode="json")
