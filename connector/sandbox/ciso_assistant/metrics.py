"""Dashboard actions of the incidents viewset: summary, monthly counts and breakdowns, as recorded.

All five take ``?folder=<uuid>`` (the incidents of that folder only). ``now`` is the simulator's
clock: "this month" is the month of ``now`` by ``reported_at``, as upstream counts it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from connector.sandbox.ciso_assistant.store import (
    CLOSED_STATUSES,
    DETECTION_LABELS,
    SEVERITY_LABELS,
    Incident,
    Store,
)

SEVERITY_COLORS: dict[int, str] = {
    1: "#DC2626", 2: "#EA580C", 3: "#D97706", 4: "#65A30D", 5: "#16A34A", 6: "#6B7280",
}
DETECTION_COLORS: dict[str, str] = {"internally_detected": "#3B82F6", "externally_detected": "#EF4444"}


def summary_stats(incidents: Iterable[Incident], now: datetime) -> dict[str, Any]:
    """Total, reported this month, and open (neither closed nor dismissed: resolved counts as open)."""
    chosen = list(incidents)
    this_month = sum(
        1 for inc in chosen
        if inc.reported_at is not None and (inc.reported_at.year, inc.reported_at.month) == (now.year, now.month)
    )
    return {"results": {
        "total_incidents": len(chosen),
        "incidents_this_month": this_month,
        "open_incidents": sum(1 for inc in chosen if inc.status not in CLOSED_STATUSES),
    }}


def monthly_metrics(incidents: Iterable[Incident]) -> dict[str, Any]:
    """Incidents per month of ``reported_at`` ("Nov 2026"), oldest first, and the running total."""
    counts = Counter((inc.reported_at.year, inc.reported_at.month) for inc in incidents if inc.reported_at)
    months = sorted(counts)
    cumulative: list[int] = []
    for key in months:
        cumulative.append((cumulative[-1] if cumulative else 0) + counts[key])
    return {"results": {
        "months": [datetime(year, month, 1).strftime("%b %Y") for year, month in months],
        "monthly_counts": [counts[key] for key in months],
        "cumulative_counts": cumulative,
    }}


def severity_breakdown(incidents: Iterable[Incident]) -> dict[str, Any]:
    """Incident count per severity label, every choice listed (zeros too), with the chart colour."""
    counts = Counter(incident.severity for incident in incidents)
    return {"results": [
        {"name": label, "value": counts[value], "itemStyle": {"color": SEVERITY_COLORS[value]}}
        for value, label in SEVERITY_LABELS.items()
    ]}


def detection_breakdown(incidents: Iterable[Incident]) -> dict[str, Any]:
    """Incident count per detection label, both choices listed, with the chart colour."""
    counts = Counter(incident.detection for incident in incidents)
    return {"results": [
        {"name": label, "value": counts[slug], "itemStyle": {"color": DETECTION_COLORS[slug]}}
        for slug, label in DETECTION_LABELS.items()
    ]}


def qualifications_breakdown(incidents: Iterable[Incident], store: Store) -> dict[str, Any]:
    """Radar data: the qualifications in use (raw names, most used first), each scaled to the highest count."""
    counts = Counter(ref for incident in incidents for ref in incident.relations["qualifications"])
    used = sorted(counts, key=lambda ref: (-counts[ref], store.related["qualifications"][ref].name))
    highest = max(counts.values(), default=0)
    return {"results": {
        "labels": [{"name": store.related["qualifications"][ref].name, "max": highest} for ref in used],
        "values": [counts[ref] for ref in used],
    }}
