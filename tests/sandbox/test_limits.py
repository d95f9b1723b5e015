"""The simulators' rate limits on a fake clock: token bucket and sliding window."""

from __future__ import annotations

import pytest

from connector.sandbox.limits import SlidingWindow, TokenBucket


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: now[0])
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.1)
    now[0] = 0.15  # 1.5 tokens refilled: one request passes, the next waits for the missing half
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.05)
    now[0] = 10.0  # a long pause refills only up to the burst
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.1)


def test_sliding_window_admits_limit_per_window_and_key() -> None:
    now = [0.0]
    window = SlidingWindow(limit=2, window=60, clock=lambda: now[0])
    assert [window.take("a"), window.take("a")] == [0.0, 0.0]
    assert window.take("a") == pytest.approx(60)
    assert window.take("b") == 0.0  # another key has its own window
    now[0] = 45.0
    assert window.take("a") == pytest.approx(15)  # refused requests do not count
    now[0] = 60.0  # both admitted requests (at 0) leave the window
    assert [window.take("a"), window.take("a")] == [0.0, 0.0]
    assert window.take("a") == pytest.approx(60)
