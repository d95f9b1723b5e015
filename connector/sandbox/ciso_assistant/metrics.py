"""Dashboard actions of the incidents viewset: summary, monthly counts and breakdowns.

They cover every incident (list filters do not apply, as DRF does not filter custom actions).
``now`` is the simulator's clock, which never reads earlier than ``common.ANCHOR``, so the seeded
two years always fill the last twelve months.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from connector.sandbox.ciso_assistant.store import (
    DETECTION_LABELS,
    OPEN_STATUSES,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Store,
)

UNSPECIFIED_DETECTION = "Not specified"


def _happened_at(incident: Incident) -> datetime:
    return incident.reported_at or incident.created_at


def summary_stats(incidents: Iterable[Incident], now: datetime) -> dict[str, Any]:
    """Counts per status, open and critical-open incidents, and incidents reported in the last 30 days."""
    chosen = list(incidents)
    statuses = Counter(incident.status for incident in chosen)
    since = now - timedelta(days=30)
    return {
        "total": len(chosen),
        "open": sum(statuses[status] for status in OPEN_STATUSES),
        **{status: statuses[status] for status in STATUS_LABELS},
        "critical_open": sum(1 for inc in chosen if inc.severity == 1 and inc.status in OPEN_STATUSES),
        "last_30_days": sum(1 for inc in chosen if _happened_at(inc) >= since),
        "published": sum(1 for inc in chosen if inc.is_published),
    }


def _month_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def _last_months(moment: datetime, count: int) -> list[str]:
    year, month = moment.year, moment.month
    keys: list[str] = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(keys))


def monthly_metrics(incidents: Iterable[Incident], now: datetime) -> dict[str, Any]:
    """For each of the last 12 months: incidents reported, and incidents closed out (last update, when
    resolved or closed: the sandbox keeps no separate resolution date)."""
    chosen = list(incidents)
    months = _last_months(now, 12)
    reported = Counter(_month_key(_happened_at(inc)) for inc in chosen)
    closed = Counter(_month_key(inc.updated_at) for inc in chosen if inc.status in {"resolved", "closed"})
    return {"results": [{"month": key, "reported": reported[key], "resolved": closed[key]} for key in months]}


def severity_breakdown(incidents: Iterable[Incident]) -> dict[str, Any]:
    """Incident count per severity, most severe first, zeros included."""
    counts = Counter(incident.severity for incident in incidents)
    rows = [{"severity": key, "name": name, "count": counts[key]} for key, name in SEVERITY_LABELS.items()]
    return {"results": rows}


def detection_breakdown(incidents: Iterable[Incident]) -> dict[str, Any]:
    """Incident count per detection origin; blank and null detections are counted together."""
    counts = Counter(incident.detection or None for incident in incidents)
    rows: list[dict[str, Any]] = [
        {"detection": key, "name": name, "count": counts[key]} for key, name in DETECTION_LABELS.items()
    ]
    rows.append({"detection": None, "name": UNSPECIFIED_DETECTION, "count": counts[None]})
    return {"results": rows}


def qualifications_breakdown(incidents: Iterable[Incident], store: Store) -> dict[str, Any]:
    """Incident count per qualification (an incident counts once for each of its qualifications)."""
    counts = Counter(ref for incident in incidents for ref in incident.relations["qualifications"])
    named = sorted(store.related["qualifications"].items(), key=lambda item: (-counts[item[0]], item[1]))
    rows = [{"id": ref, "name": name, "count": counts[ref]} for ref, name in named]
    return {"results": rows}
