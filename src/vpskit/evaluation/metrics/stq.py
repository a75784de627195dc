"""Segmentation and Tracking Quality (STQ, Weber et al. 2021, "STEP: Segmenting and Tracking
Every Pixel") as an accumulator.

Over the annotated frames of each video (a sequence): ``STQ = sqrt(AQ × IoU)``.

**IoU** (the segmentation term, called SQ in the paper and IoU in deeplab2's output) is the mean
IoU over the classes of the semantic confusion matrix M (GT category × predicted category, void as
one more row and column). Rows whose GT is void are dropped, and classes whose union is 0 are left
out of the mean::

    IoU_c = M[c, c] / (Σ_j M[c, j] + Σ_i M[i, c] − M[c, c])        (j includes the void column)

Where a prediction leaves labelled pixels void, two rules exist (``void_rule``):

- ``"class"`` (default, as google-research/deeplab2's numpy STQ computes it, and with it every
  published STQ): the void column is one more class of the mean, with IoU 0 (its intersection is
  empty, its union is the number of labelled pixels predicted void);
- ``"miss"``: void is never a class; a predicted-void pixel only counts as a miss of its GT
  category.

Example, one sequence of 4 pixels: GT road, road, car#1, car#1; prediction road, void, car#1,
car#1. Road IoU 1/2, car IoU 1, AQ 1. ``"class"``: IoU = (1/2 + 1 + 0) / 3 = 0.5,
STQ = sqrt(0.5) = 0.7071; ``"miss"``: IoU = (1/2 + 1) / 2 = 0.75, STQ = sqrt(0.75) = 0.8660.

AQ uses thing pixels only. A GT track is (category, id) of a non-crowd thing segment; a predicted
track is (category, id) of a predicted segment of a thing category; predicted pixels on GT crowd
regions (crowd segments of a thing category) are dropped. Over a whole sequence, with |g|, |p| the
track areas and TPA(p, g) the pixels in both::

    AQ(g) = (1/|g|) Σ_p TPA(p, g) · TPA(p, g) / (|p| + |g| − TPA(p, g))
    AQ    = Σ_g AQ(g) / (number of GT tracks)            (over all sequences, or per sequence)

Overall IoU uses the confusion matrix summed over all sequences. Areas are counted in int64 and
the sums formed in float64. A sequence with no GT track has AQ 0; with no counted class, IoU 0.
The state is kept per video and :meth:`STQAccumulator.merge` joins accumulators of disjoint videos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...choices import DEFAULT_VOID_RULE, VOID_RULES
from ..tables import ID_BITS, FrameTable
from .categories import CategorySet
from .sums import ordered_sum


@dataclass
class STQVideoState:
    """One sequence: AQ numerator (Σ_g AQ(g)), number of GT tracks, confusion matrix (C+1)×(C+1).

    The last row and column of the matrix are void.
    """

    aq_sum: float
    tracks: int
    confusion: np.ndarray


def _frame_arrays(frame: FrameTable, categories: CategorySet) -> tuple[np.ndarray, ...]:
    """Per pair of a frame: GT and predicted category positions (C = void) and crowd/track flags."""
    n = len(categories)
    thing = categories.thing_mask
    g_idx = _lookup(frame.gt.ids, frame.pair_gt)
    p_idx = _lookup(frame.pred.ids, frame.pair_pred)
    g_cat = np.full(frame.pair_gt.shape, n, dtype=np.int64)
    has_g = g_idx >= 0
    g_cat[has_g] = categories.positions(frame.gt.category[g_idx[has_g]])
    p_cat = np.full(frame.pair_pred.shape, n, dtype=np.int64)
    has_p = p_idx >= 0
    p_cat[has_p] = categories.positions(frame.pred.category[p_idx[has_p]])
    if (g_cat < 0).any() or (p_cat < 0).any():
        raise ValueError("a segment has a category outside the category set")
    g_crowd = np.zeros(frame.pair_gt.shape, dtype=bool)
    g_crowd[has_g] = frame.gt.crowd[g_idx[has_g]]
    thing_ext = np.append(thing, False)
    g_thing = thing_ext[g_cat]
    crowd_region = g_thing & g_crowd
    gt_track = g_thing & ~g_crowd
    pred_track = thing_ext[p_cat] & ~crowd_region
    return g_cat, p_cat, gt_track, pred_track


def _lookup(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each value in the (unsorted) id list ``ids``; -1 where absent or void."""
    if ids.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    pos = np.clip(np.searchsorted(sorted_ids, values), 0, ids.size - 1)
    found = (sorted_ids[pos] == values) & (values != 0)
    return np.where(found, order[pos], -1).astype(np.int64)


def video_state(frames: Sequence[FrameTable], categories: CategorySet) -> STQVideoState:
    """The STQ statistics of one sequence (its annotated frames)."""
    n = len(categories)
    confusion = np.zeros((n + 1, n + 1), dtype=np.int64)
    g_keys, p_keys, counts, gt_track, pred_track = [], [], [], [], []
    for frame in frames:
        g_cat, p_cat, g_tr, p_tr = _frame_arrays(frame, categories)
        confusion += np.bincount(g_cat * (n + 1) + p_cat, weights=frame.pair_count,
                                 minlength=(n + 1) ** 2).astype(np.int64).reshape(n + 1, n + 1)
        g_keys.append((g_cat.astype(np.uint64) << np.uint64(ID_BITS)) | frame.pair_gt.astype(np.uint64))
        p_keys.append((p_cat.astype(np.uint64) << np.uint64(ID_BITS)) | frame.pair_pred.astype(np.uint64))
        counts.append(frame.pair_count)
        gt_track.append(g_tr)
        pred_track.append(p_tr)
    confusion[n, :] = 0  # GT void is not evaluated
    if not frames:
        return STQVideoState(0.0, 0, confusion)
    gk = np.concatenate(g_keys)
    pk = np.concatenate(p_keys)
    cnt = np.concatenate(counts)
    gtr = np.concatenate(gt_track)
    ptr = np.concatenate(pred_track)

    g_u, g_inv = np.unique(gk[gtr], return_inverse=True)
    g_area = np.bincount(g_inv.ravel(), weights=cnt[gtr], minlength=g_u.size)
    p_u, p_inv = np.unique(pk[ptr], return_inverse=True)
    p_area = np.bincount(p_inv.ravel(), weights=cnt[ptr], minlength=p_u.size)
    both = gtr & ptr
    gi = np.searchsorted(g_u, gk[both])
    pi = np.searchsorted(p_u, pk[both])
    pair = gi.astype(np.int64) * max(p_u.size, 1) + pi
    pair_u, pair_inv = np.unique(pair, return_inverse=True)
    tpa = np.bincount(pair_inv.ravel(), weights=cnt[both], minlength=pair_u.size)
    pg = pair_u // max(p_u.size, 1)
    pp = pair_u % max(p_u.size, 1)
    term = tpa * (tpa / (p_area[pp] + g_area[pg] - tpa))
    per_gt = np.bincount(pg, weights=term, minlength=g_u.size)
    aq_sum = float(np.sum(per_gt / g_area)) if g_u.size else 0.0
    return STQVideoState(aq_sum, int(g_u.size), confusion)


def check_void_rule(void_rule: str) -> str:
    """``void_rule`` if it is one of :data:`VOID_RULES`, else ``ValueError``."""
    if void_rule not in VOID_RULES:
        raise ValueError(f"STQ void rule must be one of {', '.join(VOID_RULES)}, not {void_rule!r}")
    return void_rule


def _intersections_and_unions(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per category: intersection and union; and the labelled pixels predicted void (over any
    leading axes of ``confusion``)."""
    n = confusion.shape[-1] - 1
    m = np.asarray(confusion, dtype=np.int64)
    inter = np.diagonal(m, axis1=-2, axis2=-1)[..., :n]
    gt_total = m[..., :n, :].sum(axis=-1)  # includes pixels predicted void
    pred_total = m[..., :n, :n].sum(axis=-2)  # GT void rows are excluded
    return inter, gt_total + pred_total - inter, m[..., :n, n].sum(axis=-1)


def mean_ious(confusion: np.ndarray, void_rule: str = DEFAULT_VOID_RULE) -> np.ndarray:
    """:func:`mean_iou` of each matrix of ``confusion`` (…, C+1, C+1): an array (…).

    The class IoUs are added in category order, one after the other.
    """
    check_void_rule(void_rule)
    inter, union, predicted_void = _intersections_and_unions(confusion)
    counted = union > 0
    classes = counted.sum(axis=-1)
    if void_rule == "class":
        classes = classes + (predicted_void > 0)  # the void column: no intersection, a non-empty union
    total = ordered_sum(np.where(counted, inter / np.maximum(union, 1), 0.0))
    return np.where(classes > 0, total / np.maximum(classes, 1), 0.0)


def mean_iou(confusion: np.ndarray, void_rule: str = DEFAULT_VOID_RULE) -> float:
    """Mean IoU over the classes with a non-empty union (last row/column = void).

    ``void_rule="class"`` counts the void column as one more class (IoU 0) when any labelled
    pixel is predicted void; ``"miss"`` never does.
    """
    return float(mean_ious(confusion, void_rule))


def class_ious(confusion: np.ndarray) -> list[float | None]:
    """IoU of each category (None where its union is empty)."""
    inter, union, _ = _intersections_and_unions(confusion)
    return [float(i / u) if u > 0 else None for i, u in zip(inter.tolist(), union.tolist(), strict=True)]


def stq_scores(aq_sum: np.ndarray, tracks: np.ndarray, confusion: np.ndarray,
               void_rule: str = DEFAULT_VOID_RULE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(STQ, AQ, IoU) of summed statistics: AQ numerators and GT track counts (arrays (…)) and
    confusion matrices (…, C+1, C+1), for any number of sums at once (the module docstring has
    the formulas)."""
    aq_sum = np.asarray(aq_sum, dtype=np.float64)
    tracks = np.asarray(tracks, dtype=np.int64)
    aq = np.where(tracks > 0, aq_sum / np.maximum(tracks, 1), 0.0)
    iou = mean_ious(confusion, void_rule)
    return np.sqrt(aq * iou), aq, iou


class STQAccumulator:
    """STQ over sequences: ``update`` per video, ``merge`` across accumulators, ``result``."""

    def __init__(self, categories: CategorySet, void_rule: str = DEFAULT_VOID_RULE) -> None:
        self.categories = categories
        self.void_rule = check_void_rule(void_rule)
        self.videos: dict[str, STQVideoState] = {}

    def update(self, video: str, frames: Sequence[FrameTable]) -> None:
        """Add one sequence (the annotated frames of a video, in order)."""
        self.add_state(video, video_state(frames, self.categories))

    def add_state(self, video: str, state: STQVideoState) -> None:
        """Add a sequence's precomputed state."""
        if video in self.videos:
            raise ValueError(f"video {video} was already added")
        self.videos[video] = state

    def merge(self, other: STQAccumulator) -> STQAccumulator:
        """Take in the sequences of ``other`` (disjoint from this one's); returns ``self``."""
        if other.categories != self.categories:
            raise ValueError("cannot merge STQ accumulators over different categories")
        if other.void_rule != self.void_rule:
            raise ValueError("cannot merge STQ accumulators with different void rules")
        for video in sorted(other.videos):
            self.add_state(video, other.videos[video])
        return self

    def result(self) -> dict:
        """``{"stq", "aq", "iou", "per_class_iou": {category: IoU or None}, "per_sequence": {video:
        {"stq", "aq", "iou"}}}``, fractions in [0, 1]; a category whose union is empty has None."""
        n = len(self.categories)
        total = np.zeros((n + 1, n + 1), dtype=np.int64)
        aq_sum = 0.0
        tracks = 0
        per_seq: dict[str, dict] = {}
        for video in sorted(self.videos):
            st = self.videos[video]
            total += st.confusion
            aq_sum += st.aq_sum
            tracks += st.tracks
            per_seq[video] = self._scores(st.aq_sum, st.tracks, st.confusion)
        out = self._scores(aq_sum, tracks, total)
        per_class = dict(zip((str(c) for c in self.categories.ids), class_ious(total), strict=True))
        return out | {"per_class_iou": per_class, "per_sequence": per_seq}

    def _scores(self, aq_sum: float, tracks: int, confusion: np.ndarray) -> dict:
        stq, aq, iou = stq_scores(aq_sum, tracks, confusion, self.void_rule)
        return {"stq": float(stq), "aq": float(aq), "iou": float(iou)}
