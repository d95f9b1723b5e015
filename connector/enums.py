"""The common shape's enumerations: OCSF's ids and the finding kinds.

Plain enums, importable without pydantic: mappers use them on the hot path, and
:mod:`connector.threat` builds its models (and ``schemas/threat.json``) on them.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["ConfidenceId", "Kind", "SeverityId", "StatusId"]


class Kind(StrEnum):
    """Which OCSF finding class a record is."""

    detection = "detection"
    vulnerability = "vulnerability"
    incident = "incident"


class SeverityId(IntEnum):
    """OCSF severity_id."""

    unknown = 0
    informational = 1
    low = 2
    medium = 3
    high = 4
    critical = 5
    fatal = 6
    other = 99


class StatusId(IntEnum):
    """OCSF finding status_id; ``closed`` stands where OCSF says Archived."""

    unknown = 0
    new = 1
    in_progress = 2
    suppressed = 3
    resolved = 4
    closed = 5
    other = 99


class ConfidenceId(IntEnum):
    """OCSF confidence_id."""

    unknown = 0
    low = 1
    medium = 2
    high = 3
    other = 99
