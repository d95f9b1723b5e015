"""The few non-incident endpoints a client needs around incidents: folders, assets, actors, terminologies,
filtering labels.

They answer as the recording shows them (``01-setup-folder-asset-actor.json``): folders and
terminologies are listed and paged like incidents, a domain is created with a name (its parent is
Global), an asset with a name and type, and actors (incident owners) are listed. Filtering labels
(not recorded) are listed the same way, ``search`` matching the label's text, so that a client can
find a label by name. Nothing else of those APIs is simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams

from connector.sandbox.ciso_assistant.listing import paginate
from connector.sandbox.ciso_assistant.shapes import drf_datetime
from connector.sandbox.ciso_assistant.store import Folder, Ref, Store
from connector.sandbox.ciso_assistant.writes import ValidationFailed, canonical_uuid

_ASSET_LISTS = (
    "parent_assets", "support_assets", "solutions", "security_exceptions", "applied_controls", "vulnerabilities",
    "incidents", "organisation_objectives",
)
_ASSET_TYPES = ("PR", "SP")


def _folder_shape(folder: Folder, store: Store) -> dict[str, Any]:
    builtin = folder.parent is None
    parent = store.folders[folder.parent] if folder.parent else None
    return {
        "id": folder.id,
        "path": [] if parent is None else [{"id": parent.id, "str": parent.name}],
        "parent_folder": None if parent is None else {"str": parent.name, "id": parent.id},
        "filtering_labels": [],
        "content_type": "GLOBAL" if builtin else "DOMAIN",
        "created_at": drf_datetime(folder.created_at),
        "updated_at": drf_datetime(folder.updated_at),
        "is_published": True,
        "name": folder.name,
        "description": folder.description,
        "builtin": builtin,
        "create_iam_groups": builtin,
    }


def list_folders(store: Store, params: QueryParams, base: str) -> dict[str, Any]:
    """``GET /api/folders/``: every folder, paged."""
    return paginate([_folder_shape(folder, store) for folder in store.folders.values()], params, base).envelope()


def _required_name(body: Any) -> str:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed({"name": ["This field is required."]})
    return name.strip()


def create_folder(store: Store, body: Any, moment: datetime) -> dict[str, Any]:
    """``POST /api/folders/``: a domain under Global."""
    folder = Folder(store.new_id(), _required_name(body), store.root_id, body.get("description"), moment, moment)
    store.folders[folder.id] = folder
    return {
        "id": folder.id, "created_at": drf_datetime(moment), "updated_at": drf_datetime(moment),
        "is_published": True, "name": folder.name, "description": folder.description, "create_iam_groups": False,
        "parent_folder": folder.parent, "filtering_labels": [],
    }


def create_asset(store: Store, body: Any, now: Callable[[], datetime]) -> dict[str, Any]:
    """``POST /api/assets/``: an asset incidents may then name."""
    name = _required_name(body)
    kind = body.get("type", "PR")
    if kind not in _ASSET_TYPES:
        raise ValidationFailed({"type": [f'"{kind}" is not a valid choice.']})
    folder = canonical_uuid(str(body.get("folder") or store.root_id))
    if folder not in store.folders:
        raise ValidationFailed({"folder": [f'Invalid pk "{body.get("folder")}" - object does not exist.']})
    asset = Ref(store.new_id(), name, name, kind)
    store.related["assets"][asset.id] = asset
    created = now()
    return {
        "id": asset.id, **{key: [] for key in _ASSET_LISTS},
        "created_at": drf_datetime(created), "updated_at": drf_datetime(now()), "name": name,
        "description": body.get("description"), "type": kind, "reference_link": None, "security_objectives": {},
        "disaster_recovery_objectives": {}, "security_capabilities": {}, "recovery_capabilities": {}, "ref_id": "",
        "is_published": True, "observation": None, "is_business_function": False, "dora_licenced_activity": None,
        "dora_criticality_assessment": None, "dora_criticality_justification": None,
        "dora_discontinuing_impact": None, "folder": folder, "asset_class": None, "filtering_labels": [],
        "overridden_children_capabilities": [], "owner": [],
    }


def list_actors(store: Store, params: QueryParams, base: str) -> dict[str, Any]:
    """``GET /api/actors/``: the users incidents may have as owners."""
    actors = [
        {"id": ref.id, "str": ref.text, "type": "user", "specific": {"str": ref.text, "id": ref.kind}}
        for ref in store.related["owners"].values()
    ]
    return paginate(actors, params, base).envelope()


def list_terminologies(store: Store, params: QueryParams, base: str) -> dict[str, Any]:
    """``GET /api/terminologies/``: the qualification terminologies, by name (other field paths hold none)."""
    wanted = params.get("field_path", "qualifications")
    refs = sorted(store.related["qualifications"].values(), key=lambda ref: ref.name)
    shapes: list[dict[str, Any]] = [
        {
            "id": ref.id, "field_path": "qualifications", "translated_name": ref.text,
            "created_at": drf_datetime(store.terminology_times[ref.id][0]),
            "updated_at": drf_datetime(store.terminology_times[ref.id][1]),
            "name": ref.name, "description": None, "is_published": True, "builtin": True, "is_visible": True,
            "translations": {},
        }
        for ref in refs
        if wanted == "qualifications"
    ]
    return paginate(shapes, params, base).envelope()


def list_labels(store: Store, params: QueryParams, base: str) -> dict[str, Any]:
    """``GET /api/filtering-labels/``: the labels incidents may carry; ``search`` matches the label's text."""
    wanted = params.get("search", "").strip().casefold()
    root = store.folders[store.root_id]
    labels = [
        {"id": ref.id, "folder": {"str": root.name, "id": root.id}, "is_published": True, "label": ref.name}
        for ref in store.related["filtering_labels"].values()
        if wanted in ref.name.casefold()
    ]
    return paginate(labels, params, base).envelope()
