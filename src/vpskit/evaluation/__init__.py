"""Score video panoptic predictions with VPQ and STQ (SPEC §4).

:func:`evaluate` reads the ground truth and a prediction video by video, decodes each PNG once,
reduces every frame to its (GT id, predicted id) pixel counts, and feeds the per-video metric
accumulators (:class:`VPQAccumulator`, :class:`STQAccumulator`), which can be merged across
processes or machines.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import naming
from ..errors import VpsError
from ..parallel import default_jobs, map_videos
from ..pngio import png_header
from ..profiles import Profile, detect_benchmark, get_profile
from ..text import plural
from .loading import (
    GroundTruth,
    GtFrame,
    PredFrame,
    PredictionSource,
    match_predictions,
    open_ground_truth,
    read_video_tables,
)
from .metrics import SPANS, CategorySet, STQAccumulator, VPQAccumulator, accumulators
from .metrics.stq import DEFAULT_VOID_RULE, VOID_RULES, STQVideoState
from .metrics.stq import video_state as stq_video_state
from .metrics.vpq import WINDOW_FRAMES, VPQVideoState
from .metrics.vpq import video_state as vpq_video_state
from .notices import warn_short_windows
from .report import format_table
from .tables import crowd_for_stq

__all__ = ["SPANS", "CategorySet", "STQAccumulator", "VPQAccumulator", "describe_evaluation", "evaluate",
           "evaluate_videos", "format_table", "results_of", "video_ranges"]

METRICS = ("vpq", "stq")
VOID_RULE_MEANING = {
    "class": "a labelled pixel predicted void makes void one more class of the IoU mean, with IoU 0 "
             "(as deeplab2)",
    "miss": "a labelled pixel predicted void is only a miss of its ground-truth category",
}
_SMALL_SPLIT_PIXELS = 8_000_000
"""Below this many GT pixels in all, ``jobs=None`` evaluates in-process (a pool costs more)."""


@dataclass(frozen=True)
class VideoContext:
    """What each worker needs to score a video: the ground truth, the prediction, the metrics and
    the benchmark's rules (VPQ windows, the crowd rule of STQ (see
    :func:`~vpskit.evaluation.tables.crowd_for_stq`), whether predicted PNGs must be RGB)."""

    gt: GroundTruth
    source: PredictionSource
    metrics: tuple[str, ...]
    tracks: bool = False
    spans: tuple[int, ...] = SPANS
    window_frames: tuple[int, ...] = WINDOW_FRAMES
    stq_crowd: str = "iscrowd"
    rgb_only: bool = False


def _video_states(ctx: VideoContext, item: tuple[str, list[GtFrame], dict[str, PredFrame]]
                  ) -> tuple[str, VPQVideoState | None, STQVideoState | None]:
    video, frames, preds = item
    tables = read_video_tables(ctx.gt, frames, preds, ctx.source, ctx.rgb_only)
    cats = ctx.gt.categories
    vpq = (vpq_video_state(tables, cats, tracks=ctx.tracks, window_frames=ctx.window_frames)
           if "vpq" in ctx.metrics else None)
    stq = stq_video_state(crowd_for_stq(tables, ctx.stq_crowd), cats) if "stq" in ctx.metrics else None
    return video, vpq, stq


def _parse_metrics(metrics: Iterable[str] | str) -> tuple[str, ...]:
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [m.strip().lower() for m in names if m.strip()]
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise VpsError("--metrics", f"expected a comma-separated subset of {','.join(METRICS)}, got {metrics!r}")
    return tuple(m for m in METRICS if m in names)


def _select_videos(gt: GroundTruth, videos: Iterable[str | int] | str | int | None) -> list[str]:
    """The GT's videos to score, sorted; ``videos`` None: all of them."""
    names = sorted(gt.videos)
    if videos is None:
        return names
    there = f"the ground truth has {plural(len(names), 'video')}: {video_ranges(names)}"
    wanted = [videos] if isinstance(videos, (str, int, range)) else list(videos)
    if not wanted:
        raise VpsError("--videos", "no video given")
    keep: set[str] = set()
    unknown: list[str] = []
    for item in wanted:
        if isinstance(item, range):  # a range takes the videos there are within it
            inside = [v for v in names if int(v) in item]
            if not inside:
                shown = f"{item.start}-{item.stop - 1}" if len(item) > 1 else str(item.start)
                raise VpsError("--videos", f"no video in {shown}; {there}")
            keep.update(inside)
        else:
            name = naming.video_name_of(item, "videos")
            (keep.add if name in names else unknown.append)(name)
    if unknown:
        raise VpsError("--videos", f"not in the ground truth: {_brief(sorted(unknown))}; {there}")
    return [v for v in names if v in keep]


def _brief(names: list[str], most: int = 8) -> str:
    return ", ".join(names[:most]) + (f", … ({len(names) - most} more)" if len(names) > most else "")


def video_ranges(names: Iterable[str]) -> str:
    """Video names as numbers and ranges, e.g. ``2, 8-10, 14`` (empty: ``none``)."""
    nums = sorted(int(n) for n in names)
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ", ".join(parts) or "none"


def _check_stq_void(stq_void: str) -> str:
    if stq_void not in VOID_RULES:
        raise VpsError("--stq-void", f"expected one of {', '.join(VOID_RULES)}, got {stq_void!r}")
    return stq_void


def _states(gt: GroundTruth, names: list[str], pred: str | os.PathLike, wanted: tuple[str, ...],
            stq_void: str, jobs: int | None, progress: bool | None, tracks: bool = False
            ) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    source = PredictionSource(pred)
    try:
        subset = None if names == sorted(gt.videos) else [f for v in names for f in gt.videos[v]]
        preds = match_predictions(gt.frames, source.read_json(), source, subset, checked=True)
        states = video_accumulators(preds, names, VideoContext(gt, source, wanted, tracks), stq_void, jobs, progress)
    finally:
        source.close()
    if "vpq" in wanted:
        warn_short_windows(WINDOW_FRAMES, SPANS, (len(gt.videos[v]) for v in names), "annotated frame")
    return states


def video_accumulators(preds: dict[str, PredFrame], names: list[str], ctx: VideoContext, stq_void: str,
                       jobs: int | None, progress: bool | None
                       ) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    """The accumulators of videos ``names`` of ``ctx.gt``, given the prediction of each frame
    (by image id), each video scored on ``jobs`` processes (None: all cores, one for a small split)."""
    gt = ctx.gt
    items = [(v, gt.videos[v], {f.image_id: preds[f.image_id] for f in gt.videos[v]}) for v in names]
    if jobs is None:
        jobs = default_jobs()
        if _estimated_pixels(gt, names) < _SMALL_SPLIT_PIXELS:
            jobs = 1
    results = map_videos(_video_states, items, context=ctx, jobs=jobs, desc="evaluate", progress=progress,
                         cost=lambda item: len(item[1]))
    return accumulators(results, gt.categories, ctx.metrics, stq_void, ctx.spans, ctx.window_frames)


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
    stq_void: str = DEFAULT_VOID_RULE,
    tracks: bool = False,
) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    """The metric accumulators of a prediction, holding one state per video.

    ``tracks``: each video's VPQ state also records every GT track's matches per span
    (:class:`~vpskit.evaluation.metrics.vpq.TrackMatches`).

    ``videos`` restricts the work to some videos (numbers, 4-digit names, or ``range`` objects of
    numbers, which take the videos there are within them), so that an
    evaluation can be split across machines and the accumulators merged afterwards; only their
    frames then need a prediction.
    """
    wanted = _parse_metrics(metrics)
    _check_stq_void(stq_void)
    gt = open_ground_truth(root, split, gt_json, gt_dir)
    return _states(gt, _select_videos(gt, videos), pred, wanted, stq_void, jobs, progress, tracks)


def _estimated_pixels(gt: GroundTruth, videos: list[str]) -> int:
    """Pixels of the first GT PNG (from its header) times the number of frames."""
    frames = [f for v in videos for f in gt.videos[v]]
    if not frames:
        return 0
    try:
        header = png_header(gt.read_png(frames[0]), "")
    except VpsError:
        return 0
    return header.width * header.height * len(frames)


def results_of(vpq: VPQAccumulator | None, stq: STQAccumulator | None) -> dict:
    """The metric part of the results (``vpq``, ``stq``) of the accumulators given."""
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
    metrics: Iterable[str] | str | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
    videos: Iterable[str | int] | None = None,
    stq_void: str = DEFAULT_VOID_RULE,
    replace: bool = False,
    benchmark: str | None = None,
    vpq_windows: str | None = None,
    stq_gt_instances: str | None = None,
) -> dict:
    """Score prediction ``pred`` against a split's ground truth with VPQ and/or STQ.

    ``pred`` is a folder with ``pred.json`` and ``pan_pred/``, a zip of such a folder, or a
    ``submission.zip`` (``pred.json`` + ``pan_pred.zip``). The ground truth is ``root``/``split``
    (as prepare writes it; ``root`` may be a zip of it) or ``gt_json`` + ``gt_dir``.

    Returns ``{"vpskit", "evaluation", "conventions", "vpq", "stq"}``: what was scored and by
    which rules (see :func:`describe_evaluation`), then
    ``"vpq": {"0"|"5"|"10"|"15": {"all"|"things"|"stuff": {pq, sq, rq, n}, "per_class": {…}},
    "final": {"all"|"things"|"stuff": {pq, sq, rq, n}}}`` (``final`` averages over the spans:
    ``results["vpq"]["final"]["all"]["pq"]`` is the final VPQ) and
    ``"stq": {"stq", "aq", "iou", "per_sequence": {video: {"stq", "aq", "iou"}}}``, fractions in
    [0, 1]. ``iou`` is STQ's segmentation term (SQ in the STQ paper, IoU in deeplab2's output).

    ``stq_void``: ``"class"`` (default, as deeplab2: a labelled pixel predicted void makes void
    a class of IoU 0 in the mean) or ``"miss"`` (only a miss of its GT category).
    ``out``: also write ``vpq-{k}.txt``, ``vpq-final.txt`` and ``results.json`` there, all or
    nothing; a folder holding the reports of a *different* evaluation (another split, video
    subset, ground truth, prediction, metrics or rule) is refused unless ``replace``.
    ``jobs``: worker processes (None: all cores, or in-process for a small split);
    ``progress``: show a progress bar (None: when stderr is a terminal); ``videos``: score only
    these videos (numbers or 4-digit names; None: all). Bad input raises ``VpsError``.

    ``benchmark``: ``"cityscapes-vps"``, ``"kitti-step"``, … (None: found from ``root``: one holding
    ``panoptic_maps/``, or a zip holding it, is KITTI-STEP; see :mod:`vpskit.profiles`). For KITTI-STEP, ``root``
    holds ``panoptic_maps/{split}/{sequence}/{frame}.png``, ``pred`` is a folder of the same
    per-frame PNGs (``PRED/{sequence}/{frame}.png``), and the metrics are VPQ over windows of 1, 2,
    3 and 4 consecutive frames (named k = 0, 1, 2, 3) and STQ (per sequence and overall;
    ``videos`` are sequence numbers). For VIPSeg (a root holding ``panomasksRGB/``), see
    :func:`vpskit.evaluation.video_json.evaluate_video_json`: ``vpq_windows`` (``"official"``,
    the default, or ``"paper"``) and ``stq_gt_instances`` (``"from-0"``, the default, or
    ``"from-1"``) choose its conventions; other benchmarks refuse them.
    """
    profile = detect_benchmark(root if gt_json is None and gt_dir is None else None, benchmark).require("eval")
    profile = profile.with_windows(vpq_windows)
    stq_gt_numbering = profile.gt_instances(stq_gt_instances)
    metrics = _profile_metrics(profile, metrics)
    if profile.layout == "video-json":
        from .video_json import evaluate_video_json

        return evaluate_video_json(profile, pred, root=root, split=split, out=out, metrics=metrics, jobs=jobs,
                                   progress=progress, videos=videos, stq_void=stq_void, replace=replace,
                                   stq_gt_instances=stq_gt_numbering)
    if profile.layout == "category-instance":
        return _evaluate_maps(profile, pred, root=root, split=split, out=out, metrics=metrics, jobs=jobs,
                              progress=progress, videos=videos, stq_void=stq_void, replace=replace)
    wanted = _parse_metrics(metrics)
    _check_stq_void(stq_void)
    gt = open_ground_truth(root, split, gt_json, gt_dir)
    names = _select_videos(gt, videos)
    head = describe_evaluation(gt, names, pred, split if gt_json is None and gt_dir is None else None,
                               wanted, stq_void)
    if out is not None:
        from .report import check_reports_folder

        check_reports_folder(Path(out), head, replace)
    vpq, stq = _states(gt, names, pred, wanted, stq_void, jobs, progress)
    results = head | results_of(vpq, stq)
    if out is not None:
        from .report import write_reports

        write_reports(results, Path(out), vpq.categories if vpq is not None else None)
    return results


def _profile_metrics(profile: Profile, metrics: Iterable[str] | str | None) -> tuple[str, ...]:
    """The metrics asked for (None: every metric the benchmark has); ``VpsError`` for one it lacks."""
    if metrics is None:
        return tuple(m for m in METRICS if m != "vpq" or profile.has_vpq)
    wanted = _parse_metrics(metrics)
    if "vpq" in wanted and not profile.has_vpq:
        raise VpsError("--metrics", f"vpskit does not compute VPQ for {profile.title} yet (use --metrics stq)")
    return wanted


def _evaluate_maps(profile: Profile, pred: str | os.PathLike, *, root: str | os.PathLike | None, split: str,
                   out: str | os.PathLike | None, metrics: tuple[str, ...], jobs: int | None,
                   progress: bool | None, videos: Iterable[str | int] | None, stq_void: str, replace: bool) -> dict:
    """:func:`evaluate` of a benchmark whose frames are category/instance PNGs (KITTI-STEP)."""
    from .category_instance import open_maps_ground_truth, select_sequences, sequence_states

    _check_stq_void(stq_void)
    if root is None:
        raise VpsError("ground truth", f"give --root, the {profile.title} folder holding panoptic_maps/")
    gt = open_maps_ground_truth(root, split, profile)
    names = select_sequences(gt, videos)
    ground_truth = gt.describe()
    head = results_head(profile, ground_truth, names, sum(len(gt.videos[v]) for v in names), pred, split,
                        metrics, stq_void)
    if out is not None:
        from .report import check_reports_folder

        check_reports_folder(Path(out), head, replace)
    vpq, stq = sequence_states(gt, names, pred, metrics, stq_void, jobs, progress)
    results = head | results_of(vpq, stq)
    if out is not None:
        from .report import write_reports

        write_reports(results, Path(out), gt.categories if vpq is not None else None)
    return results


def describe_evaluation(gt: GroundTruth, videos: list[str], pred: str | os.PathLike, split: str | None,
                        metrics: tuple[str, ...], stq_void: str) -> dict:
    """What an evaluation scores and by which rules: the head of ``results.json``.

    ``{"vpskit": {"version"}, "evaluation": {split, ground_truth, prediction, metrics, videos,
    frames}, "conventions": {"vpq": {…}, "stq": {…}}}`` — paths as given, plus their absolute
    form; no time stamps, so the same evaluation gives the same bytes.
    """
    ground_truth = {"json": gt.json_where, "json_absolute": _absolute(gt.json_where)}
    return results_head(get_profile(), ground_truth, videos, sum(len(gt.videos[v]) for v in videos), pred,
                        split, metrics, stq_void)


def results_head(profile: Profile, ground_truth: dict, videos: list[str], frames: int, pred: str | os.PathLike,
                 split: str | None, metrics: tuple[str, ...], stq_void: str) -> dict:
    """The head of ``results.json`` (see :func:`describe_evaluation`) of a benchmark's evaluation,
    its conventions taken from the benchmark's profile."""
    from .._version import __version__

    conventions: dict = {}
    if "vpq" in metrics and profile.vpq_reference is not None:
        conventions["vpq"] = {
            "agrees_with": profile.vpq_reference.to_json(),
            "window_spans_k": list(profile.vpq_spans),
            "window_frames": list(profile.vpq_window_frames),
            "final": profile.vpq_final,
        }
        window_set = profile.window_set()
        if window_set is not None:
            conventions["vpq"] |= {"windows": window_set.name, "windows_source": window_set.source}
        conventions["vpq"] |= profile.vpq_conventions
    if "stq" in metrics:
        conventions["stq"] = {
            "agrees_with": profile.stq_reference.to_json(),
            "void_rule": stq_void,
            "void_rule_meaning": VOID_RULE_MEANING[stq_void],
            "iou": "STQ's segmentation term (SQ in the STQ paper, IoU in deeplab2's output)",
        } | profile.extra_conventions
    return {
        "vpskit": {"version": __version__},
        "evaluation": profile.evaluation_fields() | {
            "split": split,
            "ground_truth": ground_truth,
            "prediction": {"given": os.fspath(pred), "absolute": os.path.abspath(os.fspath(pred))},
            "metrics": list(metrics),
            "videos": videos,
            "frames": frames,
        },
        "conventions": conventions,
    }


def _absolute(where: str) -> str:
    """``where`` (a path, or ``zip:member``) with its file part made absolute."""
    path, sep, member = where.partition(".zip:")
    if sep:
        return os.path.abspath(path + ".zip") + ":" + member
    return os.path.abspath(where)
