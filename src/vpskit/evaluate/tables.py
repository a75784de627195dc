"""Per-frame tables every metric is built from: segments and (GT id, predicted id) pixel counts.

A frame is decoded once and reduced to a :class:`FrameTable`: the segments its JSON lists
(GT: id, category, crowd flag; prediction: id, category) and the number of pixels of every
(GT id, predicted id) pair that occurs in it (id 0 = void on either side). Windows of any span
and whole sequences are sums of these tables, so no metric ever goes back to the pixels.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import VpsError

ID_BITS = 24
"""Segment ids are 24-bit (R + 256 G + 256² B); a pair key is ``gt_id << 24 | pred_id``."""
ID_MASK = (1 << ID_BITS) - 1
VOID_ID = 0


@dataclass(frozen=True)
class Segments:
    """The segments one frame's JSON lists, duplicates removed (the first record of an id wins).

    ``ids`` keeps the JSON order; ``category`` and ``crowd`` are aligned with it.
    """

    ids: np.ndarray  # uint32
    category: np.ndarray  # int64
    crowd: np.ndarray  # bool

    @classmethod
    def from_records(cls, records: Sequence[dict], where: object, *, with_crowd: bool) -> Segments:
        """Build from ``segments_info`` records (``id``, ``category_id``, optional ``iscrowd``)."""
        seen: dict[int, int] = {}
        ids: list[int] = []
        cats: list[int] = []
        crowd: list[bool] = []
        for pos, rec in enumerate(records):
            try:
                sid = int(rec["id"])
                cat = int(rec["category_id"])
                isc = bool(int(rec.get("iscrowd", 0))) if with_crowd else False
            except (KeyError, TypeError, ValueError, AttributeError):
                raise VpsError(where, f"segments_info[{pos}] is not a segment record "
                               f"with an integer 'id' and 'category_id': {rec!r}") from None
            if not 0 < sid <= ID_MASK:
                raise VpsError(where, f"segment id {sid} is outside 1 … 2**24-1 (0 is void)")
            if sid in seen:
                continue
            seen[sid] = pos
            ids.append(sid)
            cats.append(cat)
            crowd.append(isc)
        return cls(np.asarray(ids, dtype=np.uint32), np.asarray(cats, dtype=np.int64),
                   np.asarray(crowd, dtype=bool))

    def __len__(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class FrameTable:
    """One frame reduced to its segments and the pixel count of each (GT id, predicted id) pair.

    ``pair_gt``/``pair_pred`` are ids (0 = void), ``pair_count`` the pixels, sorted by
    (GT id, predicted id) with no zero counts.
    """

    gt: Segments
    pred: Segments
    pair_gt: np.ndarray  # uint32
    pair_pred: np.ndarray  # uint32
    pair_count: np.ndarray  # int64

    @property
    def pixels(self) -> int:
        """Number of pixels of the frame."""
        return int(self.pair_count.sum())


def pair_counts(gt_ids: np.ndarray, pred_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel count of every (GT id, predicted id) pair of two equally shaped id maps.

    Returns ``(gt, pred, count)`` sorted by (gt, pred). Only the low 24 bits of each value are
    the id (the top byte is ignored, so raw RGBX pixels can be passed as they are). Works on runs
    of equal pairs along the rows: a few passes over the pixels plus a sort of the run starts.
    """
    a = np.ascontiguousarray(gt_ids, dtype=np.uint32).ravel()
    b = np.ascontiguousarray(pred_ids, dtype=np.uint32).ravel()
    if a.shape != b.shape:
        raise ValueError("id maps of different sizes")
    if a.size == 0:
        empty = np.zeros(0, dtype=np.uint32)
        return empty, empty.copy(), np.zeros(0, dtype=np.int64)
    change, scratch = _scratch(a.size)
    change[0] = True
    np.not_equal(a[1:], a[:-1], out=change[1:])
    np.not_equal(b[1:], b[:-1], out=scratch)
    np.logical_or(change[1:], scratch, out=change[1:])
    starts = np.flatnonzero(change)
    lengths = np.diff(starts, append=a.size)
    mask = np.uint32(ID_MASK)
    keys = ((a[starts] & mask).astype(np.uint64) << np.uint64(ID_BITS)) | (b[starts] & mask).astype(np.uint64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=lengths, minlength=uniq.size).astype(np.int64)
    return ((uniq >> np.uint64(ID_BITS)).astype(np.uint32), (uniq & np.uint64(ID_MASK)).astype(np.uint32),
            counts)


_SCRATCH = threading.local()


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean work buffers of ``n`` and ``n - 1`` elements, reused between calls of a thread.

    Reuse matters: fresh buffers of a full frame cost page faults comparable to the work itself.
    """
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None or bufs[0].size != n:
        bufs = (np.empty(n, dtype=bool), np.empty(max(n - 1, 0), dtype=bool))
        _SCRATCH.bufs = bufs
    return bufs


def pair_counts_slow(gt_ids: np.ndarray, pred_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`pair_counts` computed the obvious way (for tests)."""
    a = np.asarray(gt_ids, dtype=np.uint64).ravel() & np.uint64(ID_MASK)
    b = np.asarray(pred_ids, dtype=np.uint64).ravel() & np.uint64(ID_MASK)
    keys = (a << np.uint64(ID_BITS)) | b
    uniq, counts = np.unique(keys, return_counts=True)
    return ((uniq >> np.uint64(ID_BITS)).astype(np.uint32), (uniq & np.uint64(ID_MASK)).astype(np.uint32),
            counts.astype(np.int64))


def build_frame_table(
    gt_ids: np.ndarray,
    pred_ids: np.ndarray,
    gt: Segments,
    pred: Segments,
    *,
    gt_where: object = "ground truth",
    pred_where: object = "prediction",
    pred_json_where: object = "pred.json",
) -> FrameTable:
    """Count the pairs of one frame and check that the PNGs and the JSON segments agree.

    Raises ``VpsError`` for a size mismatch, a GT or predicted PNG id missing from its JSON,
    and a predicted JSON segment absent from its PNG.
    """
    if gt_ids.shape != pred_ids.shape:
        gh, gw = gt_ids.shape[:2]
        ph, pw = pred_ids.shape[:2]
        raise VpsError(pred_where, f"size {pw}x{ph} differs from the ground truth's {gw}x{gh} ({gt_where})")
    pg, pp, pc = pair_counts(gt_ids, pred_ids)
    gt_present = _distinct(pg)
    gt_present = gt_present[gt_present != VOID_ID]
    missing = np.setdiff1d(gt_present, _distinct(gt.ids), assume_unique=True)
    if missing.size:
        raise VpsError(gt_where, f"segment id {int(missing[0])} {_rgb(int(missing[0]))} is in the PNG "
                       "but not in the ground-truth JSON's segments_info")
    pred_present = _distinct(pp)
    pred_present = pred_present[pred_present != VOID_ID]
    missing = np.setdiff1d(pred_present, _distinct(pred.ids), assume_unique=True)
    if missing.size:
        raise VpsError(pred_where, f"segment id {int(missing[0])} {_rgb(int(missing[0]))} is in the PNG "
                       f"but not in {pred_json_where}'s segments_info")
    absent = np.setdiff1d(_distinct(pred.ids), pred_present, assume_unique=True)
    if absent.size:
        raise VpsError(pred_json_where, f"segment id {int(absent[0])} {_rgb(int(absent[0]))} is in "
                       f"segments_info but not in the PNG {pred_where}")
    return FrameTable(gt, pred, pg, pp, pc)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` without its masked-array check)."""
    v = np.sort(values, kind="stable")
    if v.size:
        v = v[np.concatenate(([True], v[1:] != v[:-1]))]
    return v


def _rgb(sid: int) -> str:
    return f"(RGB {sid & 0xFF},{(sid >> 8) & 0xFF},{(sid >> 16) & 0xFF})"


def first_occurrence(segments: Sequence[Segments]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The segments of several frames as one table, each id described by its first occurrence.

    Returns ``(ids, category, crowd, order)`` sorted by id, where ``order`` is the position of
    the id's first record when the frames' lists are read one after the other.
    """
    if not segments:
        z = np.zeros(0, dtype=np.int64)
        return z.astype(np.uint32), z, z.astype(bool), z
    ids = np.concatenate([s.ids for s in segments])
    cats = np.concatenate([s.category for s in segments])
    crowd = np.concatenate([s.crowd for s in segments])
    uniq, first = np.unique(ids, return_index=True)
    return uniq, cats[first], crowd[first], first.astype(np.int64)


def sum_pairs(frames: Sequence[FrameTable]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair counts of several frames added up: ``(gt, pred, count)`` sorted by (gt, pred)."""
    if len(frames) == 1:
        f = frames[0]
        return f.pair_gt, f.pair_pred, f.pair_count
    g = np.concatenate([f.pair_gt for f in frames]).astype(np.uint64)
    p = np.concatenate([f.pair_pred for f in frames]).astype(np.uint64)
    c = np.concatenate([f.pair_count for f in frames])
    uniq, inverse = np.unique((g << np.uint64(ID_BITS)) | p, return_inverse=True)
    counts = np.zeros(uniq.size, dtype=np.int64)
    np.add.at(counts, inverse.ravel(), c)
    return ((uniq >> np.uint64(ID_BITS)).astype(np.uint32), (uniq & np.uint64(ID_MASK)).astype(np.uint32),
            counts)
