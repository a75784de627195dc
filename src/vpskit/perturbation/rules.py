"""The error rules of ``vpskit perturb`` as pure functions: which tracks get which error, and what
that does to one frame's id map.

Every random choice is drawn in :func:`plan_video` from generators seeded by ``(seed, video,
kind)``, one per kind of error, in the order of the ground-truth segment ids: the same seed gives
the same choices whatever the other settings and the number of workers, and raising a
probability only adds errors (a track missed at P = 0.1 is missed at P = 0.2 too).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import VpsError
from ..evaluation.metrics.categories import CategorySet
from ..evaluation.tables import IdIndex, Segments

_STREAMS = {"drop": 1, "switch": 2, "confuse": 3, "false_positive": 4}
MAX_ERODE = 64
"""Largest erosion radius accepted, in pixels."""


@dataclass(frozen=True)
class Errors:
    """The errors to make: a probability per thing track (``drop``, ``switch``,
    ``false_positive``) or per segment (``confuse``), and an erosion radius in pixels."""

    drop: float = 0.0
    switch: float = 0.0
    confuse: float = 0.0
    erode: int = 0
    false_positive: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop", "switch", "confuse", "false_positive"):
            p = getattr(self, name)
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
                raise VpsError(f"--{name.replace('_', '-')}", f"must be a probability from 0 to 1, got {p!r}")
        if isinstance(self.erode, bool) or not isinstance(self.erode, int) or not 0 <= self.erode <= MAX_ERODE:
            raise VpsError("--erode", f"must be a whole number of pixels from 0 to {MAX_ERODE}, got {self.erode!r}")

    def as_dict(self) -> dict:
        """The settings, as ``perturb.json`` records them."""
        return {"drop": float(self.drop), "switch": float(self.switch), "confuse": float(self.confuse),
                "erode": int(self.erode), "false_positive": float(self.false_positive)}


@dataclass
class VideoPlan:
    """What happens to the segments of one video (keys are ground-truth segment ids)."""

    category: dict[int, int]
    """Predicted category of every segment (its own, or another of the same kind)."""
    dropped: set[int] = field(default_factory=set)
    switches: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Track → (index of the first frame with the new id, the new id)."""
    ghosts: list[tuple[int, int, int]] = field(default_factory=list)
    """(source track, ghost segment id, direction -1 left / +1 right), in source order."""
    confused_tracks: int = 0
    confused_stuff: int = 0
    tracks: int = 0


def video_segments(frames: Sequence[Segments]) -> dict[int, tuple[int, bool, list[int]]]:
    """Every segment id of a video's frames → (category, crowd, indices of the frames it is in)."""
    out: dict[int, tuple[int, bool, list[int]]] = {}
    for j, segs in enumerate(frames):
        for sid, cat, crowd in zip(segs.ids.tolist(), segs.category.tolist(), segs.crowd.tolist(), strict=True):
            out.setdefault(int(sid), (int(cat), bool(crowd), []))[2].append(j)
    return out


def plan_video(segments: dict[int, tuple[int, bool, list[int]]], categories: CategorySet, errors: Errors,
               seed: int, video: int) -> VideoPlan:
    """Draw the errors of one video (``segments`` from :func:`video_segments`).

    Thing tracks (non-crowd segments of a thing category) may be dropped, switched (from a frame
    drawn among those it is in after its first; a track seen once cannot switch) and doubled by
    a ghost; thing tracks and stuff segments may change category, to one of the other categories
    of the same kind. Crowd regions are kept as they are.
    """
    thing = dict(zip(categories.ids, categories.isthing, strict=True))
    things = [c for c in categories.ids if thing[c]]
    stuff = [c for c in categories.ids if not thing[c]]
    rng = {kind: np.random.default_rng([seed, video, n]) for kind, n in _STREAMS.items()}
    plan = VideoPlan({sid: cat for sid, (cat, _, _) in segments.items()})
    tracks = [sid for sid in sorted(segments) if thing.get(segments[sid][0]) and not segments[sid][1]]
    plan.tracks = len(tracks)
    used = set(segments)
    fresh = _fresh_ids(used)
    # Every draw is made whatever the outcome, so that each stream stays the same; a missed
    # track cannot also switch or change category.
    for sid in tracks:
        if rng["drop"].random() < errors.drop:
            plan.dropped.add(sid)
    for sid in tracks:
        frames = segments[sid][2]
        u, r = rng["switch"].random(2)
        if u < errors.switch and len(frames) > 1 and sid not in plan.dropped:
            plan.switches[sid] = (frames[1 + int(r * (len(frames) - 1))], next(fresh))
    for sid in tracks:
        u, d = rng["false_positive"].random(2)
        if u < errors.false_positive:
            plan.ghosts.append((sid, next(fresh), -1 if d < 0.5 else 1))
    confusable = tracks + [sid for sid in sorted(segments) if not thing.get(segments[sid][0])]
    for sid in confusable:
        u, r = rng["confuse"].random(2)
        cat = segments[sid][0]
        others = [c for c in (things if thing.get(cat) else stuff) if c != cat]
        if u < errors.confuse and others and sid not in plan.dropped:
            plan.category[sid] = others[int(r * len(others))]
            if thing.get(cat):
                plan.confused_tracks += 1
            else:
                plan.confused_stuff += 1
    return plan


def _fresh_ids(used: set[int]) -> Iterator[int]:
    """Segment ids 1, 2, … not in ``used``."""
    n = 0
    while True:
        n += 1
        if n not in used:
            yield n


@dataclass
class Labels:
    """An id map as a table of segment ids and, per pixel, a position in that table.

    Working on positions (a few dozen per frame) instead of ids keeps every step a lookup: no
    pixel-wide sort. Positions not met in ``index`` may be in the table.
    """

    ids: np.ndarray
    """Segment ids (uint32); 0 is void."""
    index: np.ndarray
    """(H, W) positions into :attr:`ids`."""

    unknown: int | None = None
    """With a table of known ids: the first id of the map missing from it (its position is wrong)."""

    @classmethod
    def of(cls, ids: np.ndarray, known: np.ndarray | Sequence[int] | None = None) -> Labels:
        """The labels of id map ``ids``; with ``known`` (the ids a JSON lists), those plus void are
        the table, and :attr:`unknown` tells an id of the map missing from them."""
        if known is None:
            table, inv = np.unique(ids, return_inverse=True)
            return cls(table.astype(np.uint32), inv.reshape(ids.shape))
        index = IdIndex(np.asarray(known, dtype=np.uint32))
        pos, missing = index.positions(np.asarray(ids, dtype=np.uint32).ravel())
        return cls(index.ids, pos.reshape(ids.shape), missing)

    def values(self) -> np.ndarray:
        """The id map."""
        return self.ids[self.index]

    def areas(self) -> np.ndarray:
        """Pixels of each table entry."""
        return np.bincount(self.index.ravel(), minlength=self.ids.size)


def _window(a: np.ndarray, op: np.ufunc) -> np.ndarray:
    """``op`` (minimum or maximum) over each pixel's 3×3 square, the border repeating the edge."""
    p = np.pad(a, 1, mode="edge")
    rows = op(op(p[:-2], p[1:-1]), p[2:])
    return op(op(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def erosion_depth(ids: np.ndarray, px: int) -> np.ndarray:
    """For each pixel, the smallest ``r`` in 1…``px`` whose (2r+1)-pixel square around the pixel
    holds another id (void included); ``px + 1`` where none does. The image border is no edge."""
    depth = np.full(ids.shape, px + 1, dtype=np.int64)
    lo = hi = ids
    for r in range(1, px + 1):
        lo, hi = _window(lo, np.minimum), _window(hi, np.maximum)
        depth[(lo != hi) & (depth > r)] = r
    return depth


def erode(labels: Labels, px: int) -> tuple[Labels, int, int]:
    """``labels`` with every segment eroded by ``px`` pixels; the eroded pixels become void.

    A pixel is eroded when another segment or void is within ``px`` pixels of it (in a square).
    A segment is never eroded to half its area or less: it is eroded by the largest radius up to
    ``px`` that leaves it more than half its pixels, so each segment still overlaps its ground
    truth with IoU > 0.5. Returns the labels, the pixels made void, and how many segments were
    eroded by less than ``px`` for that reason.
    """
    if px <= 0:
        return labels, 0, 0
    n = labels.ids.size
    index = labels.index.astype(np.min_scalar_type(n), copy=False)
    depth = erosion_depth(index, px)
    hist = np.bincount((labels.index * (px + 2) + depth).ravel(), minlength=n * (px + 2)).reshape(n, px + 2)
    area = hist.sum(axis=1)
    kept = area[:, None] - np.cumsum(hist, axis=1)[:, : px + 1]  # [:, r]: pixels deeper than r
    radius = np.count_nonzero(2 * kept[:, 1:] > area[:, None], axis=1)
    void = labels.ids == 0
    radius[void] = 0
    lost = depth <= radius[labels.index]
    ids = labels.ids if void.any() else np.append(labels.ids, np.uint32(0))
    out = np.where(lost, int(np.flatnonzero(ids == 0)[0]), labels.index)
    limited = int(np.count_nonzero((radius < px) & ~void & (area > 0)))
    return Labels(ids, out), int(np.count_nonzero(lost)), limited


def place_ghosts(gt: Labels, pred: Labels, stuff_ids: np.ndarray,
                 ghosts: Sequence[tuple[int, int, int]]) -> tuple[Labels, dict[int, int]]:
    """``pred`` with each ghost pasted in; and ghost id → pixels it got.

    A ghost ``(source, ghost id, direction)`` is its source segment moved sideways by the
    source's width in this frame (left for direction -1, right for +1), kept only where the
    ground truth is a stuff segment (``stuff_ids``), not taken by an earlier ghost, and inside
    the image. A stuff segment gives up those pixels only if it keeps more than half its area
    (otherwise it keeps them all), so a ghost never touches void, crowd or a thing, and never
    costs a stuff segment its match.
    """
    h, w = gt.index.shape
    flat_gt = gt.index.ravel()
    wanted = np.full(gt.ids.size, -1, dtype=np.int64)
    sources = [s for s, _, _ in ghosts]
    for k, source in enumerate(sources):
        wanted[gt.ids == source] = k
    flat = np.flatnonzero(wanted[flat_gt] >= 0)
    which = wanted[flat_gt[flat]]
    order = np.argsort(which, kind="stable")
    flat, which = flat[order], which[order]
    bounds = np.searchsorted(which, np.arange(len(sources) + 1))
    is_stuff = np.isin(gt.ids, stuff_ids)
    claimed = np.zeros(h * w, dtype=bool)
    placed: list[tuple[int, np.ndarray]] = []
    for k, (_, ghost, direction) in enumerate(ghosts):
        pix = flat[bounds[k]:bounds[k + 1]]
        if pix.size == 0:
            continue
        ys, xs = np.divmod(pix, w)
        xs = xs + direction * (int(xs.max()) - int(xs.min()) + 1)
        inside = (xs >= 0) & (xs < w)
        target = ys[inside] * w + xs[inside]
        target = target[is_stuff[flat_gt[target]] & ~claimed[target]]
        claimed[target] = True
        placed.append((ghost, target))
    taken = np.bincount(flat_gt[np.concatenate([t for _, t in placed] or [np.zeros(0, np.int64)])],
                        minlength=gt.ids.size)
    gives = 2 * taken < np.bincount(flat_gt, minlength=gt.ids.size)
    got: dict[int, int] = {}
    ids, index = list(pred.ids.tolist()), pred.index.copy()
    flat_pred = index.reshape(-1)
    for ghost, target in placed:
        target = target[gives[flat_gt[target]]]
        if target.size:
            flat_pred[target] = len(ids)
            ids.append(ghost)
            got[ghost] = int(target.size)
    return Labels(np.array(ids, dtype=np.uint32), index), got


def perturb_frame(gt: Labels, segments: Segments, index: int, plan: VideoPlan,
                  stuff_categories: np.ndarray, erode_px: int) -> tuple[Labels, dict[int, int], dict[str, int]]:
    """The prediction of frame ``index`` of a video: its labels, each id's category, and counts.

    ``gt`` are the frame's ground-truth labels (every id listed in ``segments``). Segments keep
    their ground-truth ids (a prediction with no errors is the ground truth); a missed track's
    pixels become void; a switched track takes its new id from its switch frame on; ghosts are
    pasted (:func:`place_ghosts`); then every segment is eroded (:func:`erode`). Counts are per
    segment of this frame (``dropped``, ``confused``, ``false_positive``), pixels
    (``dropped_pixels``, ``false_positive_pixels``, ``eroded_pixels``), ``eroded_less`` and the
    ground truth's ``segments`` and ``pixels``.
    """
    area = gt.areas()
    gt_category = dict(zip(segments.ids.tolist(), segments.category.tolist(), strict=True))
    table = gt.ids.copy()
    category: dict[int, int] = {}
    counts = dict.fromkeys(("segments", "pixels", "dropped", "dropped_pixels", "confused",
                            "false_positive", "false_positive_pixels", "eroded_pixels", "eroded_less"), 0)
    for u, gid in enumerate(gt.ids.tolist()):
        if gid == 0 or area[u] == 0:
            continue
        counts["segments"] += 1
        counts["pixels"] += int(area[u])
        if gid in plan.dropped:
            table[u] = 0
            counts["dropped"] += 1
            counts["dropped_pixels"] += int(area[u])
            continue
        switch = plan.switches.get(gid)
        if switch is not None and index >= switch[0]:
            table[u] = switch[1]
        category[int(table[u])] = plan.category[gid]
        counts["confused"] += int(plan.category[gid] != gt_category[gid])
    pred = Labels(table, gt.index)
    ghosts = [g for g in plan.ghosts if g[0] in gt_category]
    if ghosts:
        stuff_ids = segments.ids[np.isin(segments.category, stuff_categories)]
        pred, placed = place_ghosts(gt, pred, stuff_ids, ghosts)
        for source, ghost, _ in ghosts:
            if ghost in placed:
                category[ghost] = gt_category[source]
                counts["false_positive"] += 1
                counts["false_positive_pixels"] += placed[ghost]
    pred, counts["eroded_pixels"], counts["eroded_less"] = erode(pred, erode_px)
    return pred, category, counts
