"""A connection's rate limit shared by every process through Redis: one atomic script per request.

The HTTP layer uses it instead of its in-process limiter when ``$CONNECTOR_LIMITS_URL`` names a
Redis (``connector worker`` sets it to its broker), so four workers on one SentinelOne connection
still send at most its 10 requests a second together. This module is a built-in plugin: its
``rate_limiter`` hook is how the HTTP layer, which knows nothing of the task queue, gets it.

The script is GCRA without a burst: one "theoretical arrival time" per connection, each call
booking the next slot, one interval (``per_seconds / requests``) after the last, and answering
how long to wait for it. Slots are evenly spaced, so no one-second window ever holds more than
the limit (plus the request at its very edge), where a bucket that starts full would let a
burst and the steady rate fall in the same second. A request costs one round trip, callers are
served in the order they asked, and the clock is Redis' own (``TIME``), so hosts need not agree.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from typing import Any

from connector.hookspecs import hookimpl

__all__ = ["LIMITS_ENV", "RedisLimiter", "rate_limiter", "redis_limiter"]

LIMITS_ENV = "CONNECTOR_LIMITS_URL"
"""A Redis URL: rate limits are then shared by every process using it."""

KEY = "connector-rate:{}"

# KEYS[1] the connection's next free slot; ARGV[1] seconds per request.
# Answers the seconds to wait before sending, as a string (Redis turns Lua numbers into integers).
_GCRA = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat - now
local booked = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', booked), 'PX', math.ceil((booked - now) * 1000) + 1000)
return string.format('%.6f', wait)
"""

_scripts: dict[str, Any] = {}
_lock = threading.Lock()


class RedisLimiter:
    """``acquire()`` waits for the connection's next slot, shared through Redis with every process."""

    def __init__(self, script: Any, url: str, key: str, rate: tuple[float, float]) -> None:
        requests, per_seconds = rate
        self.script, self.key, self._url = script, key, url
        self._interval = per_seconds / requests

    async def acquire(self) -> None:
        """Book the next slot and sleep until it comes."""
        from connector.jobs.handles import broker_calls

        # A blocking client in a thread: it is shared by every event loop of the process (each
        # worker task runs its own), where an asyncio client would belong to one loop.
        with broker_calls(self._url):
            answer = await asyncio.to_thread(self.script, keys=[self.key], args=[self._interval])
        wait = float(answer)
        if wait > 0:
            await asyncio.sleep(wait)


def redis_limiter(url: str, name: str, base_url: str, rate: tuple[float, float]) -> RedisLimiter:
    """The shared limiter of connection ``name`` at ``base_url`` on the Redis at ``url``."""
    with _lock:
        script = _scripts.get(url)
        if script is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            script = _scripts[url] = client.register_script(_GCRA)
    digest = hashlib.sha256(f"{name}\n{base_url}".encode()).hexdigest()[:24]
    return RedisLimiter(script, url, KEY.format(digest), rate)


@hookimpl
def rate_limiter(connection: str, base_url: str, rate: tuple[float, float]) -> RedisLimiter | None:
    """The limiter shared through ``$CONNECTOR_LIMITS_URL`` when it is set, else None."""
    shared = os.environ.get(LIMITS_ENV)
    return redis_limiter(shared, connection, base_url, rate) if shared else None
