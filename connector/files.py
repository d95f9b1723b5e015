"""Checks on the files people name (``--state``, ``--output``, secret files) before they are opened.

Opening a FIFO blocks until a writer comes, reading a device may never end, and a directory or a
path longer than the system takes fails with a message that does not say which option was wrong.
:func:`check_file` refuses each of them in one line naming the option, before anything blocks.
Symbolic links are followed: the checks apply to the file the link leads to.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from connector.errors import BadInput

MAX_PATH = 4096
"""The longest path accepted, in bytes (Linux's PATH_MAX)."""

_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def shown(path: Path) -> str:
    """The path for an error line: as given, or its length when it is too long to be worth showing."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:60]}… (a path of {len(text):,} characters)"


def check_file(path: Path, label: str, error: type[BadInput] = BadInput, must_exist: bool = True) -> int:
    """The size of the regular file at ``path`` (0 when absent and not ``must_exist``).

    ``error`` naming ``label`` when the path is too long, cannot be looked at, or is a directory, a
    FIFO, a device or a socket rather than a regular file.
    """
    if len(os.fsencode(path)) > MAX_PATH:
        raise error(f"{label}: {shown(path)} is longer than the {MAX_PATH:,} bytes a path may have")
    try:
        status = path.stat()
    except FileNotFoundError:
        if must_exist:
            raise error(f"{label}: cannot read {shown(path)}: No such file or directory") from None
        return 0
    except OSError as exc:
        raise error(f"{label}: cannot use {shown(path)}: {exc.strerror or type(exc).__name__}") from None
    for is_kind, kind in _KINDS.items():
        if is_kind(status.st_mode):
            raise error(f"{label}: {shown(path)} is {kind}, not a regular file")
    return status.st_size
