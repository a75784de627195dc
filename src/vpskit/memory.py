"""Keep freed image-sized memory blocks in the process for the next image.

Decoding, computing and encoding a frame make a few buffers of one to eight MB each. glibc hands
every block above 128 KiB back to the system when it is freed (``mmap``/trim), so the next
frame's buffers are new memory again, and each 4 KiB page of it costs a page fault on first
touch. On virtual machines a fault costs several microseconds: about a fifth of ``eval`` and
``prepare`` went into faults on the 2-core machine vpskit is benchmarked on. Raising
glibc's thresholds (``mallopt``) makes freed blocks of up to 32 MiB stay in the process, where
the next frame reuses them; memory held stays bounded by the largest working set, that of one
video. Elsewhere (musl, macOS, Windows), or when ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` are set (the user's choice), nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 1 << 25
"""Blocks up to this size come from (and go back to) the process's heap, not the system."""

TRIM_THRESHOLD = 1 << 27
"""Free memory kept at the top of the heap before any is returned to the system."""

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_blocks() -> bool:
    """Set glibc's thresholds so that freed blocks of up to :data:`MMAP_THRESHOLD` bytes are
    reused by the process; True when set (glibc, and the user set neither threshold)."""
    if not sys.platform.startswith("linux") or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
