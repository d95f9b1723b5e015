"""The vendors' documented rate limits, as the simulators enforce them, on an injectable clock.

SentinelOne and MySecutec meter requests with a token bucket; Nameshield and CISO Assistant (DRF's
SimpleRateThrottle) count requests over a sliding window. Both answer "how long until a request
may pass", which the apps turn into a 429 with ``Retry-After`` in their vendor's own words. Tests
pass a fake clock instead of sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second; each request takes one."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._tokens = burst
        self._at = clock()

    def take(self) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0 - 1e-9:  # tolerate float drift: 0.1 s at 10/s must give a whole token
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class SlidingWindow:
    """At most ``limit`` admitted requests per key in any ``window`` seconds; refused ones do not count."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._admitted: dict[str, deque[float]] = {}

    def take(self, key: str = "") -> float:
        """Admit one request for ``key`` (0.0) or say how many seconds remain until the oldest slot frees."""
        now = self.clock()
        stamps = self._admitted.setdefault(key, deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) < self.limit:
            stamps.append(now)
            return 0.0
        return max(stamps[0] + self.window - now, 1e-9)
