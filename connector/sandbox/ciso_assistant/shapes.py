"""The two faces of an incident and the write serializer's validation, with DRF's own messages.

CISO Assistant reads through ``IncidentReadSerializer`` (display strings, relations as
``{"str", "id"}``) and writes through ``IncidentWriteSerializer`` (raw values, relations as uuids);
create, update, partial update and ``object/`` answer with the write face. The cascade preview
(``cascade-info/``) is shaped here too: it is the incident seen through its relations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
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
from connector.sandbox.common import iso_z

_DATETIME_FORMAT_HINT = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


class Invalid(Exception):
    """One field's rejection; the message is DRF's wording for that rule."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(Exception):
    """A body the write serializer rejects: ``errors`` is the DRF 400 body ``{field: [messages]}``."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


def not_a_dictionary(body: object) -> ValidationFailed:
    """DRF's answer to a JSON body that is not an object."""
    return ValidationFailed(
        {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]}
    )


def _moment(value: datetime | None) -> str | None:
    return None if value is None else iso_z(value)


def write_shape(incident: Incident) -> dict[str, Any]:
    """The write serializer's answer: severity int, status slug, folder and relations as uuids."""
    return {
        "id": incident.id,
        "name": incident.name,
        "description": incident.description,
        "ref_id": incident.ref_id,
        "status": incident.status,
        "severity": incident.severity,
        "reported_at": _moment(incident.reported_at),
        "detection": incident.detection,
        "link": incident.link,
        "is_published": incident.is_published,
        "folder": incident.folder,
        **{name: list(incident.relations[name]) for name in RELATIONS},
    }


def read_shape(incident: Incident, store: Store) -> dict[str, Any]:
    """The read serializer's answer (list and retrieve): display strings and ``{"str", "id"}`` relations."""

    def refs(name: str) -> list[dict[str, str]]:
        return [{"str": store.related[name][ref], "id": ref} for ref in incident.relations[name]]

    folder = store.folders[incident.folder]
    detection = incident.detection
    return {
        "id": incident.id,
        "path": [{"str": step.name, "id": step.id} for step in store.folder_path(incident.folder)],
        "threats": refs("threats"),
        "owners": refs("owners"),
        "assets": refs("assets"),
        "qualifications": refs("qualifications"),
        "entities": refs("entities"),
        "severity": SEVERITY_LABELS[incident.severity],
        "status": STATUS_LABELS[incident.status],
        # get_detection_display: the label for a known value, the value itself otherwise ("" or None)
        "detection": DETECTION_LABELS.get(detection, detection) if detection else detection,
        "folder": {"str": folder.name, "id": folder.id},
        "filtering_labels": refs("filtering_labels"),
        "created_at": iso_z(incident.created_at),
        "updated_at": iso_z(incident.updated_at),
        "name": incident.name,
        "description": incident.description,
        "ref_id": incident.ref_id,
        "reported_at": _moment(incident.reported_at),
        "link": incident.link,
        "is_published": incident.is_published,
    }


def cascade_info(incident: Incident, store: Store) -> dict[str, list[dict[str, str]]]:
    """What deleting ``incident`` would take along (its timeline entries) and whose links it would cut."""
    deleted = [
        {"model": "timelineentry", "verbose_name": "Timeline entry", "id": ref, "str": text}
        for ref, text in incident.timeline
    ]
    affected = [
        {"model": RELATED_MODELS[name][0], "verbose_name": RELATED_MODELS[name][1], "id": ref,
         "str": store.related[name][ref], "relation": name}
        for name in RELATIONS
        for ref in incident.relations[name]
    ]
    return {"deleted": deleted, "affected": affected}


Validator = Callable[[Any, Store], Any]


def _not_null(value: Any, allow_null: bool) -> bool:
    """True when ``value`` is None and that is allowed; raise when it is None and not allowed."""
    if value is None and not allow_null:
        raise Invalid("This field may not be null.")
    return value is None


def _char(max_length: int | None, *, allow_null: bool, allow_blank: bool) -> Validator:
    def check(value: Any, _store: Store) -> str | None:
        if _not_null(value, allow_null):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Invalid("Not a valid string.")
        text = str(value).strip()
        if not text and not allow_blank:
            raise Invalid("This field may not be blank.")
        if max_length is not None and len(text) > max_length:
            raise Invalid(f"Ensure this field has no more than {max_length} characters.")
        return text

    return check


def _choice(choices: Mapping[Any, str], *, allow_null: bool = False, allow_blank: bool = False) -> Validator:
    by_text = {str(key): key for key in choices}

    def check(value: Any, _store: Store) -> Any:
        if _not_null(value, allow_null):
            return None
        if value == "" and allow_blank:
            return ""
        # ChoiceField matches on str(value), so "2" is accepted for severity 2
        if isinstance(value, bool) or str(value) not in by_text:
            raise Invalid(f'"{value}" is not a valid choice.')
        return by_text[str(value)]

    return check


def parse_datetime(value: str) -> datetime:
    """ISO 8601 as Django parses it; naive values count as UTC (CISO Assistant runs with TIME_ZONE=UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _datetime(value: Any, _store: Store) -> datetime | None:
    if _not_null(value, allow_null=True):
        return None
    if not isinstance(value, str):
        raise Invalid(_DATETIME_FORMAT_HINT)
    try:
        return parse_datetime(value)
    except ValueError:
        raise Invalid(_DATETIME_FORMAT_HINT) from None


def _boolean(value: Any, _store: Store) -> bool:
    _not_null(value, allow_null=False)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in {"true", "t", "yes", "y", "on", "1"}:
        return True
    if isinstance(value, str) and value.lower() in {"false", "f", "no", "n", "off", "0"}:
        return False
    raise Invalid("Must be a valid boolean.")


def canonical_uuid(value: str) -> str | None:
    """The lowercase hyphenated form of ``value``, or None when it is not a uuid."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _primary_key(value: Any, known: Mapping[str, object]) -> str:
    """PrimaryKeyRelatedField on a uuid pk: type, then format (Django's message), then existence."""
    if not isinstance(value, str):
        raise Invalid(f"Incorrect type. Expected pk value, received {type(value).__name__}.")
    pk = canonical_uuid(value)
    if pk is None:
        raise Invalid(f"“{value}” is not a valid UUID.")
    if pk not in known:
        raise Invalid(f'Invalid pk "{value}" - object does not exist.')
    return pk


def _folder(value: Any, store: Store) -> str:
    _not_null(value, allow_null=False)
    return _primary_key(value, store.folders)


def _relation(name: str) -> Validator:
    def check(value: Any, store: Store) -> list[str]:
        _not_null(value, allow_null=False)
        if not isinstance(value, list):
            raise Invalid(f'Expected a list of items but got type "{type(value).__name__}".')
        # a many-to-many holds each object once, in first-seen order
        return list(dict.fromkeys(_primary_key(item, store.related[name]) for item in value))

    return check


WRITE_FIELDS: dict[str, Validator] = {
    "name": _char(200, allow_null=False, allow_blank=False),
    "description": _char(None, allow_null=True, allow_blank=True),
    "ref_id": _char(100, allow_null=False, allow_blank=True),
    "status": _choice(STATUS_LABELS),
    "severity": _choice(SEVERITY_LABELS),
    "reported_at": _datetime,
    "detection": _choice(DETECTION_LABELS, allow_null=True, allow_blank=True),
    "link": _char(2048, allow_null=True, allow_blank=True),
    "is_published": _boolean,
    "folder": _folder,
    **{name: _relation(name) for name in RELATIONS},
}
"""Writable fields in serializer order, each with the rules of ``IncidentWriteSerializer``."""


def create_labels(body: dict[str, Any], store: Store) -> None:
    """Turn label names in ``filtering_labels`` into new labels, as the viewset does on create and update."""
    labels = body.get("filtering_labels")
    if not labels or not isinstance(labels, list):
        return
    resolved: list[Any] = []
    for label in labels:
        if isinstance(label, str) and label.strip() and canonical_uuid(label) is None:
            label_id = store.new_id()
            store.related["filtering_labels"][label_id] = label.strip()
            label = label_id
        resolved.append(label)
    body["filtering_labels"] = resolved


def validate_write(body: object, store: Store, *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Cleaned values of the fields present in ``body``; unknown and read-only keys are ignored, as in DRF."""
    if not isinstance(body, dict):
        raise not_a_dictionary(body)
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, check in WRITE_FIELDS.items():
        if name not in body:
            if name in required:
                errors[name] = ["This field is required."]
            continue
        try:
            cleaned[name] = check(body[name], store)
        except Invalid as invalid:
            errors[name] = [invalid.message]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def apply_changes(incident: Incident, cleaned: Mapping[str, Any], moment: datetime) -> None:
    """Write validated values onto ``incident`` and stamp ``updated_at``."""
    for name, value in cleaned.items():
        if name in RELATIONS:
            incident.relations[name] = list(value)
        else:
            setattr(incident, name, value)
    incident.updated_at = moment


def new_incident(store: Store, cleaned: Mapping[str, Any], moment: datetime) -> Incident:
    """An incident from a validated create body, with the model's defaults for the fields left out."""
    incident = Incident(
        id=store.new_id(), name="", description=None, ref_id="", status="new", severity=6,
        reported_at=None, detection=None, link=None, is_published=False, folder=store.root_id,
        created_at=moment, updated_at=moment,
    )
    apply_changes(incident, cleaned, moment)
    return incident
