"""Score video panoptic predictions with VPQ and STQ (SPEC §4).

:func:`evaluate` reads the ground truth and a prediction video by video, decodes each PNG once,
reduces every frame to its (GT id, predicted id) pixel counts, and feeds the per-video metric
accumulators (:class:`VPQAccumulator`, :class:`STQAccumulator`), which can be merged across
processes or machines.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import naming
from ..errors import VpsError
from ..parallel import default_jobs, map_videos
from .loading import (
    GroundTruth,
    GtFrame,
    PredFrame,
    PredictionSource,
    match_predictions,
    open_ground_truth,
    read_video_tables,
)
from .metrics import SPANS, CategorySet, STQAccumulator, VPQAccumulator
from .metrics.stq import STQVideoState
from .metrics.stq import video_state as stq_video_state
from .metrics.vpq import VPQVideoState
from .metrics.vpq import video_state as vpq_video_state
from .report import format_table

__all__ = ["SPANS", "CategorySet", "STQAccumulator", "VPQAccumulator", "evaluate", "evaluate_videos",
           "format_table", "results_of"]

METRICS = ("vpq", "stq")
_SMALL_SPLIT_PIXELS = 8_000_000
"""Below this many GT pixels in all, ``jobs=None`` evaluates in-process (a pool costs more)."""


@dataclass(frozen=True)
class _Context:
    gt: GroundTruth
    source: PredictionSource
    metrics: tuple[str, ...]


def _video_states(ctx: _Context, item: tuple[str, list[GtFrame], dict[str, PredFrame]]
                  ) -> tuple[str, VPQVideoState | None, STQVideoState | None]:
    video, frames, preds = item
    tables = read_video_tables(ctx.gt, frames, preds, ctx.source)
    cats = ctx.gt.categories
    vpq = vpq_video_state(tables, cats) if "vpq" in ctx.metrics else None
    stq = stq_video_state(tables, cats) if "stq" in ctx.metrics else None
    return video, vpq, stq


def _parse_metrics(metrics: Iterable[str] | str) -> tuple[str, ...]:
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [m.strip().lower() for m in names if m.strip()]
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise VpsError("--metrics", f"expected a comma-separated subset of {','.join(METRICS)}, got {metrics!r}")
    return tuple(m for m in METRICS if m in names)


def evaluate_videos(
    pred: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    split: str = "val",
    gt_json: str | os.PathLike | None = None,
    gt_dir: str | os.PathLike | None = None,
    metrics: Iterable[str] | str = METRICS,
    jobs: int | None = None,
    progress: bool | None = None,
    videos: Iterable[str | int] | None = None,
) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    """The metric accumulators of a prediction, holding one state per video.

    ``videos`` restricts the work to some videos (numbers or 4-digit names), so that an
    evaluation can be split across machines and the accumulators merged afterwards; only their
    frames then need a prediction.
    """
    wanted = _parse_metrics(metrics)
    gt = open_ground_truth(root, split, gt_json, gt_dir)
    names = sorted(gt.videos)
    if videos is not None:
        keep = {naming.video_name_of(v, "videos") for v in ([videos] if isinstance(videos, (str, int)) else videos)}
        unknown = sorted(keep - set(names))
        if unknown:
            raise VpsError("videos", f"not in the ground truth: {', '.join(unknown)}")
        if not keep:
            raise VpsError("videos", "no video given")
        names = [v for v in names if v in keep]
    source = PredictionSource(pred)
    try:
        subset = None if videos is None else [f for v in names for f in gt.videos[v]]
        preds = match_predictions(gt.frames, source.read_json(), source, subset)
        items = [(v, gt.videos[v], {f.image_id: preds[f.image_id] for f in gt.videos[v]}) for v in names]
        if jobs is None:
            jobs = default_jobs()
            if _estimated_pixels(gt, names) < _SMALL_SPLIT_PIXELS:
                jobs = 1
        results = map_videos(_video_states, items, context=_Context(gt, source, wanted), jobs=jobs,
                             desc="evaluate", progress=progress)
    finally:
        source.close()
    vpq = VPQAccumulator(gt.categories) if "vpq" in wanted else None
    stq = STQAccumulator(gt.categories) if "stq" in wanted else None
    for video, vs, ss in results:
        if vpq is not None and vs is not None:
            vpq.add_state(video, vs)
        if stq is not None and ss is not None:
            stq.add_state(video, ss)
    return vpq, stq


def _estimated_pixels(gt: GroundTruth, videos: list[str]) -> int:
    """Pixels of the first GT PNG (from its header) times the number of frames."""
    frames = [f for v in videos for f in gt.videos[v]]
    if not frames:
        return 0
    try:
        from PIL import Image

        with Image.open(io.BytesIO(gt.read_png(frames[0]))) as img:
            w, h = img.size
    except (OSError, ValueError, VpsError):
        return 0
    return w * h * len(frames)


def results_of(vpq: VPQAccumulator | None, stq: STQAccumulator | None) -> dict:
    """The results dict of the accumulators given."""
    out: dict = {}
    if vpq is not None:
        out["vpq"] = vpq.result()
    if stq is not None:
        out["stq"] = stq.result()
    return out


def evaluate(
    pred: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    split: str = "val",
    gt_json: str | os.PathLike | None = None,
    gt_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    metrics: Iterable[str] | str = METRICS,
    jobs: int | None = None,
    progress: bool | None = None,
    videos: Iterable[str | int] | None = None,
) -> dict:
    """Score prediction ``pred`` against a split's ground truth with VPQ and/or STQ.

    ``pred`` is a folder with ``pred.json`` and ``pan_pred/``, a zip of such a folder, or a
    ``submission.zip`` (``pred.json`` + ``pan_pred.zip``). The ground truth is ``root``/``split``
    (as prepare writes it) or ``gt_json`` + ``gt_dir``. Returns
    ``{"vpq": {"0"|"5"|"10"|"15": {"all"|"things"|"stuff": {pq, sq, rq, n}, "per_class": {…}},
    "final": {"all", "things", "stuff"}}, "stq": {"stq", "aq", "sq", "per_sequence": {…}}}``
    (fractions in [0, 1]); with ``out``, also writes ``vpq-{k}.txt``, ``vpq-final.txt`` and
    ``results.json`` there. ``jobs``: worker processes (None: all cores, or in-process for a
    small split); ``progress``: show a progress bar (None: when stderr is a terminal);
    ``videos``: score only these videos (numbers or 4-digit names; None: all).
    Bad input raises ``VpsError``.
    """
    vpq, stq = evaluate_videos(pred, root=root, split=split, gt_json=gt_json, gt_dir=gt_dir,
                               metrics=metrics, jobs=jobs, progress=progress, videos=videos)
    results = results_of(vpq, stq)
    if out is not None:
        from .report import write_reports

        write_reports(results, Path(out), vpq.categories if vpq is not None else None)
    return results


