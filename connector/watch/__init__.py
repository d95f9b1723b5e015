"""`connector watch`: poll an action incrementally and handle each new or changed item exactly once.

::

    from connector.watch import source, watch

    code = watch(source("get_threats", {"severity": ["high"]}, connection="s1"), every=60, once=True)

Pieces: :mod:`~connector.watch.items` (which actions, each item's uid and stamp),
:mod:`~connector.watch.checkpoint` (the checkpoint file: atomic writes, the lock),
:mod:`~connector.watch.sinks` (stdout, a file, a playbook), :mod:`~connector.watch.poller`
(the poll algorithm and its guarantees) and :mod:`~connector.watch.run` (checks and set-up).

Guarantees: the checkpoint is written atomically after each handled item (with ``--output``,
every 200 items and when a poll ends); the bookmark never passes the moment a poll started. With
``--output FILE`` each item version is written exactly once across kills (the file is cut back to
its committed length on start, so lines written after the last commit are written again). On stdout, or with a
playbook, the one item in hand when the process is killed is handled again on restart
(at-least-once for that item). A playbook that fails on an item is run on it again by the next
poll: its actions should be idempotent (create_incident is, by external reference).
"""

from connector.watch.checkpoint import Checkpoint, CheckpointStore
from connector.watch.items import WATCHABLE, Watchable
from connector.watch.poller import PollReport, Watcher
from connector.watch.run import Source, awatch, source, watch

__all__ = [
    "WATCHABLE", "Checkpoint", "CheckpointStore", "PollReport", "Source", "Watchable", "Watcher", "awatch", "source",
    "watch",
]
