"""Plans each stage per video, skips complete outputs, and runs the rest on ``--jobs`` processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VpsError
from ..locking import holding_lock, root_lock
from ..naming import LABELLED_SPLITS, SPLITS, check_split, panoptic_gt_json, parse_splits
from ..parallel import map_videos
from ..pipeline import map_pipeline
from ..sources import Source, open_gtfine, open_images, open_release
from . import fetch as fetch_mod
from . import merge as merge_mod
from . import panoptic as panoptic_mod
from . import release as release_mod
from . import video as video_mod
from .common import LINK_MODES, clean_parts, output_dir

STAGES = ("fetch", "merge", "panoptic", "video")


@dataclass
class StageReport:
    """What one stage did on one split."""

    stage: str
    split: str
    videos: int = 0
    """Work units (videos) planned."""
    skipped: int = 0
    """Units whose outputs were all complete already."""
    frames: int = 0
    """Frames (or files) the stage is responsible for."""
    written: int = 0
    """Files written (for the video stage: frames produced and JSON files) by this run."""
    seconds: float = 0.0
    values: dict[str, list[int]] = field(default_factory=dict, repr=False)
    """Stage 3 only: thing values (>= 1000) of each frame it wrote (by file name)."""


@dataclass
class PrepareSummary:
    """The reports of every stage run by :func:`vpskit.preparation.prepare`."""

    root: Path
    reports: list[StageReport] = field(default_factory=list)

    def table(self) -> str:
        """A text table: one row per stage and split."""
        head = f"{'stage':<9} {'split':<14} {'videos':>6} {'skipped':>7} {'frames':>7} {'written':>7} {'seconds':>8}"
        rows = [head, "-" * len(head)]
        for r in self.reports:
            rows.append(f"{r.stage:<9} {r.split:<14} {r.videos:>6} {r.skipped:>7} {r.frames:>7} "
                        f"{r.written:>7} {r.seconds:>8.2f}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()




def _split_list(split: str | Sequence[str], labelled: bool = False) -> list[str]:
    items = [split] if isinstance(split, str) else list(split)
    if not items:
        raise VpsError("--split", "no split given")
    return [check_split(s, labelled) for s in items]


def _root(root: str | os.PathLike) -> Path:
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise VpsError(path, "not a folder")
    return path


Unit = tuple[str, int, tuple[Any, ...]]


def _pending(stage: str, splits: list[str], plans: dict[str, dict[int, list[Any]]],
             is_done: Callable[[str, Any], bool]) -> tuple[StageReport, list[Unit]]:
    """The report skeleton and the work left: per (split, video), the tasks not done yet."""
    report = StageReport(stage, ",".join(splits),
                         videos=sum(len(p) for p in plans.values()),
                         frames=sum(len(t) for p in plans.values() for t in p.values()))
    todo: list[Unit] = []
    for split in splits:
        for video, tasks in plans[split].items():
            pending = tuple(t for t in tasks if not is_done(split, t))
            if pending:
                todo.append((split, video, pending))
            else:
                report.skipped += 1
    return report, todo


def _source(value: str | os.PathLike | Source, opener: Callable[[Any], Source]) -> Source:
    return value if isinstance(value, Source) else opener(value)


def unpack_release(root: str | os.PathLike, release: str | os.PathLike | Source, *,
                   jobs: int | None = None, progress: bool | None = None) -> StageReport:
    """Unpack the release's JSON files and ``{split}/cls``, ``{split}/inst`` labels into ROOT
    (created if needed).

    Files already in ROOT that differ from the release (size or CRC-32) are replaced, and the
    stage-3/4 outputs made from them deleted, so that the next stages make them again.
    """
    root = _root(root)
    root.mkdir(parents=True, exist_ok=True)
    return _unpack_release(root, release, jobs=jobs, progress=progress)


@holding_lock()
def _unpack_release(root: Path, release: str | os.PathLike | Source, *,
                    jobs: int | None, progress: bool | None) -> StageReport:
    start = time.perf_counter()
    source = _source(release, open_release)
    plan = release_mod.plan(source)
    clean_parts(sorted({root} | {root / m.rsplit("/", 1)[0] for ms in plan.values() for m in ms if "/" in m}))
    # unit 0 holds the release's JSON files: files, not a video
    report = StageReport("release", "-", videos=sum(1 for v in plan if v != 0),
                         frames=sum(len(m) for m in plan.values()))
    ctx = release_mod.ReleaseContext(root, source)
    todo = []
    for video, members in plan.items():
        pending = tuple(m for m in members if not release_mod.is_done(ctx, m))
        if pending:
            todo.append((video, pending))
        elif video != 0:
            report.skipped += 1
    results = map_videos(release_mod.run_video, todo, context=ctx,
                         jobs=jobs, desc="release", progress=progress)
    report.written = sum(results)
    report.seconds = time.perf_counter() - start
    return report


@holding_lock()
def stage_fetch(root: str | os.PathLike, images: str | os.PathLike | Source, split: str | Sequence[str], *,
          jobs: int | None = None, link: str = "copy", progress: bool | None = None) -> StageReport:
    """Stage 1: place the annotated frames in ``img/`` (and for val/test all frames in ``img_all/``).

    ``split`` is one split or several (run on one pool of workers). A frame already in place
    whose size differs from its source's is placed again.
    """
    start = time.perf_counter()
    root, splits = _root(root), _split_list(split)
    if link not in LINK_MODES:
        raise VpsError(f"--link {link}", f"unknown (expected one of {', '.join(LINK_MODES)})")
    plans = {s: fetch_mod.plan(root, s) for s in splits}
    source = _source(images, open_images)
    clean_parts([output_dir(root, s, f) for s in splits for f in ("img", "img_all")])
    ctx = fetch_mod.FetchContext(root, source, link)
    report, todo = _pending("fetch", splits, plans, lambda s, t: fetch_mod.is_done(ctx, s, t))
    results = map_videos(fetch_mod.run_video, todo, context=ctx,
                         jobs=jobs, desc=f"fetch {report.split}", progress=progress)
    report.written = sum(results)
    report.seconds = time.perf_counter() - start
    return report


@holding_lock()
def stage_merge(root: str | os.PathLike, gtfine: str | os.PathLike | Source, split: str | Sequence[str], *,
          jobs: int | None = None, progress: bool | None = None) -> StageReport:
    """Stage 2: copy the gtFine labels of every 20th frame into ``cls/`` and ``inst/``.

    A label already there that differs from gtFine (size or CRC-32) is copied again, after the
    stage-3/4 outputs made from it are deleted.
    """
    start = time.perf_counter()
    root, splits = _root(root), _split_list(split, labelled=True)
    plans = {s: merge_mod.plan(root, s) for s in splits}
    source = _source(gtfine, open_gtfine)
    clean_parts([output_dir(root, s, f) for s in splits for f in ("cls", "inst")])
    ctx = fetch_mod.FetchContext(root, source, "copy", content=True)
    report, todo = _pending("merge", splits, plans, lambda s, t: fetch_mod.is_done(ctx, s, t))
    results = map_videos(fetch_mod.run_video, todo, context=ctx,
                         jobs=jobs, desc=f"merge {report.split}", progress=progress)
    report.written = sum(results)
    report.seconds = time.perf_counter() - start
    return report


@holding_lock()
def stage_panoptic(root: str | os.PathLike, split: str | Sequence[str], *, jobs: int | None = None,
             progress: bool | None = None) -> StageReport:
    """Stage 3: ``labelmap/`` and ``panoptic_inst/`` from every ``cls``/``inst`` pair."""
    start = time.perf_counter()
    root, splits = _root(root), _split_list(split, labelled=True)
    plans = {s: panoptic_mod.plan(root, s) for s in splits}
    clean_parts([output_dir(root, s, f) for s in splits for f in ("labelmap", "panoptic_inst")])
    report, todo = _pending("panoptic", splits, plans, lambda s, t: panoptic_mod.is_done(root, s, t))
    results = map_videos(panoptic_mod.run_video, todo, context=panoptic_mod.PanopticContext(root),
                         jobs=jobs, desc=f"panoptic {report.split}", progress=progress)
    for (s, _, _), values in zip(todo, results, strict=True):
        for name, things in values.items():
            report.values[f"{s}/{name}"] = things
    report.written = 2 * len(report.values)
    report.seconds = time.perf_counter() - start
    return report


@holding_lock()
def stage_video(root: str | os.PathLike, split: str | Sequence[str], *, jobs: int | None = None,
          progress: bool | None = None, known_values: dict[str, list[int]] | None = None) -> StageReport:
    """Stage 4: ``panoptic_video/`` (one colour per track, unique in the split) and the JSON.

    ``known_values`` (thing values per ``{split}/{file name}``, from stage 3 in the same run)
    saves decoding those frames twice.
    """
    start = time.perf_counter()
    root, splits = _root(root), _split_list(split, labelled=True)
    plans = {s: video_mod.plan(root, s) for s in splits}
    report, todo_splits = _video_pending(root, splits, plans)
    known = known_values or {}
    ctx = video_mod.VideoContext(root)
    values: dict[tuple[str, int], list[int]] = {}
    unknown: list[Unit] = []
    for s in todo_splits:
        for v, tasks in plans[s].items():
            if all(f"{s}/{t.pan_name}" in known for t in tasks):
                values[s, v] = sorted({x for t in tasks for x in known[f"{s}/{t.pan_name}"]})
            else:
                unknown.append((s, v, tuple(tasks)))
    found = map_videos(video_mod.collect_values, unknown, context=ctx, jobs=jobs,
                       desc=f"video {report.split} (ids)", progress=progress)
    for (s, v, _), vals in zip(unknown, found, strict=True):
        values[s, v] = vals
    work = []
    for s in todo_splits:
        colors = video_mod.assign_colors(s, ((v, x) for (s2, v), vals in values.items() if s2 == s
                                             for x in vals))
        work += [(s, v, tuple(tasks), {x: colors[v, x] for x in values[s, v]})
                 for v, tasks in plans[s].items()]
    results = map_videos(video_mod.write_video, work, context=ctx, jobs=jobs,
                         desc=f"video {report.split}", progress=progress)
    for s in todo_splits:
        records = [r for (s2, _, _, _), recs in zip(work, results, strict=True) if s2 == s for r in recs]
        video_mod.write_gt_json(root, s, records)
        report.written += 1
    report.written += sum(len(recs) for recs in results)
    report.seconds = time.perf_counter() - start
    return report


def _video_pending(root: Path, splits: list[str], plans: dict[str, dict[int, list[video_mod.VideoTask]]]
                   ) -> tuple[StageReport, list[str]]:
    """Stage 4's report skeleton and the splits it has to do: those whose JSON or one of whose
    ``panoptic_video`` frames is missing (stale ``.part`` files are removed first)."""
    clean_parts([root] + [output_dir(root, s, "panoptic_video") for s in splits])
    report = StageReport("video", ",".join(splits), videos=sum(len(p) for p in plans.values()),
                         frames=sum(len(t) for p in plans.values() for t in p.values()))
    todo_splits = []
    for s in splits:
        out_dir = output_dir(root, s, "panoptic_video")
        if (root / panoptic_gt_json(s)).exists() and all(
                (out_dir / t.pan_name).exists() for tasks in plans[s].values() for t in tasks):
            report.skipped += len(plans[s])
        else:
            todo_splits.append(s)
    return report, todo_splits


@holding_lock()
def stage_panoptic_video(root: str | os.PathLike, split: str | Sequence[str], *, jobs: int | None = None,
                         progress: bool | None = None) -> tuple[StageReport, StageReport]:
    """Stages 3 and 4 in one pass over the videos: the ``pan`` frames stage 3 makes go on to
    stage 4 in memory, not through their files. A video's thing colours depend only on the videos
    before it, so this process gives them out video after video, in order, while ``jobs``
    workers make and write the frames (:func:`vpskit.pipeline.map_pipeline`). The same outputs as
    :func:`stage_panoptic` then :func:`stage_video`; returns their two reports (their seconds:
    the pass's time, shared in proportion to each stage's work)."""
    start = time.perf_counter()
    root, splits = _root(root), _split_list(split, labelled=True)
    plans = {s: panoptic_mod.plan(root, s) for s in splits}
    clean_parts([output_dir(root, s, f) for s in splits for f in ("labelmap", "panoptic_inst")])
    report3, todo = _pending("panoptic", splits, plans, lambda s, t: panoptic_mod.is_done(root, s, t))
    pending = {(s, v): tasks for s, v, tasks in todo}
    plans4 = {s: video_mod.plan(root, s, coming=[t.cls_name for ts in plans[s].values() for t in ts])
              for s in splits}
    report4, todo_splits = _video_pending(root, splits, plans4)
    units = [(s, v, pending.get((s, v), ()), tuple(plans4[s][v]) if s in todo_splits else None)
             for s in splits for v in plans[s]]
    colors = {s: video_mod.TrackColors(s) for s in todo_splits}

    def give_colours(unit: _FusedUnit, made: _Made) -> tuple | None:
        split, video, _, tasks4 = unit
        if tasks4 is None:
            return None
        frames = list(made[2] or ())
        if made[2] is not None:
            made[2].clear()  # the frames go on to stage 4: the results kept till the end hold none
        return split, tasks4, frames, colors[split].add(video, made[3])

    results = map_pipeline(_fused_stage3, give_colours, _fused_stage4, units, context=root, jobs=jobs,
                           desc=f"panoptic+video {report3.split}", progress=progress)
    report3.written = 2 * sum(len(u[2]) for u in units)
    work3 = sum(made[0] for made, _ in results)
    work4 = sum(made[1] + (wrote[0] if wrote else 0.0) for made, wrote in results)
    t0 = time.perf_counter()
    for s in todo_splits:
        records = [r for u, (_, wrote) in zip(units, results, strict=True) if u[0] == s and wrote for r in wrote[1]]
        video_mod.write_gt_json(root, s, records)
        report4.written += 1 + len(records)
    json_seconds = time.perf_counter() - t0
    share = min(1.0, (t0 - start) / max(work3 + work4, 1e-9))
    report3.seconds, report4.seconds = work3 * share, work4 * share + json_seconds
    return report3, report4


_FusedUnit = tuple[str, int, tuple[Any, ...], tuple[Any, ...] | None]
"""One video of :func:`stage_panoptic_video`: split, video, its stage-3 tasks still to do, its
stage-4 tasks (None: the split's stage-4 outputs are complete)."""
_Made = tuple[float, float, list[Any] | None, list[int] | None]
"""Seconds of stage 3 and of reading the video's ``pan`` frames, those frames and their thing
values (None: stage 4 is not to run)."""


def _fused_stage3(root: Path, unit: _FusedUnit) -> _Made:
    """In a worker: stage 3 of one video, then the ``pan`` frames its stage 4 needs."""
    split, _, tasks3, tasks4 = unit
    t0 = time.perf_counter()
    made = {}
    for t in tasks3:
        runs = panoptic_mod.make_frame(root, split, t)[1]
        if runs is not None:
            made[t.cls_name] = runs
    t1 = time.perf_counter()
    if tasks4 is None:
        return t1 - t0, 0.0, None, None
    frames, things = video_mod.video_frames(root, split, tasks4, made)
    return t1 - t0, time.perf_counter() - t1, frames, things


def _fused_stage4(root: Path, arg: tuple) -> tuple[float, list[dict]]:
    """In a worker: stage 4 of one video, its colours given; seconds and frame records."""
    split, tasks4, frames, things = arg
    t0 = time.perf_counter()
    records = video_mod.write_frames(root, split, tasks4, frames, things)
    return time.perf_counter() - t0, records


def prepare(root: str | os.PathLike, images: str | os.PathLike | Source,
            gtfine: str | os.PathLike | Source, *, release: str | os.PathLike | Source | None = None,
            splits: str | Sequence[str] = SPLITS, jobs: int | None = None, link: str = "copy",
            progress: bool | None = None) -> PrepareSummary:
    """Build Cityscapes-VPS in ``root``: (unpack the release,) fetch, merge, panoptic, video.

    ``images`` and ``gtfine`` are the Cityscapes downloads, each a folder or a zip. Stages 2-4
    run for the labelled splits among ``splits`` (train, val). Complete outputs are skipped, so
    running it again after an interruption finishes the job with identical bytes. Files that
    differ from a corrected input (release, gtFine labels, frames) are replaced and what was
    made from them is made again. ROOT is locked while it runs: a second run on the same ROOT
    stops with ``VpsError`` before touching anything.
    """
    root = _root(root)
    wanted = parse_splits(splits)
    if link not in LINK_MODES:
        raise VpsError(f"--link {link}", f"unknown (expected one of {', '.join(LINK_MODES)})")
    labelled = [s for s in wanted if s in LABELLED_SPLITS]
    img_src = _source(images, open_images)
    gt_src = _source(gtfine, open_gtfine) if labelled else None
    rel_src = _source(release, open_release) if release is not None else None
    summary = PrepareSummary(root)
    if rel_src is not None:
        root.mkdir(parents=True, exist_ok=True)
    elif not root.is_dir():
        raise VpsError(root, "no such folder (give --release to unpack the release into it)")
    with root_lock(root):
        if rel_src is not None:
            summary.reports.append(unpack_release(root, rel_src, jobs=jobs, progress=progress))
        summary.reports.append(stage_fetch(root, img_src, wanted, jobs=jobs, link=link, progress=progress))
        if labelled:
            assert gt_src is not None
            summary.reports.append(stage_merge(root, gt_src, labelled, jobs=jobs, progress=progress))
            summary.reports.extend(stage_panoptic_video(root, labelled, jobs=jobs, progress=progress))
    return summary
