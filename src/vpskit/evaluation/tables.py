"""Per-frame tables every metric is built from: segments and (GT id, predicted id) pixel counts.

A frame is decoded once and reduced to a :class:`FrameTable`: the segments its JSON lists
(GT: id, category, crowd flag; prediction: id, category) and the number of pixels of every
(GT id, predicted id) pair that occurs in it (id 0 = void on either side). Windows of any span
and whole sequences are sums of these tables, so no metric ever goes back to the pixels. The
counting itself is in :mod:`.pairs` (its names are importable from here too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import VpsError
from ..jsonfields import segment_records
from .pairs import ID_BITS, ID_MASK, VOID_ID, IdIndex, PairCounter, pair_counts, pair_counts_slow
from .pairs import _distinct as _distinct  # noqa: F401  (category_instance takes it from here)

__all__ = ["ID_BITS", "ID_MASK", "VOID_ID", "FrameTable", "IdIndex", "PairCounter", "Segments", "check_gt",
           "crowd_for_stq", "first_occurrence", "frame_table", "pair_counts", "pair_counts_slow", "sum_pairs"]


@dataclass(frozen=True)
class Segments:
    """The segments one frame's JSON lists, each id once, in the JSON's order.

    ``category`` and ``crowd`` are aligned with ``ids``.
    """

    ids: np.ndarray  # uint32
    category: np.ndarray  # int64
    crowd: np.ndarray  # bool

    @classmethod
    def from_records(cls, records: object, where: object, *, with_crowd: bool) -> Segments:
        """Build from ``segments_info`` records (``id``, ``category_id``, with ``with_crowd`` also
        ``iscrowd``, default 0), checked by :func:`vpskit.jsonfields.segment_records`: ``VpsError`` naming
        ``where`` for a malformed or repeated record."""
        recs = segment_records(records, where, gt=with_crowd)
        return cls(np.fromiter((r.id for r in recs), dtype=np.uint32, count=len(recs)),
                   np.fromiter((r.category_id for r in recs), dtype=np.int64, count=len(recs)),
                   np.fromiter((bool(r.iscrowd) for r in recs), dtype=bool, count=len(recs)))

    @classmethod
    def from_checked(cls, records: list[dict], *, with_crowd: bool = True) -> Segments:
        """Build from ``segments_info`` records that :func:`vpskit.jsonfields.segment_records` has
        already passed (as :func:`~vpskit.jsonfields.check_gt_json` and, without ``with_crowd``,
        :func:`~vpskit.jsonfields.check_pred_json` do): what :meth:`from_records` gives, without
        checking them again."""
        n = len(records)
        crowd = (np.fromiter((bool(r.get("iscrowd", 0)) for r in records), dtype=bool, count=n) if with_crowd
                 else np.zeros(n, dtype=bool))
        return cls(np.fromiter((r["id"] for r in records), dtype=np.uint32, count=n),
                   np.fromiter((r["category_id"] for r in records), dtype=np.int64, count=n), crowd)

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


def check_gt(counter: PairCounter, gt_ids: np.ndarray, gt: Segments, *, gt_where: object = "ground truth") -> None:
    """Hand a GT id map to ``counter``; raises ``VpsError`` for an id missing from the GT JSON."""
    missing = counter.set_gt(gt_ids, counter.index(gt.ids, 0))
    if missing is not None:
        _unknown_gt_id(missing, gt_where)


def _unknown_gt_id(missing: int, gt_where: object) -> None:
    raise VpsError(gt_where, f"segment id {missing} {_rgb(missing)} is in the PNG "
                   "but not in the ground-truth JSON's segments_info")


def frame_table(
    counter: PairCounter,
    pred_ids: np.ndarray,
    gt: Segments,
    pred: Segments,
    *,
    gt_ids: np.ndarray | None = None,
    gt_where: object = "ground truth",
    pred_where: object = "prediction",
    pred_json_where: object = "pred.json",
) -> FrameTable:
    """The table of a frame whose GT ``counter`` holds (:func:`check_gt`), given its prediction;
    or, with ``gt_ids``, of that GT id map and the prediction held at once (only the low 24 bits
    of each value are the id; cheaper, as the runs of both are found in one go), checked as
    :func:`check_gt` checks it.

    Raises ``VpsError`` for a size mismatch, a predicted PNG id missing from its JSON, and a
    predicted JSON segment absent from its PNG.
    """
    shape = counter.shape if gt_ids is None else gt_ids.shape
    assert shape is not None
    _check_sizes(shape, pred_ids.shape, gt_where, pred_where)
    pred_index = counter.index(pred.ids, 1)
    if gt_ids is None:
        pg, pp, pc, missing = counter.count(pred_ids, pred_index)
    else:
        pg, pp, pc, gt_missing, missing = counter.count_both(gt_ids, counter.index(gt.ids, 0), pred_ids,
                                                             pred_index)
        if gt_missing is not None:
            _unknown_gt_id(gt_missing, gt_where)
    return _checked_table(gt, pred, pred_index, pg, pp, pc, missing, pred_where, pred_json_where)


def _check_sizes(gt_shape: tuple[int, ...], pred_shape: tuple[int, ...], gt_where: object,
                 pred_where: object) -> None:
    if tuple(pred_shape) != tuple(gt_shape):
        gh, gw = gt_shape[:2]
        ph, pw = pred_shape[:2]
        raise VpsError(pred_where, f"size {pw}x{ph} differs from the ground truth's {gw}x{gh} ({gt_where})")


def _checked_table(gt: Segments, pred: Segments, pred_index: IdIndex, pg: np.ndarray, pp: np.ndarray,
                   pc: np.ndarray, missing: int | None, pred_where: object, pred_json_where: object
                   ) -> FrameTable:
    """The frame's table, or ``VpsError`` for a predicted id ``missing`` from the JSON or a JSON
    segment absent from the counts."""
    if missing is not None:
        raise VpsError(pred_where, f"segment id {missing} {_rgb(missing)} is in the PNG "
                       f"but not in {pred_json_where}'s segments_info")
    present = np.zeros(len(pred_index), dtype=bool)
    present[np.searchsorted(pred_index.ids, pp)] = True
    if not present[1:].all():
        absent = int(pred_index.ids[1 + int(np.argmin(present[1:]))])
        raise VpsError(pred_json_where, f"segment id {absent} {_rgb(absent)} is in "
                       f"segments_info but not in the PNG {pred_where}")
    return FrameTable(gt, pred, pg, pp, pc)


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


def crowd_for_stq(frames: Sequence[FrameTable], rule: str) -> list[FrameTable]:
    """The frames of a video with the GT crowd flags STQ uses under ``rule``.

    ``"iscrowd"``: the JSON's flags, unchanged. ``"first-listed"``: only the segment the video's
    JSON lists first is crowd (the reference numbers a video's segments 0, 1, … in listing order
    and takes a thing numbered 0 for a crowd region). ``"none"``: no segment is crowd.
    """
    if rule == "iscrowd":
        return list(frames)
    if rule not in ("first-listed", "none"):
        raise ValueError(f"unknown STQ crowd rule {rule!r}")
    first = next((int(f.gt.ids[0]) for f in frames if len(f.gt)), None) if rule == "first-listed" else None
    return [replace(f, gt=Segments(f.gt.ids, f.gt.category, f.gt.ids == first if first is not None
                                   else np.zeros(f.gt.ids.shape, dtype=bool))) for f in frames]


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
