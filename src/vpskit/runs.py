"""Runs of equal pixels: label and segment maps are made of few long runs, so rules that work
on runs (a few per row) instead of pixels are cheap."""

from __future__ import annotations

import numpy as np

from .pngformat import work_buffer


def _native_view(arr: np.ndarray) -> np.ndarray:
    """``arr``'s bytes in native byte order (other values if it was not: for equality tests)."""
    return arr if arr.dtype.isnative else arr.view(arr.dtype.newbyteorder("="))


def pixel_runs(*maps: np.ndarray, row_width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start (in raster order) and length of each run of pixels along which every one of the
    equally shaped ``maps`` keeps its value; with ``row_width``, a run also ends with each row
    of that many pixels."""
    starts = run_starts(*maps, row_width=row_width)
    return starts, np.diff(starts, append=starts.dtype.type(np.asarray(maps[0]).size))


def run_starts(*maps: np.ndarray, row_width: int | None = None) -> np.ndarray:
    """Where the runs of :func:`pixel_runs` start."""
    # equality does not depend on byte order: big-endian maps are compared as stored
    flat = [_native_view(np.asarray(m)).reshape(-1) for m in maps]
    n = flat[0].size
    change = work_buffer(n, "runs").view(bool)
    if n:
        change[0] = True
        np.not_equal(flat[0][1:], flat[0][:-1], out=change[1:])
        for other in flat[1:]:
            step = work_buffer(n - 1, "runs-other").view(bool)
            np.not_equal(other[1:], other[:-1], out=step)
            np.logical_or(change[1:], step, out=change[1:])
        if row_width:
            change[::row_width] = True
    return np.flatnonzero(change)
