"""The watch's checkpoint: what was handled, kept in one JSON file written atomically, under a lock.

::

    {"version": 1, "action": "get_threats", "connection": "s1",
     "bookmark": "2026-11-22T10:00:00.000000Z",      the start of the last complete poll
     "seen_since": "2026-11-22T09:55:00.000000Z",    every item handled with a stamp at or after
                                                     this instant is in seen
     "seen": {"sentinelone:123": "2026-11-22T09:58:01.120000Z", ...},   uid -> stamp handled
     "output": "/var/log/threats.ndjson", "output_length": 48213}      --output FILE and its
                                                                         committed length

Every write goes to a temporary file in the same folder, is flushed and fsynced, replaces the
checkpoint with ``os.replace`` (atomic on POSIX) and the folder is fsynced so the rename itself
survives a power cut: a reader sees the old checkpoint or the new one, never a mix. Only one
watch may use a checkpoint: :meth:`CheckpointStore.locked` holds ``fcntl.flock`` on
``<file>.lock`` for as long as the watch runs (the lock dies with the process, even on SIGKILL).
A ``--state`` that is a symbolic link is followed: the file it leads to is the one replaced, and
the link stays. A FIFO, a device or a directory is refused before anything opens it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import orjson
import platformdirs
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from connector.errors import BadInput, ConnectorError
from connector.files import check_file

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _on_calendar(moment: datetime) -> datetime:
    # A watch subtracts up to ten years from these: outside this range the arithmetic leaves the calendar.
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"{moment.isoformat()} is not between 1970 and 9000")
    return moment


Instant = Annotated[AwareDatetime, AfterValidator(_on_calendar)]


class Checkpoint(BaseModel):
    """Where a watch stands: the bookmark, the items handled inside the look-back window, the output."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    action: str
    connection: str
    bookmark: Instant
    seen_since: Instant
    seen: dict[str, Instant] = Field(default_factory=dict)
    output: str | None = None
    output_length: int = Field(0, ge=0)

    def prune(self) -> None:
        """Forget the items stamped before ``seen_since``: no poll asks for them again."""
        self.seen = {uid: stamp for uid, stamp in self.seen.items() if stamp >= self.seen_since}


def default_state_path(action: str, connection: str) -> Path:
    """``watch-<action>-<connection>.json`` in the user's state folder."""
    # A connection name comes from a YAML key: keep only what is safe in a file name.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", connection)
    return Path(platformdirs.user_state_dir("connector")) / f"watch-{action}-{safe}.json"


class CheckpointStore:
    """The checkpoint file of one watch: locked, read, and written atomically."""

    def __init__(self, path: Path) -> None:
        check_file(path, "--state", must_exist=False)
        # Resolved so that a symbolic link is followed: os.replace on the link would replace the link.
        self.path = path.resolve()
        self.lock_path = path.with_name(path.name + ".lock")
        self._temporary = path.with_name(f".{path.name}.tmp")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock for the block; BadInput when another watch holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise BadInput(f"--state: cannot create {self.lock_path}: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BadInput(
                    f"--state: {self.path} is in use by another watch (it holds {self.lock_path})"
                ) from None
            yield
        finally:
            # Closing the descriptor releases the lock; the lock file stays, as flock needs no cleanup.
            os.close(descriptor)

    def load(self) -> Checkpoint | None:
        """The checkpoint, or None when there is none yet; BadInput naming the file when it is unreadable."""
        check_file(self.path, "--state", must_exist=False)
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BadInput(f"--state: cannot read {self.path}: {exc.strerror}") from None
        try:
            return Checkpoint.model_validate(orjson.loads(data))
        except orjson.JSONDecodeError:
            problem = "not valid JSON"
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "(root)"
            problem = f"{where}: {error['msg']}"
        raise BadInput(
            f"--state: {self.path} is not a watch checkpoint ({problem}); move it away to start over"
        )

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace the checkpoint atomically: temporary file, flush, fsync, rename, fsync the folder.

        ConnectorError (exit 1) naming the file when it cannot be written; the old checkpoint stays.
        """
        data = checkpoint.model_dump_json().encode()
        try:
            with open(self._temporary, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(self._temporary, self.path)
            fsync_folder(self.path.parent)
        except OSError as exc:
            # A read-only folder or a full disk: the checkpoint on disk is still the last good one.
            with contextlib.suppress(OSError):
                self._temporary.unlink(missing_ok=True)
            raise ConnectorError(f"--state: cannot write {self.path}: {exc.strerror or type(exc).__name__}") from None


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename, a new file) to disk."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def new_checkpoint(action: str, connection: str, start: datetime) -> Checkpoint:
    """The checkpoint of a watch that starts at ``start``: nothing handled, nothing before it wanted."""
    return Checkpoint(action=action, connection=connection, bookmark=start, seen_since=start)
