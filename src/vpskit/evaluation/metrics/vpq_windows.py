"""Every window of one span of a video matched at once.

:class:`VideoTubes` holds a video's per-frame (GT tube, predicted tube) pixel counts as dense
arrays, indexed by the video's sorted GT and predicted ids; a window's counts are then a
difference of running sums, and every window of a span is matched in a few array operations.
The statistics are those :func:`.vpq.window_stats` adds window after window, bit for bit: the
same integer areas, the same IoU divisions, the IoUs added in window, GT id, predicted id order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..tables import FrameTable, Segments
from .categories import CategorySet

DENSE_LIMIT = 1 << 22
"""Most entries (frames + 1) x (GT ids + 1) x (predicted ids + 1) held densely; beyond, None."""


def _listing(segments: Sequence[Segments], ids: np.ndarray, categories: CategorySet
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame and id of ``ids``: listed?, category position, crowd flag, place in the list."""
    shape = (len(segments), ids.size)
    listed, crowd = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    cat, place = np.zeros(shape, dtype=np.intp), np.zeros(shape, dtype=np.intp)
    for t, s in enumerate(segments):
        at = np.searchsorted(ids, s.ids)
        listed[t, at] = True
        cat[t, at] = categories.positions(s.category)
        crowd[t, at] = s.crowd
        place[t, at] = np.arange(at.size)
    if (cat < 0).any():
        raise ValueError("a segment has a category outside the category set")
    return listed, cat, crowd, place


def _dense_index(ids: np.ndarray, values: np.ndarray, listed: np.ndarray) -> np.ndarray | None:
    """1 + the place of each value in ``ids`` (0 for void), or None if a value is not among the
    ids the frame lists (``listed``, aligned with ``ids``)."""
    at = np.minimum(np.searchsorted(ids, values), max(ids.size - 1, 0))
    void = values == 0
    if ids.size == 0:
        return np.zeros(values.shape, dtype=np.intp) if void.all() else None
    if not (void | ((ids[at] == values) & listed[at])).all():
        return None
    return np.where(void, 0, at + 1)


class VideoTubes:
    """A video's frames as dense running sums of (GT id, predicted id) pixel counts (index 0:
    void), with each id's listing per frame."""

    def __init__(self, sums: np.ndarray, g_listing: tuple[np.ndarray, ...], p_listing: tuple[np.ndarray, ...],
                 categories: CategorySet, place_span: int) -> None:
        self.categories = categories
        self.sums = sums
        self.g_listed, self.g_cat, self.g_crowd, self.g_place = g_listing
        self.p_listed, self.p_cat, _, _ = p_listing
        self.place_span = place_span

    @classmethod
    def of(cls, frames: Sequence[FrameTable], categories: CategorySet) -> VideoTubes | None:
        """The tubes of a video, or None where the dense way does not apply: too many ids, or a
        frame whose counts hold a (non-void) id its segments do not list."""
        if not frames:
            return None
        g_ids = np.unique(np.concatenate([f.gt.ids for f in frames]))
        p_ids = np.unique(np.concatenate([f.pred.ids for f in frames]))
        if (len(frames) + 1) * (g_ids.size + 1) * (p_ids.size + 1) > DENSE_LIMIT:
            return None
        if (g_ids.size and g_ids[0] == 0) or (p_ids.size and p_ids[0] == 0):
            return None
        g_listing = _listing([f.gt for f in frames], g_ids, categories)
        p_listing = _listing([f.pred for f in frames], p_ids, categories)
        counts = np.zeros((len(frames) + 1, g_ids.size + 1, p_ids.size + 1), dtype=np.int64)
        for t, f in enumerate(frames):
            gi = _dense_index(g_ids, f.pair_gt, g_listing[0][t])
            pi = _dense_index(p_ids, f.pair_pred, p_listing[0][t])
            if gi is None or pi is None:
                return None
            counts[t + 1, gi, pi] = f.pair_count
        return cls(np.cumsum(counts, axis=0, out=counts), g_listing, p_listing, categories,
                   max([len(f.gt) for f in frames] + [1]))

    def add_span(self, n: int, iou_sum: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> None:
        """Add the matches of every window of ``n`` consecutive frames to the per-category arrays,
        as :func:`.vpq.window_stats` does for each window in turn."""
        windows = self.sums.shape[0] - n
        if windows <= 0:
            return
        inter = self.sums[n:] - self.sums[:-n]  # (window, GT index, predicted index)
        g_listed, g_cat, g_crowd, g_first = self._first(n, windows)
        p_listed = np.zeros((windows, self.p_cat.shape[1]), dtype=bool)
        p_cat = np.zeros(p_listed.shape, dtype=np.intp)
        for k in range(n - 1, -1, -1):  # the first frame listing an id gives its category
            here = self.p_listed[k:k + windows]
            p_listed |= here
            p_cat = np.where(here, self.p_cat[k:k + windows], p_cat)
        g_area = inter[:, 1:, :].sum(axis=2)
        p_area = inter[:, :, 1:].sum(axis=1)
        p_void = inter[:, 0, 1:]
        tubes = inter[:, 1:, 1:]

        # Matches, in (window, GT id, predicted id) order.
        cand = (tubes > 0) & ~g_crowd[:, :, None] & (g_cat[:, :, None] == p_cat[:, None, :])
        w, g, p = np.nonzero(cand)
        cc = tubes[w, g, p]
        iou = cc / (p_area[w, p] + g_area[w, g] - cc - p_void[w, p])
        hit = iou > 0.5
        w, g, p, iou = w[hit], g[hit], p[hit], iou[hit]
        cats = g_cat[w, g]
        np.add.at(iou_sum, cats, iou)
        tp += np.bincount(cats, minlength=tp.size)
        g_matched = np.zeros(g_listed.shape, dtype=bool)
        g_matched[w, g] = True
        p_matched = np.zeros(p_listed.shape, dtype=bool)
        p_matched[w, p] = True
        fn += np.bincount(g_cat[g_listed & ~g_crowd & ~g_matched], minlength=fn.size)

        # The crowd tube of each category: the last one in the window's segment lists.
        crowd_of = np.full((windows, len(self.categories)), -1, dtype=np.intp)
        cw, cg = np.nonzero(g_listed & g_crowd)
        order = np.lexsort((g_first[cw, cg], cw))
        cw, cg = cw[order], cg[order]
        crowd_of[cw, g_cat[cw, cg]] = cg  # later assignments win
        crowd = crowd_of[np.arange(windows)[:, None], p_cat]
        p_crowd = np.where(crowd >= 0, np.take_along_axis(tubes, np.maximum(crowd, 0)[:, None, :], 1)[:, 0], 0)

        # Unmatched predicted tubes not mostly on void or crowd are false positives.
        ignored = np.zeros(p_area.shape, dtype=bool)
        nz = p_area > 0
        ignored[nz] = (p_void[nz] + p_crowd[nz]) / p_area[nz] > 0.5
        fp += np.bincount(p_cat[p_listed & ~p_matched & ~ignored & nz], minlength=fp.size)

    def _first(self, n: int, windows: int) -> tuple[np.ndarray, ...]:
        """Per window of ``n`` frames and GT id: listed?, category position and crowd flag of its
        first listing, and that listing's place in the window's lists read one after the other
        (as a rank)."""
        shape = (windows, self.g_cat.shape[1])
        listed = np.zeros(shape, dtype=bool)
        cat, crowd, first = np.zeros(shape, dtype=np.intp), np.zeros(shape, dtype=bool), np.zeros(shape, np.intp)
        for k in range(n - 1, -1, -1):
            here = self.g_listed[k:k + windows]
            listed |= here
            cat = np.where(here, self.g_cat[k:k + windows], cat)
            crowd = np.where(here, self.g_crowd[k:k + windows], crowd)
            first = np.where(here, k * self.place_span + self.g_place[k:k + windows], first)
        return listed, cat, crowd, first
