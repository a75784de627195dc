"""Is B better than A? A paired bootstrap over videos.

Two predictions scored on the same ground-truth videos differ by ``delta = B - A`` of each
metric. Whether that is more than the luck of which videos the split happens to hold is
estimated by resampling the videos: a replicate draws ``V`` videos with replacement out of the
``V`` there are (``numpy.random.Generator(PCG64(seed)).integers(0, V, size=V)``, replicate
after replicate from one stream), gives each video the number of times it was drawn as its
weight, and computes the metrics of A and of B from the weighted sums of their per-video states
— the accumulators' own arithmetic (:func:`~vpskit.evaluation.metrics.vpq.vpq_scores`,
:func:`~vpskit.evaluation.metrics.stq.stq_scores`), so that weights all 1 give exactly what
``vpskit eval`` reports. The same draws serve A and B (the pairing), and every pair of a
comparison. The 95 % interval of a delta is the 2.5th and 97.5th percentiles of its replicate
deltas (linear interpolation between order statistics, numpy's default).

The video is the unit: the frames and tracks of a video are not independent, so they are never
resampled apart. With 50 validation videos an interval says how much a difference depends on
which videos were chosen, not how the models would compare on other cities or cameras.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import VpsError
from ..evaluation.metrics import SPANS, CategorySet, STQAccumulator, VPQAccumulator
from ..evaluation.metrics.stq import stq_scores
from ..evaluation.metrics.sums import weighted_sum
from ..evaluation.metrics.vpq import vpq_scores
from ..evaluation.report import class_means, class_spans, result_spans

DEFAULT_REPS = 1000
DEFAULT_SEED = 0
LEVEL = 0.95
"""The coverage of the intervals."""
METHOD = "paired percentile bootstrap over videos"
_CHUNK = 1000
"""Replicates drawn at once (memory: a few arrays of this many metric states)."""
_CELLS = 2_000_000
"""Metric-state cells (STQ's confusion matrices, VPQ's sums) of the replicates scored at once: a
drawn block is scored in row blocks of at most this many cells, so that a benchmark with many
categories (VIPSeg's 124: 125² confusion cells per replicate) stays small; row blocks change
no number (sums are taken per replicate, video after video)."""

VPQ_METRICS: tuple[tuple[str, str], ...] = (
    ("vpq", "VPQ"), ("vpq_things", "VPQ Things"), ("vpq_stuff", "VPQ Stuff"),
    *((f"vpq_k{k}", f"VPQ k={k}") for k in SPANS))
STQ_METRICS: tuple[tuple[str, str], ...] = (("stq", "STQ"), ("aq", "AQ"), ("iou", "IoU"))
METRICS = VPQ_METRICS + STQ_METRICS
"""Key and label of each metric a comparison reports: final VPQ (All, Things, Stuff), VPQ (All)
at each span k, and STQ with its two terms (AQ, and IoU: STQ's segmentation term); the spans
here are Cityscapes-VPS's, another benchmark's come from its VPQ windows (:func:`vpq_metrics`)."""


def vpq_metrics(spans: Sequence[int]) -> tuple[tuple[str, str], ...]:
    """Key and label of the VPQ metrics of windows named ``spans`` (as :data:`VPQ_METRICS`)."""
    return (*VPQ_METRICS[:3], *((f"vpq_k{k}", f"VPQ k={k}") for k in spans))


def metric_label(key: str) -> str:
    """The label of a metric key (of :data:`METRICS`, or ``vpq_k{k}`` of any span)."""
    known = dict(METRICS)
    if key in known:
        return known[key]
    return f"VPQ k={key[len('vpq_k'):]}" if key.startswith("vpq_k") else key


@dataclass(frozen=True)
class VideoStates:
    """The per-video metric states of one prediction, stacked in sorted video order.

    ``vpq``: (IoU sum, TP, FP, FN), arrays (V, S, C) for the S window spans ``spans``; ``stq``:
    (AQ numerator, GT tracks, confusion matrix), arrays (V,), (V,) and (V, C+1, C+1). Either is
    None when that metric was not computed.
    """

    videos: tuple[str, ...]
    categories: CategorySet
    vpq: tuple[np.ndarray, ...] | None
    stq: tuple[np.ndarray, ...] | None
    void_rule: str | None
    spans: tuple[int, ...] = SPANS

    @classmethod
    def of(cls, vpq: VPQAccumulator | None, stq: STQAccumulator | None) -> VideoStates:
        """Stack the states of the accumulators (at least one; on the same videos)."""
        acc = vpq if vpq is not None else stq
        if acc is None:
            raise ValueError("no accumulator given")
        videos = tuple(sorted(acc.videos))
        vstack = None
        if vpq is not None:
            st = [vpq.videos[v] for v in videos]
            vstack = tuple(np.stack([getattr(s, f) for s in st]) for f in ("iou", "tp", "fp", "fn"))
        sstack = None
        if stq is not None:
            if sorted(stq.videos) != list(videos) or (vpq is not None and stq.categories != vpq.categories):
                raise ValueError("the VPQ and STQ accumulators hold different videos or categories")
            st = [stq.videos[v] for v in videos]
            sstack = (np.array([s.aq_sum for s in st], dtype=np.float64),
                      np.array([s.tracks for s in st], dtype=np.int64), np.stack([s.confusion for s in st]))
        return cls(videos, acc.categories, vstack, sstack, stq.void_rule if stq is not None else None,
                   vpq.spans if vpq is not None else SPANS)

    @property
    def metrics(self) -> tuple[tuple[str, str], ...]:
        """Key and label of the metrics these states give (of :data:`METRICS`)."""
        return (vpq_metrics(self.spans) if self.vpq is not None else ()) + (STQ_METRICS if self.stq is not None else ())

    @property
    def cells(self) -> int:
        """Cells of one replicate's summed states (what scoring a replicate holds in memory)."""
        parts = [a[0].size for a in (self.vpq or ())] + [a[0].size for a in (self.stq or ())]
        return max(1, sum(parts))

    def scores(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric of :attr:`metrics` over the videos weighted by ``weights`` (R, V):
        arrays (R,)."""
        out: dict[str, np.ndarray] = {}
        if self.vpq is not None:
            sc = vpq_scores(*(weighted_sum(a, weights) for a in self.vpq), self.categories.isthing)
            out["vpq"], out["vpq_things"], out["vpq_stuff"] = (sc.final[g][0] for g in ("all", "things", "stuff"))
            for s, k in enumerate(self.spans):
                out[f"vpq_k{k}"] = sc.groups["all"][0][:, s]
        if self.stq is not None:
            out["stq"], out["aq"], out["iou"] = stq_scores(*(weighted_sum(a, weights) for a in self.stq),
                                                           void_rule=self.void_rule or "class")
        return out


def replicate_weights(n_videos: int, reps: int, seed: int = DEFAULT_SEED) -> Iterator[np.ndarray]:
    """The replicates' video weights (times each video is drawn), in blocks of up to
    :data:`_CHUNK` rows: arrays (r, ``n_videos``) of int64 whose rows sum to ``n_videos``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    done = 0
    while done < reps:
        r = min(_CHUNK, reps - done)
        draws = rng.integers(0, n_videos, size=(r, n_videos))
        rows = np.repeat(np.arange(r), n_videos)
        yield np.bincount(rows * n_videos + draws.ravel(), minlength=r * n_videos).reshape(r, n_videos)
        done += r


def percentile_interval(deltas: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of ``deltas``: their (1-level)/2 and (1+level)/2 quantiles."""
    low, high = np.percentile(np.asarray(deltas, dtype=np.float64), [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def bootstrap_deltas(states: Sequence[VideoStates], reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED
                     ) -> list[dict[str, np.ndarray]]:
    """Replicate deltas ``B - A`` of each metric, for B = each of ``states[1:]`` and A =
    ``states[0]``: per B, ``{metric: array (reps,)}``; one set of draws for every pair."""
    base, others = states[0], states[1:]
    deltas: list[dict[str, list[np.ndarray]]] = [{key: [] for key, _ in base.metrics} for _ in others]
    rows = max(1, _CELLS // base.cells)
    for block in replicate_weights(len(base.videos), reps, seed):
        for start in range(0, block.shape[0], rows):
            weights = block[start:start + rows]
            a = base.scores(weights)
            for got, other in zip(deltas, others, strict=True):
                b = other.scores(weights)
                for key in got:
                    got[key].append(b[key] - a[key])
    return [{key: np.concatenate(parts) for key, parts in got.items()} for got in deltas]


def compare_accumulators(named: Sequence[tuple[str, VPQAccumulator | None, STQAccumulator | None]], *,
                         reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                         category_names: dict[int, str] | None = None) -> dict:
    """Compare predictions scored on the same videos: each of ``named[1:]`` against ``named[0]``
    (the baseline). ``named`` holds (name, VPQ accumulator, STQ accumulator) per prediction, as
    :func:`vpskit.evaluation.evaluate_videos` returns them (either may be None, the same for all).

    Returns ``{"comparison": {method, unit, videos, reps, seed, level, baseline},
    "predictions": [{"name", "scores": {metric: value}}], "pairs": [{"a", "b", "metrics":
    {metric: {"a", "b", "delta", "interval": [low, high], "excludes_zero"}}, "per_class":
    {category id: {"name", "pq": {"0"|"5"|"10"|"15"|"final": {"a", "b", "delta"}}, "iou": {…}}},
    "per_video": {video: {"vpq": {…}, "stq": {…}}}}]}`` (metric keys: :data:`METRICS`, with the
    spans of the accumulators' windows). ``category_names``: by category id (default: the
    Cityscapes names).
    Values are fractions; a class PQ is None at a span where the class has no TP, FP or FN, its
    ``final`` the mean over the spans where it has; its IoU None where its union is empty; a
    delta None where a side is. Bad input raises ``VpsError``.
    """
    names = [name for name, _, _ in named]
    check_names_and_counts(names, reps, seed)
    states = _checked_states(named)
    results = [_results(vpq, stq) for _, vpq, stq in named]
    metrics = states[0].metrics
    headline = [states_scores(s) for s in states]
    pairs = []
    for i, deltas in enumerate(bootstrap_deltas(states, reps, seed), start=1):
        rows = {}
        for key, _ in metrics:
            low, high = percentile_interval(deltas[key])
            a, b = headline[0][key], headline[i][key]
            rows[key] = {"a": a, "b": b, "delta": b - a, "interval": [low, high],
                         "excludes_zero": bool(low > 0 or high < 0)}
        pairs.append({"a": names[0], "b": names[i], "metrics": rows,
                      "per_class": _per_class(results[0], results[i], states[0].categories, category_names),
                      "per_video": _per_video(results[0], results[i], states[0].videos)})
    return {"comparison": {"method": METHOD, "unit": "video", "videos": len(states[0].videos), "reps": reps,
                           "seed": seed, "level": LEVEL, "baseline": names[0]},
            "predictions": [{"name": n, "scores": h} for n, h in zip(names, headline, strict=True)],
            "pairs": pairs}


def states_scores(states: VideoStates) -> dict[str, float]:
    """The metrics of all the videos, each counted once (what ``vpskit eval`` reports)."""
    ones = np.ones((1, len(states.videos)), dtype=np.int64)
    return {key: float(value[0]) for key, value in states.scores(ones).items()}


def check_names_and_counts(names: Sequence[str], reps: int, seed: int) -> None:
    """Refuse (``VpsError``) what :func:`compare_accumulators` cannot take in the names of the
    predictions, ``reps`` and ``seed``."""
    if len(names) < 2:
        raise VpsError("predictions", f"a comparison needs two or more, got {len(names)}")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise VpsError("--names", f"a prediction's name must be a non-empty text, got {name!r}")
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise VpsError("--names", f"each prediction needs its own name; given more than once: {', '.join(twice)}")
    for option, value, least in (("--reps", reps, 1), ("--seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise VpsError(option, f"must be a whole number of at least {least}, got {value!r}")


def _checked_states(named: Sequence[tuple[str, VPQAccumulator | None, STQAccumulator | None]]
                    ) -> list[VideoStates]:
    """The stacked states of each prediction, checked to be comparable."""
    names = [name for name, _, _ in named]
    states = []
    for name, vpq, stq in named:
        if vpq is None and stq is None:
            raise VpsError(name, "has neither VPQ nor STQ states to compare")
        try:
            states.append(VideoStates.of(vpq, stq))
        except ValueError as exc:
            raise VpsError(name, str(exc)) from None
    first = states[0]
    if not first.videos:
        raise VpsError(names[0], "was scored on no video")
    for name, st in zip(names[1:], states[1:], strict=True):
        if st.videos != first.videos:
            raise VpsError(name, f"was scored on other videos than {names[0]} (a paired comparison needs "
                           "the same ground-truth videos)")
        if st.categories != first.categories:
            raise VpsError(name, f"was scored over other categories than {names[0]}")
        if st.metrics != first.metrics or st.spans != first.spans:
            raise VpsError(name, f"was scored with other metrics than {names[0]}")
        if st.void_rule != first.void_rule:
            raise VpsError(name, f"STQ's void rule {st.void_rule!r} is not {names[0]}'s {first.void_rule!r}")
    return states


def _results(vpq: VPQAccumulator | None, stq: STQAccumulator | None) -> dict:
    return {"vpq": vpq.result() if vpq is not None else None, "stq": stq.result() if stq is not None else None}


def _side_by_side(a: float | None, b: float | None) -> dict:
    return {"a": a, "b": b, "delta": b - a if a is not None and b is not None else None}


def class_pq(vpq: dict, category: str) -> dict[str, float | None]:
    """A category's PQ at each span (None where it has no TP, FP or FN) and ``final``: their
    mean over the spans where it has (None if none), from VPQ results (``results["vpq"]``)."""
    out: dict[str, float | None] = {k: c["pq"] if c else None
                                    for k, c in zip(result_spans(vpq), class_spans(vpq, category), strict=True)}
    means = class_means(vpq, category)
    out["final"] = means["pq"] if means else None
    return out


def _per_class(a: dict, b: dict, categories: CategorySet, names: dict[int, str] | None) -> dict:
    if names is None:
        from ..categories import CATEGORY_BY_ID

        names = {cid: c.name for cid, c in CATEGORY_BY_ID.items()}
    out = {}
    for cid in categories.ids:
        key = str(cid)
        row: dict = {"name": names.get(cid, "")}
        if a["vpq"] is not None:
            pa, pb = class_pq(a["vpq"], key), class_pq(b["vpq"], key)
            row["pq"] = {span: _side_by_side(pa[span], pb[span]) for span in pa}
        if a["stq"] is not None:
            row["iou"] = _side_by_side(a["stq"]["per_class_iou"][key], b["stq"]["per_class_iou"][key])
        out[key] = row
    return out


def _per_video(a: dict, b: dict, videos: Sequence[str]) -> dict:
    out = {}
    for video in videos:
        row = {}
        if a["vpq"] is not None:
            row["vpq"] = _side_by_side(a["vpq"]["per_video"][video]["final"]["all"],
                                       b["vpq"]["per_video"][video]["final"]["all"])
        if a["stq"] is not None:
            row["stq"] = _side_by_side(a["stq"]["per_sequence"][video]["stq"], b["stq"]["per_sequence"][video]["stq"])
        out[video] = row
    return out
