"""The faces of an incident: the write shape, the read shape and the cascade preview.

CISO Assistant reads through ``IncidentReadSerializer`` (display strings, relations as
``{"str", "id"}``) and writes through ``IncidentWriteSerializer`` (raw values, relations as
uuids); create, update, partial update and ``object/`` answer with the write face. Key orders are
the recorded ones (``tests/fixtures/real/ciso_assistant``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.sandbox.ciso_assistant.store import (
    DETECTION_LABELS,
    RELATED_MODELS,
    RELATIONS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Store,
)

_READ_RELATIONS = ("threats", "owners", "assets", "qualifications", "entities", "applied_controls", "task_templates")
_CASCADE_TEXTS = {
    "deleted": ("The following objects will be permanently deleted.", "warning"),
    "affected": ("These objects will NOT be deleted but will lose one or more relationships.", "info"),
    "blocked": ("Deletion is blocked while these objects still reference this one.", "error"),
}


def drf_datetime(moment: datetime | None) -> str | None:
    """DRF's rendering: UTC with ``Z``, microseconds only when there are some."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_shape(incident: Incident) -> dict[str, Any]:
    """The write serializer's answer: severity int, status slug, folder and relations as uuids."""
    return {
        "id": incident.id,
        "name": incident.name,
        "description": incident.description,
        "ref_id": incident.ref_id,
        "status": incident.status,
        "severity": incident.severity,
        "reported_at": drf_datetime(incident.reported_at),
        "detection": incident.detection,
        "link": incident.link,
        "is_published": incident.is_published,
        "occurred_at": drf_datetime(incident.occurred_at),
        "resolved_at": drf_datetime(incident.resolved_at),
        "resolution": incident.resolution,
        "is_bcp_activated": incident.is_bcp_activated,
        "folder": incident.folder,
        **{name: list(incident.relations[name]) for name in RELATIONS},
    }


def folder_path(incident: Incident, store: Store, *, listed: bool) -> list[dict[str, str]]:
    """The ``path`` of the read shape: a list leaves Global out, a retrieve names it."""
    folder = store.folders[incident.folder]
    if listed and folder.id == store.root_id:
        return []
    return [{"id": folder.id, "str": folder.name}]


def read_shape(incident: Incident, store: Store, *, listed: bool = False) -> dict[str, Any]:
    """The read serializer's answer (list and retrieve): display strings and ``{"str", "id"}`` relations."""

    def refs(name: str) -> list[dict[str, str]]:
        return [{"str": store.related[name][ref].text, "id": ref} for ref in incident.relations[name]]

    detection = incident.detection
    return {
        "id": incident.id,
        "path": folder_path(incident, store, listed=listed),
        **{name: refs(name) for name in _READ_RELATIONS},
        "risk_scenarios": [],
        "severity": SEVERITY_LABELS[incident.severity],
        "status": STATUS_LABELS[incident.status],
        # get_detection_display: the label for a known value, the value itself otherwise ("" or None)
        "detection": DETECTION_LABELS.get(detection, detection) if detection else detection,
        "folder": {"str": store.folder_name(incident.folder), "id": incident.folder},
        "filtering_labels": refs("filtering_labels"),
        "created_at": drf_datetime(incident.created_at),
        "updated_at": drf_datetime(incident.updated_at),
        "name": incident.name,
        "description": incident.description,
        "ref_id": incident.ref_id,
        "reported_at": drf_datetime(incident.reported_at),
        "link": incident.link,
        "is_published": incident.is_published,
        "occurred_at": drf_datetime(incident.occurred_at),
        "resolved_at": drf_datetime(incident.resolved_at),
        "resolution": incident.resolution,
        "is_bcp_activated": incident.is_bcp_activated,
    }


def _block(key: str, groups: list[tuple[str, str, list[tuple[str, str]]]]) -> dict[str, Any]:
    """One of cascade-info's three parts from (model, verbose name, [(id, name)]) groups."""
    message, level = _CASCADE_TEXTS[key]
    ordered = [(model, verbose, sorted(objects, key=lambda item: item[1])) for model, verbose, objects in groups]
    return {
        "count": sum(len(objects) for _, _, objects in ordered),
        "grouped_objects": [
            {"model": model, "verbose_name": verbose, "objects": [{"id": ref, "name": name} for ref, name in objects]}
            for model, verbose, objects in ordered
        ],
        "related_objects": [
            {"model": verbose, "name": name, "id": ref} for _, verbose, objects in ordered for ref, name in objects
        ],
        "message": message,
        "level": level,
    }


def cascade_info(incident: Incident, store: Store) -> dict[str, Any]:
    """What deleting ``incident`` would delete (its timeline), unlink (its relations) and be blocked by."""
    deleted = [("TimelineEntry", "timeline entry", [(entry.id, entry.name) for entry in incident.timeline])]
    affected = sorted(
        (
            (*RELATED_MODELS[name], [(ref, store.related[name][ref].name) for ref in incident.relations[name]])
            for name in RELATIONS
        ),
        key=lambda group: group[0],
    )
    return {
        "deleted": _block("deleted", [group for group in deleted if group[2]]),
        "affected": _block("affected", [group for group in affected if group[2]]),
        "blocked": _block("blocked", []),
    }
