"""`vpskit report`: one self-contained HTML page on one or more predictions of a split.

Each prediction is evaluated once (VPQ with every GT track's matches, STQ); the page shows the
numbers of ``results.json`` with the run's metadata, a VPQ-against-k chart, per-class and
per-video tables, where tracking breaks, the worst videos as GT | prediction | error
thumbnails and, for two predictions or more, paired bootstrap intervals of their differences.
Everything is inline (no network), and the same inputs give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import VpsError
from ..evaluation import results_of
from ..evaluation.metrics import STQAccumulator, VPQAccumulator
from ..evaluation.metrics.stq import DEFAULT_VOID_RULE
from ..parallel import default_jobs, map_videos
from ..pngio import atomic_write_bytes
from .scoring import Benchmark, open_benchmark

THUMB_WIDTH = 320
"""Width (pixels) of one panel of a worst-video thumbnail, at most the frame's own width."""
ERROR_SPAN = 15
"""Window span (frames) whose matching colours Cityscapes-VPS's error maps: the longest, where
tracks count (any benchmark: its longest, :attr:`Benchmark.longest_span`)."""


@dataclass
class Scored:
    """One prediction as the page shows it: its results (as ``results.json`` has them), the
    accumulators, the GT tracks lost per category and the worst videos' thumbnails."""

    name: str
    results: dict
    vpq: VPQAccumulator
    stq: STQAccumulator
    lost: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    tracks: dict[int, int] = field(default_factory=dict)
    worst: list[tuple[str, list[str]]] = field(default_factory=list)


def tracks_lost(vpq: VPQAccumulator) -> tuple[dict[int, list[tuple[str, int, int | None]]], dict[int, int]]:
    """Per category id: the GT tracks matched in every window of the shortest span but lost in a
    window of the longest (Cityscapes-VPS: k = 0 and k = 15),
    as sorted ``(video, track id, number)`` — ``number`` is the track's number in the video as
    ``vpskit show --labels`` writes it ("car 3"), None for a stuff segment — and the number of GT
    tracks (non-crowd) of the category.

    Needs an accumulator evaluated with ``tracks=True``.
    """
    lost: dict[int, list[tuple[str, int, int | None]]] = {}
    counts: dict[int, int] = {}
    thing_of = vpq.categories.thing_mask
    for video in sorted(vpq.videos):
        matches = vpq.videos[video].tracks
        if matches is None:
            raise ValueError(f"video {video} was evaluated without its track matches")
        for cat in matches.category.tolist():
            counts[int(cat)] = counts.get(int(cat), 0) + 1
        # show numbers a video's thing tracks 1, 2, ... in the order of their ids
        thing = thing_of[vpq.categories.positions(matches.category)]
        numbers = np.cumsum(thing)
        gone = matches.lost()
        for i in np.flatnonzero(gone).tolist():
            lost.setdefault(int(matches.category[i]), []).append(
                (video, int(matches.ids[i]), int(numbers[i]) if thing[i] else None))
    return lost, counts


def worst_videos(results: dict, n: int) -> list[str]:
    """The ``n`` videos with the lowest final VPQ (ties: the smaller video number first)."""
    per_video = results["vpq"]["per_video"]
    return sorted(per_video, key=lambda v: (per_video[v]["final"]["all"], v))[:max(0, n)]


def _names(preds: list[str], names: Sequence[str] | None) -> list[str]:
    """Display names: ``names`` (checked), else each prediction's file name, made unique."""
    if names is not None:
        names = [str(n).strip() for n in names]
        if len(names) != len(preds):
            raise VpsError("--names", f"{len(names)} names for {len(preds)} predictions")
        if any(not n for n in names):
            raise VpsError("--names", "a name is empty")
        if len(set(names)) != len(names):
            raise VpsError("--names", f"names must differ, got {', '.join(names)}")
        return names
    out: list[str] = []
    for pred in preds:
        base = Path(pred).name or pred
        name, i = base, 2
        while name in out:
            name, i = f"{base} ({i})", i + 1
        out.append(name)
    return out


def _thumb_scale(bench: Benchmark) -> float:
    """Scale of the thumbnails: panels :data:`THUMB_WIDTH` wide, never enlarged."""
    width = bench.frame_width()
    if width is None:
        return 1.0
    return min(1.0, THUMB_WIDTH / max(1, width))


@dataclass(frozen=True)
class _Pictures:
    """What the page's pictures are drawn from (sent once to each worker): the predictions by
    name, the prepared root, the split, the thumbnails' scale, each prediction's VPQ results, the
    benchmark and its longest window span."""

    preds: dict[str, str]
    root: str | None
    split: str
    scale: float
    series: tuple[tuple[str, dict], ...]
    benchmark: str = "cityscapes-vps"
    span: int | None = ERROR_SPAN
    """The window span of the error maps (None: the longest each video holds)."""
    windows: str | None = None
    """The benchmark's VPQ window set (None: its default)."""


CHART = ("chart",)
"""The work item of the VPQ-vs-k chart; the others are (video, prediction name)."""


def _picture(ctx: _Pictures, item: tuple[str, ...]) -> tuple[tuple[str, ...], str | list[str]]:
    """One work item's picture(s): the chart as an SVG data URI, or one video's GT | prediction |
    error panels of one prediction, one PNG data URI per annotated frame."""
    from .charts import data_uri, png_uri, vpq_by_span_svg

    if item == CHART:
        return item, data_uri(vpq_by_span_svg(list(ctx.series)), "image/svg+xml")
    from .showing import error_panels

    video, name = item
    assert ctx.root is not None
    panels = error_panels(ctx.preds[name], root=ctx.root, split=ctx.split, video=video, span=ctx.span,
                          scale=ctx.scale, benchmark=ctx.benchmark, vpq_windows=ctx.windows)
    return item, [png_uri(p) for p in panels]


def _draw(scored: list[Scored], preds: list[str], bench: Benchmark, worst: int, jobs: int | None,
          progress: bool | None) -> str:
    """Draw the chart and the worst videos' thumbnails (into ``scored``), all in one pool, so
    that the chart's drawing overlaps the thumbnails'; returns the chart's data URI."""
    root = bench.root
    thumbs = root is not None and worst > 0
    items: list[tuple[str, ...]] = [CHART]
    if thumbs:
        items += [(video, one.name) for one in scored for video in worst_videos(one.results, worst)]
    ctx = _Pictures({one.name: pred for one, pred in zip(scored, preds, strict=True)},
                    root, bench.split, _thumb_scale(bench) if thumbs else 1.0,
                    tuple((one.name, one.results["vpq"]) for one in scored), bench.profile.name,
                    ERROR_SPAN if bench.profile.layout == "panoptic-json" else None,
                    ws.name if (ws := bench.profile.window_set()) is not None else None)
    try:
        drawn = dict(map_videos(_picture, items, context=ctx, jobs=_pool_jobs(jobs, len(items)),
                                desc="pictures", progress=progress))
    except VpsError as exc:
        raise VpsError(exc.where, f"{exc.problem or 'unreadable'} (the thumbnails of the worst videos need "
                       "the prepared frames; --worst 0 leaves them out)") from None
    for one in scored:
        one.worst = [(item[0], uris) for item, uris in drawn.items() if item != CHART and item[1] == one.name]
    chart = drawn[CHART]
    assert isinstance(chart, str)
    return chart


def report(
    preds: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    root: str | os.PathLike | None = None,
    split: str = "val",
    out: str | os.PathLike = "report.html",
    names: Sequence[str] | None = None,
    gt_json: str | os.PathLike | None = None,
    gt_dir: str | os.PathLike | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
    videos: Sequence[str | int | range] | None = None,
    stq_void: str = DEFAULT_VOID_RULE,
    worst: int = 5,
    reps: int = 1000,
    seed: int = 0,
    benchmark: str | None = None,
    vpq_windows: str | None = None,
    stq_gt_instances: str | None = None,
) -> Path:
    """Write one self-contained HTML page on the predictions ``preds`` of a split to ``out``.

    Each prediction (a folder, zip or ``submission.zip``, as :func:`vpskit.evaluate` takes) is
    scored once against ``root``/``split`` (or ``gt_json`` + ``gt_dir``); the page holds the
    run metadata and numbers of ``results.json``, a VPQ-against-k chart, per-class and
    per-video tables (sortable), per category the tube TP/FP/FN at each k and the GT tracks
    matched at k = 0 but lost at k = 15, and the ``worst`` videos (lowest final VPQ) as
    GT | prediction | error thumbnails (with ``root`` only: they need the frames). With two
    predictions or more it also compares each with the first: deltas per class and per video,
    and 95 % paired bootstrap intervals over videos (``reps`` resamples, ``seed``) of the
    differences of VPQ and STQ. ``names``: one display name per prediction (default: their
    file names). ``jobs``, ``progress``, ``videos``, ``stq_void``: as :func:`vpskit.evaluate`.
    The page needs no network; the same inputs give the same bytes. Returns ``out``'s path.
    ``benchmark``: as for :func:`vpskit.evaluate` (None: found from ``root``); a KITTI-STEP or
    VIPSeg page takes its windows, categories and colours from the benchmark, its error maps from
    the longest window; ``vpq_windows`` and ``stq_gt_instances`` choose VIPSeg's conventions
    as for :func:`vpskit.evaluate`. Bad input raises ``VpsError``.
    """
    from .sections import render_page

    pred_list = [os.fspath(preds)] if isinstance(preds, (str, os.PathLike)) else [os.fspath(p) for p in preds]
    if not pred_list:
        raise VpsError("report", "no prediction given")
    labels = _names(pred_list, names)
    if worst < 0:
        raise VpsError("--worst", f"must be 0 or more, got {worst}")
    if len(pred_list) > 1 and reps < 1:
        raise VpsError("--reps", f"must be 1 or more, got {reps}")
    bench = open_benchmark(root, split, gt_json, gt_dir, benchmark, "report", vpq_windows, stq_gt_instances)
    scored: list[Scored] = []
    for name, pred in zip(labels, pred_list, strict=True):
        head, vpq, stq = bench.score(pred, videos=videos, stq_void=stq_void, jobs=jobs, progress=progress,
                                     tracks=True)
        one = Scored(name, head | results_of(vpq, stq), vpq, stq)
        one.lost, one.tracks = tracks_lost(vpq)
        scored.append(one)
    chart = _draw(scored, pred_list, bench, worst, jobs, progress)
    comparison = None
    if len(scored) > 1:
        from .stats import compare_accumulators

        names_of = {int(r["id"]): str(r.get("name", "")) for r in bench.category_records}
        comparison = compare_accumulators([(s.name, s.vpq, s.stq) for s in scored], reps=reps, seed=seed,
                                          category_names=names_of)
    page = render_page(scored, bench, chart=chart, comparison=comparison, thumbnails=root is not None, worst=worst)
    path = Path(out)
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def _pool_jobs(jobs: int | None, n: int) -> int:
    """Processes for ``n`` pictures: ``jobs`` (None: all cores), at most one per picture."""
    return max(1, min(default_jobs() if jobs is None else jobs, n))
