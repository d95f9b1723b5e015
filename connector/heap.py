"""Keeping freed page buffers in the process's heap, so a long paged read does not map them again.

A page of 1000 SentinelOne threats is a body of about 4.5 MiB, read into a few buffers of that size
and freed once the page is mapped. glibc's malloc hands memory back to the kernel as soon as the top
of its heap holds more than twice the largest block freed so far, so every page mapped those
buffers afresh and the kernel zero-filled them again: about 2,400 page faults a page, a tenth of a
200,000-threat read's time, spent in the kernel.

The first body of at least :data:`BIG_BODY` bytes asks glibc (``mallopt``) to serve blocks below
32 MiB from its heap and to keep up to 64 MiB free at the top of it. The peak resident memory of a
read does not change (its buffers were that size anyway); what changes is that the memory stays
mapped between pages. Elsewhere than glibc on Linux nothing is asked, and a small read never
loads ctypes.
"""

from __future__ import annotations

import sys

BIG_BODY = 1 << 20
"""A response body of this many bytes or more (a full page of real-size records) tunes the heap."""
MMAP_THRESHOLD = 32 << 20
"""Blocks below this come from the heap, not a mapping of their own (glibc's largest allowed value)."""
TRIM_THRESHOLD = 64 << 20
"""Free memory at the top of the heap, beyond which glibc gives it back to the kernel."""
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_tuned = False


def body_read(size: int) -> None:
    """Note a response body of ``size`` bytes: the first big one tunes the heap (once per process)."""
    global _tuned
    if _tuned or size < BIG_BODY:
        return
    _tuned = True
    keep_freed_pages()


def keep_freed_pages() -> bool:
    """Ask glibc to keep freed buffers mapped (see the module's text); whether it was asked."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a C library without mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    # Both or neither: a fixed mmap threshold alone also fixes the trim threshold at its default.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
