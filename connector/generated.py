"""The schemas written from pydantic models rather than by hand (``make schemas``).

A module of its own, above the models it writes: the schema store (:mod:`connector.schemas`) reads
files, and running an action never builds these models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from pydantic import BaseModel

from connector.actions import ActionSpec
from connector.catalog import schemas_dir
from connector.connections import Connection
from connector.threat import Event, Threat, schema_document


def generated_models() -> dict[str, type[BaseModel]]:
    """Schemas written from pydantic models rather than by hand: file name -> model."""
    return {"threat.json": Threat, "event.json": Event, "connection.json": Connection, "action.json": ActionSpec}


def write_generated(folder: Path | None = None) -> list[Path]:
    """Rewrite every generated schema file (in schemas/ unless ``folder``); returns the paths written."""
    folder = folder or schemas_dir()
    written = []
    for name, model in generated_models().items():
        path = folder / name
        path.write_bytes(orjson.dumps(schema_document(model, name), option=orjson.OPT_INDENT_2) + b"\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_generated():
        sys.stdout.write(f"wrote {written_path}\n")
