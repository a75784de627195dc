"""Video Panoptic Quality (VPQ, Kim et al. 2020, "Video Panoptic Segmentation") as an accumulator.

For a window span ``k`` in {0, 5, 10, 15} frames, every run of ``n = k/5 + 1`` consecutive
annotated frames of one video is a window (windows never cross videos). In a window a *tube* is
all pixels of one segment id over the window's frames; its category and crowd flag are those of
the id's first record in the window. A GT tube ``g`` and a predicted tube ``p`` match when they
have the same category, ``g`` is not crowd and

    IoU(g, p) = |g ∩ p| / (|p| + |g| − |g ∩ p| − |void ∩ p|) > 0.5        (strictly)

Each match adds 1 to TP and IoU to the IoU sum of the category. Every unmatched non-crowd GT tube
is a FN. An unmatched predicted tube is a FP unless ``(|void ∩ p| + |crowd_c ∩ p|) / |p| > 0.5``,
where ``crowd_c`` is the crowd tube of p's category that comes last in the window's segment
lists. Statistics are summed over all windows of all videos; per category with TP+FP+FN > 0:

    PQ = IoU_sum / (TP + FP/2 + FN/2),  SQ = IoU_sum / TP (0 if TP = 0),  RQ = TP / (TP + FP/2 + FN/2)

VPQ^k (All, Things, Stuff) is the mean over the counted categories; the final VPQ is the mean of
VPQ^k over the four spans. With ``k = 0`` this is image-level panoptic quality (PQ).

Those are Cityscapes-VPS's windows; another benchmark gives its own window sizes (``window_frames``,
annotated frames per window, and ``spans``, the names ``k`` of the windows in the results): VIPSeg,
whose every frame is annotated, scores runs of 1, 2, 4, 6 and 8 consecutive frames named
k = 0, 5, 15, 25, 35, and its final VPQ is the mean over those five.

The state is kept per video; :meth:`VPQAccumulator.merge` joins accumulators of disjoint videos,
and :meth:`VPQAccumulator.result` adds the videos in sorted order, so the numbers do not depend on
how the videos were split between processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...profiles.cityscapes_vps import PROFILE as CITYSCAPES_VPS
from ..tables import FrameTable, first_occurrence, sum_pairs
from .categories import CategorySet
from .sums import ordered_sum
from .vpq_windows import VideoTubes

SPANS: tuple[int, ...] = CITYSCAPES_VPS.vpq_spans
"""Window spans k, in frames; a window holds k/5 + 1 annotated frames (the Cityscapes-VPS profile's)."""
WINDOW_FRAMES: tuple[int, ...] = CITYSCAPES_VPS.vpq_window_frames
"""Annotated frames per window, one entry per span of :data:`SPANS` (the default windows)."""
GROUPS: tuple[tuple[str, bool | None], ...] = (("all", None), ("things", True), ("stuff", False))


@dataclass
class TrackMatches:
    """Per non-crowd GT track of one video (its segment id) and span: how many windows of the
    span hold it (``present``) and in how many it is matched (``matched``), arrays (4, tracks)."""

    ids: np.ndarray  # uint32, sorted
    category: np.ndarray  # category id of each track
    present: np.ndarray  # int64 (4, tracks)
    matched: np.ndarray  # int64 (4, tracks)

    def lost(self, short: int = 0, long: int = -1) -> np.ndarray:
        """Tracks matched in every window of span index ``short`` that holds them but unmatched
        in at least one window of span index ``long``: where tracking, not segmentation, breaks."""
        held = self.present[short] > 0
        return held & (self.matched[short] == self.present[short]) & (self.matched[long] < self.present[long])


@dataclass
class VPQVideoState:
    """Per-span, per-category sums of one video: IoU sum, TP, FP, FN (arrays of shape (4, C));
    with ``tracks``, also each GT track's matches (see :class:`TrackMatches`)."""

    iou: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tracks: TrackMatches | None = None

    @classmethod
    def zeros(cls, n_categories: int, n_spans: int = len(SPANS)) -> VPQVideoState:
        """An empty state (``n_spans`` window sizes, default the four of :data:`SPANS`)."""
        shape = (n_spans, n_categories)
        return cls(np.zeros(shape, np.float64), np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                   np.zeros(shape, np.int64))


@dataclass(frozen=True)
class WindowMatch:
    """The tube matching of one window: every GT and predicted tube, the matches, the misses.

    GT arrays are aligned with ``g_ids`` and predicted ones with ``p_ids`` (both sorted ids);
    ``g_pos``/``p_pos`` are category positions in the category set. ``match_g``/``match_p``
    index the matched tubes, in (GT id, predicted id) order, with their IoUs in ``match_iou``.
    ``g_missed`` marks the false negatives (unmatched non-crowd GT tubes), ``p_false`` the false
    positives (unmatched predicted tubes not mostly on void or crowd).
    """

    g_ids: np.ndarray
    g_pos: np.ndarray
    g_crowd: np.ndarray
    p_ids: np.ndarray
    p_pos: np.ndarray
    match_g: np.ndarray
    match_p: np.ndarray
    match_iou: np.ndarray
    g_missed: np.ndarray
    p_false: np.ndarray

    def matched_gt_of(self) -> dict[int, int]:
        """``{predicted id: GT id}`` of the matched tubes."""
        return {int(self.p_ids[p]): int(self.g_ids[g]) for g, p in zip(self.match_g, self.match_p, strict=True)}


def match_window(frames: Sequence[FrameTable], categories: CategorySet) -> WindowMatch:
    """Match the GT and predicted tubes of one window (consecutive annotated frames of a video)."""
    pg, pp, pc = sum_pairs(frames)
    g_ids, g_cat, g_crowd, g_order = first_occurrence([f.gt for f in frames])
    p_ids, p_cat, _, _ = first_occurrence([f.pred for f in frames])
    g_pos = categories.positions(g_cat)
    p_pos = categories.positions(p_cat)
    if (g_pos < 0).any() or (p_pos < 0).any():
        raise ValueError("a segment has a category outside the category set")

    # Tube of each pair (index into g_ids / p_ids, -1 for void or an id not listed).
    gi = _index_of(g_ids, pg)
    pi = _index_of(p_ids, pp)
    g_area = np.bincount(gi[gi >= 0], weights=pc[gi >= 0], minlength=g_ids.size).astype(np.int64)
    p_area = np.bincount(pi[pi >= 0], weights=pc[pi >= 0], minlength=p_ids.size).astype(np.int64)
    on_void = (pg == 0) & (pi >= 0)
    p_void = np.bincount(pi[on_void], weights=pc[on_void], minlength=p_ids.size).astype(np.int64)

    # Matches, in (GT id, predicted id) order.
    cand = (gi >= 0) & (pi >= 0)
    cg, cp, cc = gi[cand], pi[cand], pc[cand]
    ok = (~g_crowd[cg]) & (g_pos[cg] == p_pos[cp])
    cg, cp, cc = cg[ok], cp[ok], cc[ok]
    union = p_area[cp] + g_area[cg] - cc - p_void[cp]
    iou = cc / union
    hit = iou > 0.5
    cg, cp, iou = cg[hit], cp[hit], iou[hit]
    g_matched = np.zeros(g_ids.size, dtype=bool)
    g_matched[cg] = True
    p_matched = np.zeros(p_ids.size, dtype=bool)
    p_matched[cp] = True

    # The crowd tube of each category: the last one in the window's segment lists.
    crowd_of = np.full(len(categories), -1, dtype=np.int64)
    crowd_idx = np.flatnonzero(g_crowd)
    if crowd_idx.size:
        crowd_idx = crowd_idx[np.argsort(g_order[crowd_idx], kind="stable")]
        crowd_of[g_pos[crowd_idx]] = crowd_idx  # later assignments win
    # Pixels of each predicted tube on the crowd tube of its own category.
    on_crowd = (gi >= 0) & (pi >= 0)
    on_crowd[on_crowd] = crowd_of[p_pos[pi[on_crowd]]] == gi[on_crowd]
    p_crowd = np.bincount(pi[on_crowd], weights=pc[on_crowd], minlength=p_ids.size).astype(np.int64)

    # Unmatched predicted tubes not mostly on void or crowd are false positives.
    ignored = np.zeros(p_ids.size, dtype=bool)
    nz = p_area > 0
    ignored[nz] = (p_void[nz] + p_crowd[nz]) / p_area[nz] > 0.5
    return WindowMatch(g_ids, g_pos, g_crowd, p_ids, p_pos, cg, cp, iou,
                       g_missed=~g_matched & ~g_crowd, p_false=~p_matched & ~ignored & nz)


def window_stats(frames: Sequence[FrameTable], categories: CategorySet, iou_sum: np.ndarray,
                 tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> WindowMatch:
    """Add one window's matches to the per-category arrays ``iou_sum``, ``tp``, ``fp``, ``fn``;
    returns the window's matching.

    IoUs are added in (GT id, predicted id) order, one after the other.
    """
    m = match_window(frames, categories)
    np.add.at(iou_sum, m.g_pos[m.match_g], m.match_iou)
    tp += np.bincount(m.g_pos[m.match_g], minlength=tp.size)
    fn += np.bincount(m.g_pos[m.g_missed], minlength=fn.size)
    fp += np.bincount(m.p_pos[m.p_false], minlength=fp.size)
    return m


def _index_of(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each of ``ids`` in ``sorted_ids``, -1 where absent or 0 (void)."""
    if sorted_ids.size == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    idx = np.clip(np.searchsorted(sorted_ids, ids), 0, sorted_ids.size - 1)
    found = (sorted_ids[idx] == ids) & (ids != 0)
    return np.where(found, idx, -1).astype(np.int64)


def video_state(frames: Sequence[FrameTable], categories: CategorySet, *, tracks: bool = False,
                window_frames: Sequence[int] = WINDOW_FRAMES) -> VPQVideoState:
    """The VPQ sums of one video (its frames in order) for every window size of
    ``window_frames`` (annotated frames per window; default Cityscapes-VPS's 1, 2, 3, 4);
    ``tracks``: with each GT track's matches."""
    state = VPQVideoState.zeros(len(categories), len(window_frames))
    windows: list[tuple[int, WindowMatch]] = []
    tubes = None if tracks else VideoTubes.of(frames, categories)
    for s, n in enumerate(window_frames):
        if tubes is not None:  # every window of the span at once, the same sums
            tubes.add_span(n, state.iou[s], state.tp[s], state.fp[s], state.fn[s])
            continue
        for start in range(len(frames) - n + 1):
            m = window_stats(frames[start:start + n], categories, state.iou[s], state.tp[s], state.fp[s],
                             state.fn[s])
            if tracks:
                windows.append((s, m))
    if tracks:
        state.tracks = _track_matches(frames, windows, len(window_frames))
    return state


def _track_matches(frames: Sequence[FrameTable], windows: list[tuple[int, WindowMatch]], n_spans: int
                   ) -> TrackMatches:
    ids, cats, crowd, _ = first_occurrence([f.gt for f in frames])
    ids, cats = ids[~crowd], cats[~crowd]
    present = np.zeros((n_spans, ids.size), dtype=np.int64)
    matched = np.zeros((n_spans, ids.size), dtype=np.int64)
    for s, m in windows:
        real = m.g_ids[~m.g_crowd]
        present[s] += np.isin(ids, real)
        matched[s] += np.isin(ids, m.g_ids[m.match_g])
    return TrackMatches(ids, cats, present, matched)


class VPQAccumulator:
    """VPQ over videos: ``update`` per video, ``merge`` across accumulators, ``result`` at the end.

    ``spans`` name the windows in results (``k``) and ``window_frames`` give their annotated
    frames, one per span (default Cityscapes-VPS's k = 0, 5, 10, 15 of 1, 2, 3, 4 frames).
    """

    def __init__(self, categories: CategorySet, spans: Sequence[int] = SPANS,
                 window_frames: Sequence[int] = WINDOW_FRAMES) -> None:
        if len(spans) != len(window_frames):
            raise ValueError("one window size per span")
        self.categories = categories
        self.spans = tuple(spans)
        self.window_frames = tuple(window_frames)
        self.videos: dict[str, VPQVideoState] = {}

    def update(self, video: str, frames: Sequence[FrameTable]) -> None:
        """Add one video (its annotated frames in order)."""
        self.add_state(video, video_state(frames, self.categories, window_frames=self.window_frames))

    def add_state(self, video: str, state: VPQVideoState) -> None:
        """Add a video's precomputed state."""
        if video in self.videos:
            raise ValueError(f"video {video} was already added")
        self.videos[video] = state

    def merge(self, other: VPQAccumulator) -> VPQAccumulator:
        """Take in the videos of ``other`` (disjoint from this one's); returns ``self``."""
        if other.categories != self.categories:
            raise ValueError("cannot merge VPQ accumulators over different categories")
        if (other.spans, other.window_frames) != (self.spans, self.window_frames):
            raise ValueError("cannot merge VPQ accumulators over different windows")
        for video in sorted(other.videos):
            self.add_state(video, other.videos[video])
        return self

    def totals(self) -> VPQVideoState:
        """Sums over all videos, added in sorted video order."""
        total = VPQVideoState.zeros(len(self.categories), len(self.spans))
        for video in sorted(self.videos):
            st = self.videos[video]
            total.iou += st.iou
            total.tp += st.tp
            total.fp += st.fp
            total.fn += st.fn
        return total

    def result(self) -> dict:
        """:meth:`result_spans` plus ``"per_video"``: each video's own final VPQ (All, Things,
        Stuff) and, per span, its PQ (All) and TP, FP, FN over the categories."""
        out = self.result_spans()
        out["per_video"] = {}
        videos = sorted(self.videos)
        if videos:
            states = [self.videos[v] for v in videos]
            # every video's scores at once: vpq_scores gives each member of a batch the bits it has alone
            sc = vpq_scores(*(np.stack([getattr(st, a) for st in states]) for a in ("iou", "tp", "fp", "fn")),
                            self.categories.isthing)
            out["per_video"] = {video: self._video_summary(states[i], sc, i) for i, video in enumerate(videos)}
        return out

    def result_spans(self) -> dict:
        """``{"0"|"5"|"10"|"15": {"all"|"things"|"stuff": {pq, sq, rq, n}, "per_class": …},
        "final": {"all"|"things"|"stuff": {pq, sq, rq, n}}}``.

        Fractions in [0, 1]; ``per_class`` has every category (zeros where TP+FP+FN = 0);
        a group with no counted category has pq = sq = rq = 0 and n = 0. ``final`` averages PQ,
        SQ and RQ over the four spans (its ``pq`` is the final VPQ); its ``n`` counts the
        categories counted at one span or more. The numbers are :func:`vpq_scores` of
        :meth:`totals`.
        """
        total = self.totals()
        sc = vpq_scores(total.iou, total.tp, total.fp, total.fn, self.categories.isthing)
        out: dict = {}
        for s, k in enumerate(self.spans):
            entry: dict = {name: _group_entry(sc.groups[name], s) for name, _ in GROUPS}
            entry["per_class"] = {
                str(cid): {"pq": float(sc.pq[s, c]), "sq": float(sc.sq[s, c]), "rq": float(sc.rq[s, c]),
                           "iou": float(total.iou[s, c]), "tp": int(total.tp[s, c]),
                           "fp": int(total.fp[s, c]), "fn": int(total.fn[s, c])}
                for c, cid in enumerate(self.categories.ids)}
            out[str(k)] = entry
        out["final"] = {name: _group_entry(sc.final[name]) for name, _ in GROUPS}
        return out

    def _video_summary(self, st: VPQVideoState, sc: VPQScores, i: int) -> dict:
        """One video's VPQ (its state ``st``, its scores member ``i`` of ``sc``): final PQ per
        group and, per span, PQ (All) with TP, FP, FN summed over the categories."""
        spans = {str(k): {"pq": float(sc.groups["all"][0][i, s]), "tp": int(st.tp[s].sum()),
                          "fp": int(st.fp[s].sum()), "fn": int(st.fn[s].sum())}
                 for s, k in enumerate(self.spans)}
        return {"final": {name: float(sc.final[name][0][i]) for name, _ in GROUPS}, "spans": spans}



def _group_entry(group: tuple[np.ndarray, ...], *at: int) -> dict:
    """``{pq, sq, rq, n}`` of a group's (pq, sq, rq, n) arrays, at index ``at``."""
    pq, sq, rq, n = (a[at] for a in group)
    return {"pq": float(pq), "sq": float(sq), "rq": float(rq), "n": int(n)}


@dataclass(frozen=True)
class VPQScores:
    """VPQ of summed statistics, over any leading (batch) axes ``…``.

    Per category at each span, arrays (…, 4, C): ``pq``, ``sq``, ``rq`` (0 where not counted)
    and ``counted`` (TP+FP+FN > 0). Per group name of :data:`GROUPS`: ``groups[name]`` =
    (pq, sq, rq, n) at each span, arrays (…, 4), and ``final[name]`` = (pq, sq, rq) averaged over
    the spans and n = the group's categories counted at one span or more, arrays (…).
    """

    pq: np.ndarray
    sq: np.ndarray
    rq: np.ndarray
    counted: np.ndarray
    groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    final: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def vpq_scores(iou: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray,
               isthing: np.ndarray | Sequence[bool]) -> VPQScores:
    """The VPQ numbers of per-span, per-category sums (IoU sum, TP, FP, FN: arrays (…, 4, C)),
    for any number of sums at once (the module docstring has the formulas).

    Means add their terms in category order, then span order, one after the other
    (:func:`~.sums.ordered_sum`), so every member of a batch has the bits it would have alone.
    """
    iou = np.asarray(iou, dtype=np.float64)
    tp, fp, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, fn))
    counted = (tp + fp + fn) > 0
    denom = np.where(counted, tp + 0.5 * fp + 0.5 * fn, 1.0)
    pq = np.where(counted, iou / denom, 0.0)
    rq = np.where(counted, tp / denom, 0.0)
    sq = np.where(tp > 0, iou / np.maximum(tp, 1), 0.0)
    thing = np.asarray(isthing, dtype=bool)
    groups: dict = {}
    final: dict = {}
    for name, kind in GROUPS:
        inside = counted & (np.ones_like(thing) if kind is None else thing == kind)
        n = inside.sum(axis=-1)
        means = tuple(np.where(n > 0, ordered_sum(np.where(inside, m, 0.0)) / np.maximum(n, 1), 0.0)
                      for m in (pq, sq, rq))
        groups[name] = (*means, n)
        final[name] = (*(ordered_sum(m) / m.shape[-1] for m in means), inside.any(axis=-2).sum(axis=-1))
    return VPQScores(pq, sq, rq, counted, groups, final)
