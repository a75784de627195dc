"""Runs of equal pixels: label and segment maps are made of few long runs, so rules that work
on runs (a few per row) instead of pixels are cheap."""

from __future__ import annotations

from collections.abc import Iterable

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


def strip_runs(*maps: np.ndarray | Iterable[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Where the runs of :func:`run_starts` start in equally shaped maps, each given whole or a
    strip of rows at a time (an iterable of strips of the same heights, taken in step, each
    strip possibly overwritten by the next: a strip always starts a run), and each map's value
    at each start."""
    given = [(m,) if isinstance(m, np.ndarray) else m for m in maps]
    whole = all(isinstance(m, np.ndarray) for m in maps)
    starts: list[np.ndarray] = []
    values: list[list[np.ndarray]] = [[] for _ in maps]
    offset = 0
    for strips in zip(*given, strict=True):
        if any(s.shape != strips[0].shape for s in strips):
            raise ValueError("maps or strips of different sizes")
        if not whole and any(np.may_share_memory(a, b) for i, a in enumerate(strips) for b in strips[i + 1:]):
            raise ValueError("the strips of two maps share a buffer (give them buffers of different names)")
        flat = [np.ascontiguousarray(s).reshape(-1) for s in strips]
        at = run_starts(*flat)
        for acc, f in zip(values, flat, strict=True):
            acc.append(f.take(at))
        starts.append(at + offset if offset else at)
        offset += flat[0].size
    if len(starts) == 1:
        return starts[0], [v[0] for v in values]
    if not starts:
        return np.zeros(0, dtype=np.intp), [np.zeros(0, dtype=np.asarray(m).dtype if isinstance(m, np.ndarray)
                                                     else np.uint32) for m in maps]
    return np.concatenate(starts), [np.concatenate(v) for v in values]
