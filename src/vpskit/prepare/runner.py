"""Plans each stage per video, skips complete outputs, and runs the rest on ``--jobs`` processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VpsError
from ..naming import LABELLED_SPLITS, SPLITS, panoptic_gt_json
from ..parallel import map_videos
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
    """Files written by this run."""
    seconds: float = 0.0
    values: dict[str, list[int]] = field(default_factory=dict, repr=False)
    """Stage 3 only: thing values (>= 1000) of each frame it wrote (by file name)."""


@dataclass
class PrepareSummary:
    """The reports of every stage run by :func:`vpskit.prepare.prepare`."""

    root: Path
    reports: list[StageReport] = field(default_factory=list)

    def table(self) -> str:
        """A text table: one row per stage and split."""
        head = f"{'stage':<9} {'split':<6} {'videos':>6} {'skipped':>7} {'frames':>7} {'written':>7} {'seconds':>8}"
        rows = [head, "-" * len(head)]
        for r in self.reports:
            rows.append(f"{r.stage:<9} {r.split:<6} {r.videos:>6} {r.skipped:>7} {r.frames:>7} "
                        f"{r.written:>7} {r.seconds:>8.2f}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()


def check_split(split: str, labelled: bool = False) -> str:
    """Validate a split name (and, for label stages, that the split has labels)."""
    if split not in SPLITS:
        raise VpsError(f"split {split!r}", f"unknown (expected one of {', '.join(SPLITS)})")
    if labelled and split not in LABELLED_SPLITS:
        raise VpsError(f"split {split!r}", "has no public labels (only train and val do)")
    return split


def _root(root: str | os.PathLike) -> Path:
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise VpsError(path, "not a folder")
    return path


def _run_units(stage: str, split: str, units: dict[int, list[Any]], is_done: Callable[[Any], bool],
               worker: Callable[[Any, Any], Any], ctx: Any, folders: Iterable[Path],
               jobs: int | None, progress: bool | None) -> tuple[StageReport, list[Any]]:
    """Clean stale temporary files, drop complete work, run the rest; return report and results."""
    start = time.perf_counter()
    clean_parts(folders)
    report = StageReport(stage, split, videos=len(units), frames=sum(len(t) for t in units.values()))
    todo = []
    for video, tasks in units.items():
        pending = tuple(t for t in tasks if not is_done(t))
        if pending:
            todo.append((video, pending))
        else:
            report.skipped += 1
    results = map_videos(worker, todo, context=ctx, jobs=jobs, desc=f"{stage} {split}", progress=progress)
    report.seconds = time.perf_counter() - start
    return report, results


def _source(value: str | os.PathLike | Source, opener: Callable[[Any], Source]) -> Source:
    return value if isinstance(value, Source) else opener(value)


def unpack_release(root: str | os.PathLike, release: str | os.PathLike | Source, *,
                   jobs: int | None = None, progress: bool | None = None) -> StageReport:
    """Unpack the release's JSON files and ``{split}/cls``, ``{split}/inst`` labels into ROOT."""
    root = _root(root)
    source = _source(release, open_release)
    units = release_mod.plan(source)
    folders = {root} | {root / m.rsplit("/", 1)[0] for ms in units.values() for m in ms if "/" in m}
    report, results = _run_units("release", "-", units, lambda m: (root / m).exists(),
                                 release_mod.run_video, release_mod.ReleaseContext(root, source),
                                 sorted(folders), jobs, progress)
    report.written = sum(results)
    return report


def fetch(root: str | os.PathLike, images: str | os.PathLike | Source, split: str, *,
          jobs: int | None = None, link: str = "copy", progress: bool | None = None) -> StageReport:
    """Stage 1: place the split's annotated frames in ``img/`` (and for val/test all frames in ``img_all/``)."""
    root, split = _root(root), check_split(split)
    if link not in LINK_MODES:
        raise VpsError(f"--link {link}", f"unknown (expected one of {', '.join(LINK_MODES)})")
    units = fetch_mod.plan(root, split)
    source = _source(images, open_images)
    ctx = fetch_mod.FetchContext(root, split, source, link)
    folders = [output_dir(root, split, "img"), output_dir(root, split, "img_all")]
    report, results = _run_units("fetch", split, units, lambda t: fetch_mod.is_done(root, split, t),
                                 fetch_mod.run_video, ctx, folders, jobs, progress)
    report.written = sum(results)
    return report


def merge(root: str | os.PathLike, gtfine: str | os.PathLike | Source, split: str, *,
          jobs: int | None = None, progress: bool | None = None) -> StageReport:
    """Stage 2: copy the gtFine labels of every 20th frame into ``cls/`` and ``inst/``."""
    root, split = _root(root), check_split(split, labelled=True)
    units = merge_mod.plan(root, split)
    source = _source(gtfine, open_gtfine)
    ctx = merge_mod.MergeContext(root, split, source)
    folders = [output_dir(root, split, "cls"), output_dir(root, split, "inst")]
    report, results = _run_units("merge", split, units, lambda t: merge_mod.is_done(root, split, t),
                                 merge_mod.run_video, ctx, folders, jobs, progress)
    report.written = sum(results)
    return report


def panoptic(root: str | os.PathLike, split: str, *, jobs: int | None = None,
             progress: bool | None = None) -> StageReport:
    """Stage 3: ``labelmap/`` and ``panoptic_inst/`` from every ``cls``/``inst`` pair."""
    root, split = _root(root), check_split(split, labelled=True)
    units = panoptic_mod.plan(root, split)
    ctx = panoptic_mod.PanopticContext(root, split)
    folders = [output_dir(root, split, "labelmap"), output_dir(root, split, "panoptic_inst")]
    report, results = _run_units("panoptic", split, units,
                                 lambda t: panoptic_mod.is_done(root, split, t),
                                 panoptic_mod.run_video, ctx, folders, jobs, progress)
    for values in results:
        report.values.update(values)
    report.written = len(report.values)
    return report


def video(root: str | os.PathLike, split: str, *, jobs: int | None = None,
          progress: bool | None = None, known_values: dict[str, list[int]] | None = None) -> StageReport:
    """Stage 4: ``panoptic_video/`` (one colour per track, unique in the split) and the JSON.

    ``known_values`` (thing values per file, from stage 3 in the same run) saves decoding
    those frames twice.
    """
    root, split = _root(root), check_split(split, labelled=True)
    start = time.perf_counter()
    units = video_mod.plan(root, split)
    out_dir = output_dir(root, split, "panoptic_video")
    json_path = root / panoptic_gt_json(split)
    clean_parts([out_dir, root])
    report = StageReport("video", split, videos=len(units), frames=sum(len(t) for t in units.values()))
    if json_path.exists() and all((out_dir / t.pan_name).exists()
                                  for tasks in units.values() for t in tasks):
        report.skipped = len(units)
        report.seconds = time.perf_counter() - start
        return report
    known = known_values or {}
    ctx = video_mod.VideoContext(root, split)
    values: dict[int, list[int]] = {}
    unknown = []
    for v, tasks in units.items():
        if all(t.pan_name in known for t in tasks):
            values[v] = sorted({x for t in tasks for x in known[t.pan_name]})
        else:
            unknown.append((v, tuple(tasks)))
    for (v, _), vals in zip(unknown, map_videos(video_mod.collect_values, unknown, context=ctx, jobs=jobs,
                                                desc=f"video {split} (ids)", progress=progress), strict=True):
        values[v] = vals
    colors = video_mod.assign_colors(split, ((v, x) for v, vals in values.items() for x in vals))
    work = [(v, tuple(tasks), {x: colors[v, x] for x in values[v]}) for v, tasks in units.items()]
    before = sum(1 for tasks in units.values() for t in tasks if (out_dir / t.pan_name).exists())
    results = map_videos(video_mod.write_video, work, context=ctx, jobs=jobs,
                         desc=f"video {split}", progress=progress)
    video_mod.write_gt_json(root, split, (r for recs in results for r in recs))
    report.written = report.frames - before + 1
    report.seconds = time.perf_counter() - start
    return report


def _splits(splits: str | Sequence[str]) -> list[str]:
    items = splits.split(",") if isinstance(splits, str) else list(splits)
    out = []
    for s in items:
        s = s.strip()
        if s and s not in out:
            out.append(check_split(s))
    if not out:
        raise VpsError("--splits", "no split given")
    return [s for s in SPLITS if s in out]


def prepare(root: str | os.PathLike, images: str | os.PathLike | Source,
            gtfine: str | os.PathLike | Source, *, release: str | os.PathLike | Source | None = None,
            splits: str | Sequence[str] = SPLITS, jobs: int | None = None, link: str = "copy",
            progress: bool | None = None) -> PrepareSummary:
    """Build Cityscapes-VPS in ``root``: (unpack the release,) fetch, merge, panoptic, video.

    ``images`` and ``gtfine`` are the Cityscapes downloads, each a folder or a zip. Stages 2-4
    run for the labelled splits among ``splits`` (train, val). Complete outputs are skipped, so
    running it again after an interruption finishes the job with identical bytes.
    """
    root = _root(root)
    wanted = _splits(splits)
    if link not in LINK_MODES:
        raise VpsError(f"--link {link}", f"unknown (expected one of {', '.join(LINK_MODES)})")
    labelled = [s for s in wanted if s in LABELLED_SPLITS]
    img_src = _source(images, open_images)
    gt_src = _source(gtfine, open_gtfine) if labelled else None
    summary = PrepareSummary(root)
    if release is not None:
        rel_src = _source(release, open_release)
        root.mkdir(parents=True, exist_ok=True)
        summary.reports.append(unpack_release(root, rel_src, jobs=jobs, progress=progress))
    elif not root.is_dir():
        raise VpsError(root, "no such folder (give --release to unpack the release into it)")
    for split in wanted:
        summary.reports.append(fetch(root, img_src, split, jobs=jobs, link=link, progress=progress))
    for split in labelled:
        summary.reports.append(merge(root, gt_src, split, jobs=jobs, progress=progress))
    known: dict[str, dict[str, list[int]]] = {}
    for split in labelled:
        rep = panoptic(root, split, jobs=jobs, progress=progress)
        known[split], rep.values = rep.values, {}
        summary.reports.append(rep)
    for split in labelled:
        summary.reports.append(video(root, split, jobs=jobs, progress=progress,
                                     known_values=known[split]))
    return summary
