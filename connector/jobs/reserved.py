"""A worker's tasks stay invisible to other workers for as long as they run.

kombu's Redis transport notes each message a worker reserves in the sorted set ``unacked_index``,
scored with the time it was delivered, and any worker hands a message over again once that time
is older than the visibility timeout: a task running longer than the timeout would run twice.
So a worker refreshes the time of every message it still holds (reserved or running), every
quarter of the timeout, from a thread of its own. Only a worker that died, and refreshes nothing,
has its messages handed over; ``--visibility-timeout`` is how long that takes, not how long a
task may run.
"""

from __future__ import annotations

import threading
import time

import redis
from celery.worker import state
from kombu.transport.redis import Channel

from connector.jobs.app import IO_TIMEOUT_S

INDEX = Channel.unacked_index_key


class Reservations(threading.Thread):
    """The thread refreshing this worker's reservations (``start()``, then ``stop()``)."""

    def __init__(self, url: str, visibility_timeout: float) -> None:
        super().__init__(name="connector-reservations", daemon=True)
        self._client = redis.Redis.from_url(url, socket_timeout=IO_TIMEOUT_S, socket_connect_timeout=IO_TIMEOUT_S)
        self._every = max(0.25, visibility_timeout / 4)
        self._stopped = threading.Event()

    def run(self) -> None:
        """Refresh every quarter of the visibility timeout until stopped."""
        while not self._stopped.wait(self._every):
            self.refresh()

    def refresh(self) -> int:
        """Mark every message this worker holds as delivered now; how many were refreshed."""
        tags = _held_tags()
        if not tags:
            return 0
        now = time.time()
        try:
            # XX: a message acknowledged meanwhile (gone from the index) is not put back.
            refreshed = self._client.zadd(INDEX, dict.fromkeys(tags, now), xx=True, ch=True)
        except redis.RedisError:
            # A broker blip: the next turn refreshes them, well within the timeout.
            return 0
        return int(refreshed or 0)

    def stop(self) -> None:
        """End the thread (the worker is stopping)."""
        self._stopped.set()


def _held_tags() -> list[str]:
    """The delivery tags of the requests this worker holds (the pool's threads change the set meanwhile)."""
    for _attempt in range(3):
        try:
            return [request.message.delivery_tag for request in list(state.reserved_requests)]
        except RuntimeError:
            continue
    return []
