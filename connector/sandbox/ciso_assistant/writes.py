"""The write serializer: field validation with DRF's messages, the model's rules, and applying a write.

Checked in this order, as recorded: each field (400 ``{field: [message]}``), then ref_id
uniqueness (unique per folder, case-insensitive, after trimming; 400 with a plain string), then the
date order against the stored values (reported >= occurred, resolved >= occurred, resolved >=
reported; the first broken rule only).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from connector.sandbox.ciso_assistant.store import (
    DETECTION_LABELS,
    RELATIONS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Incident,
    Ref,
    Store,
    TimelineEntry,
)

_DATETIME_FORMAT_HINT = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
TAKEN_IN_SCOPE = "is already used in this scope. Please choose another value."
"""The model's scope rule, after the value: a ref_id in its folder, a label's name."""
_DATE_RULES = (
    ("reported_at", "occurred_at", "reported_at", "Reported date cannot be before occurrence date."),
    ("resolved_at", "occurred_at", "resolved_at", "Resolution date cannot be before occurrence date."),
    ("resolved_at", "reported_at", "resolved_at", "Resolution date cannot be before reported date."),
)


class Invalid(Exception):
    """One field's rejection; the message is DRF's wording for that rule."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(Exception):
    """A body the write serializer rejects: ``errors`` is the DRF 400 body."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


def _not_null(value: Any, allow_null: bool) -> bool:
    """True when ``value`` is None and that is allowed; raise when it is None and not allowed."""
    if value is None and not allow_null:
        raise Invalid("This field may not be null.")
    return value is None


Validator = Callable[[Any, Store], Any]


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


def _choice(choices: Mapping[Any, str], *, allow_null: bool = False) -> Validator:
    by_text = {str(key): key for key in choices}

    def check(value: Any, _store: Store) -> Any:
        if _not_null(value, allow_null):
            return None
        if value == "" and allow_null:
            return ""  # a nullable choice field is blank-able too (blank=True, null=True on the model)
        # ChoiceField matches on str(value), so "2" is accepted for severity 2
        if isinstance(value, bool) or str(value) not in by_text:
            raise Invalid(f'"{value}" is not a valid choice.')
        return by_text[str(value)]

    return check


def parse_datetime(value: str) -> datetime:
    """ISO 8601 as Django parses it; naive values count as UTC (the server runs with TIME_ZONE=UTC)."""
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


def _boolean(*, allow_null: bool) -> Validator:
    def check(value: Any, _store: Store) -> bool | None:
        if _not_null(value, allow_null):
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "1"}:
            return True
        if isinstance(value, str) and value.lower() in {"false", "0"}:
            return False
        raise Invalid("Must be a valid boolean.")

    return check


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
    "detection": _choice(DETECTION_LABELS, allow_null=True),
    "link": _char(2048, allow_null=True, allow_blank=True),
    "is_published": _boolean(allow_null=False),
    "occurred_at": _datetime,
    "resolved_at": _datetime,
    "resolution": _char(None, allow_null=True, allow_blank=True),
    "is_bcp_activated": _boolean(allow_null=True),
    "folder": _folder,
    **{name: _relation(name) for name in RELATIONS},
}
"""Writable fields in serializer order, each with the rules of ``IncidentWriteSerializer``."""


def create_labels(body: Any, store: Store) -> None:
    """Label names in ``filtering_labels`` become new labels, as the viewset does before validating.

    Every name is created, never looked up: a name a label already has (case-insensitively, trimmed,
    as the scope rule compares) is refused, as the real server refuses it, with 400 ``{"label": [...]}``.
    """
    labels = body.get("filtering_labels") if isinstance(body, dict) else None
    if not labels or not isinstance(labels, list):
        return
    refs = store.related["filtering_labels"]
    resolved: list[Any] = []
    for label in labels:
        if isinstance(label, str) and label.strip() and canonical_uuid(label) is None:
            name = label.strip()
            if any(ref.name.casefold() == name.casefold() for ref in refs.values()):
                raise ValidationFailed({"label": [f"{name} {TAKEN_IN_SCOPE}"]})
            label = store.new_id()
            refs[label] = Ref(label, name, name)
        resolved.append(label)
    body["filtering_labels"] = resolved


def _ref_id_taken(store: Store, ref_id: str, folder: str, own_id: str | None) -> bool:
    wanted = ref_id.strip().casefold()
    return bool(wanted) and any(
        other.folder == folder and other.ref_id.strip().casefold() == wanted and other.id != own_id
        for other in store.incidents.values()
    )


def _check_rules(cleaned: Mapping[str, Any], store: Store, current: Incident | None) -> None:
    """The model's rules over the values as they would be stored: ref_id scope, then date order."""

    def value(name: str) -> Any:
        return cleaned[name] if name in cleaned else getattr(current, name, None)

    ref_id, folder = value("ref_id") or "", value("folder") or store.root_id
    if _ref_id_taken(store, ref_id, folder, current.id if current else None):
        raise ValidationFailed(
            {"ref_id": f"{ref_id.strip()} {TAKEN_IN_SCOPE}"}
        )
    for later, earlier, field, message in _DATE_RULES:
        if value(later) is not None and value(earlier) is not None and value(later) < value(earlier):
            raise ValidationFailed({field: [message]})


def validate_write(
    body: object, store: Store, current: Incident | None = None, *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Cleaned values of the fields present in ``body`` (unknown keys ignored), checked against ``current``."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]}
        )
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
    _check_rules(cleaned, store, current)
    return cleaned


def apply_changes(incident: Incident, cleaned: Mapping[str, Any], moment: datetime, store: Store) -> None:
    """Write validated values onto ``incident``, log status and severity changes, stamp ``updated_at``."""
    changes: tuple[tuple[str, Mapping[Any, str], str], ...] = (
        ("status", STATUS_LABELS, "Status changed"), ("severity", SEVERITY_LABELS, "Severity changed"),
    )
    for name, labels, kind in changes:
        old, new = getattr(incident, name), cleaned.get(name, getattr(incident, name))
        if new != old:
            incident.timeline.append(TimelineEntry(store.new_id(), f"{labels[old]}->{labels[new]}", kind, moment))
    for name, value in cleaned.items():
        if name in RELATIONS:
            incident.relations[name] = list(value)
        else:
            setattr(incident, name, value)
    incident.updated_at = moment


def new_incident(store: Store, cleaned: Mapping[str, Any], now: Callable[[], datetime]) -> Incident:
    """An incident from a validated create body, with the server's defaults for the fields left out."""
    reported = now()
    created = now()
    incident = Incident(
        id=store.new_id(), name="", folder=store.root_id, created_at=created, updated_at=created,
        reported_at=reported,
    )
    for name, value in cleaned.items():
        if name in RELATIONS:
            incident.relations[name] = list(value)
        else:
            setattr(incident, name, value)
    incident.updated_at = now()
    return incident
