"""A job's marker: what was submitted (an action or a playbook) and by whom, kept beside its result.

The marker tells a job id that was never submitted (or whose result expired) from one still
queued, which Celery alone cannot do. It is written at submit with the result's time to live,
and given that time to live again when the task ends, so the marker and the result expire
together: a finished job never reads as unknown while its result is still there.

Its owner is a digest of whoever submitted it (``serve --broker`` passes its token), never the
token itself: a reader naming another owner is told the job is unknown, as if it did not exist.
A reader naming no owner (the command line, the Python API) holds the broker URL, and with it
every job on that broker.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

KEY = "connector-job-{}"
_OWNER_DOMAIN = b"connector job owner\n"


def owner_digest(owner: str | None) -> str | None:
    """The digest stored for ``owner`` (``None`` for a job nobody in particular owns)."""
    if owner is None:
        return None
    return hashlib.sha256(_OWNER_DOMAIN + owner.encode()).hexdigest()


def marker_value(kind: str, owner: str | None) -> bytes:
    """The marker of a job of ``kind`` (``action:NAME`` or ``playbook``) submitted by ``owner``."""
    return orjson.dumps({"kind": kind, "owner": owner_digest(owner)})


def marker_kind(stored: bytes | str | None, owner: str | None) -> str | None:
    """The job's kind from its stored marker, or None when there is none or ``owner`` may not read it."""
    if stored is None:
        return None
    found: Any = orjson.loads(stored)
    if owner is not None and found.get("owner") != owner_digest(owner):
        return None
    kind: str = found["kind"]
    return kind


def settle(client: Any, job_id: str, ttl: int) -> None:
    """Give the marker of ``job_id`` the result's time to live, from now (the task has just ended)."""
    client.expire(KEY.format(job_id), ttl)
