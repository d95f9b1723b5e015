"""SOAR platform exports: a Shuffle app, Cortex analyzers and responders, an XSOAR pack, from one description.

``connector export shuffle|cortex|xsoar DIR`` (:func:`export`) write what each platform installs;
:mod:`connector.export.description` is the description they all come from, with the naming and
type rules they share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from connector.export.cortex import cortex_files
from connector.export.description import Description, describe
from connector.export.shuffle import shuffle_files
from connector.export.xsoar import xsoar_files

PLATFORMS: Mapping[str, Callable[[Description], dict[str, str]]] = {
    "shuffle": shuffle_files, "cortex": cortex_files, "xsoar": xsoar_files,
}
"""Each platform's renderer: the description in, ``{relative path: file text}`` out."""


def render(platform: str, description: Description | None = None) -> dict[str, str]:
    """The files of ``platform``'s export, by path relative to the export folder."""
    return PLATFORMS[platform](description or describe())


def export(platform: str, directory: Path) -> list[Path]:
    """Write ``platform``'s export under ``directory``; returns the files written, in order."""
    written = []
    for relative, text in sorted(render(platform).items()):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if relative.endswith((".py", "/run")):
            path.chmod(0o755)
        written.append(path)
    return written
