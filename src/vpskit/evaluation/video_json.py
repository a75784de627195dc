"""Evaluation of a benchmark whose JSON groups frames by video (VIPSeg).

Ground truth: ``ROOT/{profile.gt_json}`` (``panoptic_gt_VIPSeg_{split}.json``) with
``videos: [{video_id, images: [{file_name}, …]}]``, ``annotations: [{video_id, annotations:
[{segments_info}, …]}]`` (one per image, in the same order) and ``categories``; the segment-id PNGs
are ``ROOT/{profile.gt_png_dir}/{video}/{file_name}``. A prediction is ``PRED/pred.json`` with
``annotations: [{video_id, annotations: [{segments_info}, …]}]`` and
``PRED/pan_pred/{video}/{file_name}`` (the ground truth's file names), as DVIS and the VIPSeg
scripts write it; frames are matched by position within a video, as ``eval_vpq_vspw.py`` and
``eval_stq_vspw.py`` match them. Each frame is decoded once and reduced to the
:class:`~vpskit.evaluation.tables.FrameTable` every metric is built from, as for Cityscapes-VPS.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import VpsError
from ..jsonfields import check_categories, need_list, need_object, read_json, str_field
from ..naming import safe_relpath
from ..profiles import Profile
from ..sources import Source
from ..text import plural
from .loading import GroundTruth, GtFrame, PredFrame, PredictionSource
from .metrics import STQAccumulator, VPQAccumulator
from .metrics.categories import CategorySet
from .notices import warn_short_windows
from .tables import Segments

STQ_CROWD_RULES = {"from-0": "first-listed", "from-1": "none"}
"""STQ ground-truth numbering (the profile's ``stq_gt_instances``) -> crowd rule of
:func:`~vpskit.evaluation.tables.crowd_for_stq`."""


def _video_name(value: object, where: str) -> str:
    name = safe_relpath(value, where)
    if "/" in name:
        raise VpsError(where, f"video_id {value!r} is not a folder name")
    return name


def open_video_ground_truth(root: str | os.PathLike | None, split: str, profile: Profile) -> GroundTruth:
    """The ground truth of ``split`` in a prepared ``root`` folder (see the module docstring);
    every field read is checked (``VpsError`` naming the file and the field)."""
    if root is None:
        raise VpsError("ground truth", f"give --root, the prepared {profile.title} folder")
    root = Path(root)
    if not root.is_dir():
        raise VpsError(root, f"not a folder (the prepared {profile.title} folder holding {profile.gt_png_dir}/)")
    json_path = root / profile.gt_json.format(split=split)
    if not json_path.is_file():
        raise VpsError(json_path, f"not found: no ground truth of split {split!r} (prepare writes it for the "
                       "splits with labels)")
    png_dir = root / profile.gt_png_dir
    if not png_dir.is_dir():
        raise VpsError(png_dir, "ground-truth PNG folder not found")
    where = str(json_path)
    doc = need_object(read_json(json_path), where, "the file")
    cats = need_list(doc, "categories", where)
    assert cats is not None
    if not cats:
        raise VpsError(where, "'categories' is empty")
    check_categories(cats, where)
    categories = CategorySet.from_json(cats)
    annotations: dict[str, list] = {}
    for pos, ann in enumerate(need_list(doc, "annotations", where) or []):
        at = f"{where}: annotations[{pos}]"
        ann = need_object(ann, where, f"annotations[{pos}]")
        video = _video_name(str_field(ann, "video_id", at), at)
        if video in annotations:
            raise VpsError(at, f"a second entry for video {video}")
        annotations[video] = need_list(ann, "annotations", f"{where}: video {video}") or []
    gt = GroundTruth(where, Source(png_dir, profile.gt_png_dir, prefix=""), categories, cats)
    for pos, entry in enumerate(need_list(doc, "videos", where) or []):
        at = f"{where}: videos[{pos}]"
        entry = need_object(entry, where, f"videos[{pos}]")
        video = _video_name(str_field(entry, "video_id", at), at)
        at = f"{where}: video {video}"
        if video in gt.videos:
            raise VpsError(at, "listed twice in 'videos'")
        images = need_list(entry, "images", at) or []
        if video not in annotations:
            raise VpsError(at, "has no entry in 'annotations'")
        anns = annotations[video]
        if len(anns) != len(images):
            raise VpsError(at, f"{plural(len(images), 'image')} but {plural(len(anns), 'annotation')}")
        frames = []
        for i, (image, ann) in enumerate(zip(images, anns, strict=True)):
            image = need_object(image, at, f"images[{i}]")
            name = safe_relpath(str_field(image, "file_name", f"{at}: images[{i}]"), f"{at}: images[{i}]")
            ann = need_object(ann, at, f"annotations[{i}]")
            frame_at = f"{at}: {name}"
            if "segments_info" not in ann:
                raise VpsError(frame_at, "no 'segments_info' list")
            segs = Segments.from_records(ann["segments_info"], frame_at, with_crowd=True)
            unknown = categories.positions(segs.category) < 0
            if unknown.any():
                k = int(unknown.argmax())
                raise VpsError(frame_at, f"segment id {int(segs.ids[k])} has unknown category_id {int(segs.category[k])}")
            frames.append(GtFrame(f"{video}/{name}", video, f"{video}/{name}", segs))
        if frames:
            gt.videos[video] = frames
    if not gt.videos:
        raise VpsError(where, "no annotated frames")
    return gt


def select_named_videos(gt: GroundTruth, videos: Iterable[str | int | range] | str | int | None) -> list[str]:
    """The videos to score, sorted: names, numbers (the number a name starts with, as in
    ``127_-hIVCYO4C90``) or ranges of numbers; None: all."""
    names = sorted(gt.videos)
    if videos is None:
        return names
    wanted = [videos] if isinstance(videos, (str, int, range)) else list(videos)
    if not wanted:
        raise VpsError("--videos", "no video given")

    def number(name: str) -> int | None:
        head = name.split("_", 1)[0]
        return int(head) if head.isdigit() else None

    keep: set[str] = set()
    for item in wanted:
        if isinstance(item, str) and item in gt.videos:
            found = [item]
        else:
            try:
                inside = item if isinstance(item, range) else range(int(item), int(item) + 1)
            except ValueError:
                inside = range(0)
            found = [v for v in names if number(v) is not None and number(v) in inside]
        if not found:
            shown = (f"{item.start}-{item.stop - 1}" if isinstance(item, range) else str(item))
            raise VpsError("--videos", f"no video {shown} in the ground truth ({plural(len(names), 'video')}: "
                           f"{', '.join(names[:4])}{', …' if len(names) > 4 else ''})")
        keep.update(found)
    return [v for v in names if v in keep]


def match_video_predictions(gt: GroundTruth, doc: object, where: str, names: list[str]) -> dict[str, PredFrame]:
    """The prediction of every frame of videos ``names`` (by image id), from a parsed ``pred.json``
    (``where`` names it): per video, its frame annotations in the ground truth's frame order."""
    doc = need_object(doc, where, "the file")
    by_video: dict[str, list] = {}
    for pos, ann in enumerate(need_list(doc, "annotations", where) or []):
        at = f"{where}: annotations[{pos}]"
        ann = need_object(ann, where, f"annotations[{pos}]")
        video = str_field(ann, "video_id", at)
        assert video is not None
        if video in by_video:
            raise VpsError(at, f"a second entry for video {video}")
        by_video[video] = need_list(ann, "annotations", f"{where}: video {video}") or []
    out: dict[str, PredFrame] = {}
    for video in names:
        frames = gt.videos[video]
        if video not in by_video:
            raise VpsError(where, f"missing video: no entry with video_id {video!r} in 'annotations'")
        anns = by_video[video]
        if len(anns) != len(frames):
            raise VpsError(f"{where}: video {video}", f"{plural(len(anns), 'frame annotation')}, but the ground "
                           f"truth has {plural(len(frames), 'frame')} (frames are matched by position)")
        for i, (frame, ann) in enumerate(zip(frames, anns, strict=True)):
            name = PurePosixPath(frame.file_name).name
            ann = need_object(ann, f"{where}: video {video}", f"annotations[{i}]")
            if not isinstance(ann.get("segments_info"), list):
                raise VpsError(f"{where}: video {video} annotations[{i}] ({name})", "no 'segments_info' list")
            out[frame.image_id] = PredFrame(ann["segments_info"], frame.file_name,
                                            f"video {video} annotations[{i}] ({name})")
    return out


def evaluate_video_json(profile: Profile, pred: str | os.PathLike, *, root: str | os.PathLike | None, split: str,
                        out: str | os.PathLike | None, metrics: tuple[str, ...], jobs: int | None,
                        progress: bool | None, videos: Iterable[str | int | range] | None, stq_void: str,
                        replace: bool, stq_gt_instances: str | None) -> dict:
    """:func:`vpskit.evaluation.evaluate` of a benchmark whose JSON groups frames by video (VIPSeg).

    VPQ over the profile's windows (``profile.vpq_window_frames`` consecutive frames, named
    ``profile.vpq_spans``), STQ with the ground-truth numbering ``stq_gt_instances`` (a key of
    ``profile.stq_gt_instances``: ``"from-0"`` as ``eval_stq_vspw.py``, where the segment a video
    lists first is a crowd region if it is a thing; ``"from-1"``: no crowd region). Returns the
    results as :func:`~vpskit.evaluation.evaluate` does, ``videos`` keyed by name.
    """
    from . import results_of
    from .report import check_reports_folder, write_reports

    profile, gt, names, head = video_json_head(profile, pred, root=root, split=split, metrics=metrics,
                                               videos=videos, stq_void=stq_void, stq_gt_instances=stq_gt_instances)
    if out is not None:
        check_reports_folder(Path(out), head, replace)
    vpq, stq = video_json_accumulators(profile, gt, names, pred, metrics=metrics, stq_void=stq_void, jobs=jobs,
                                       progress=progress, stq_gt_instances=stq_gt_instances)
    results = head | results_of(vpq, stq)
    if out is not None:
        write_reports(results, Path(out), vpq.categories if vpq is not None else None)
    return results


def video_json_head(profile: Profile, pred: str | os.PathLike, *, root: str | os.PathLike | None, split: str,
                    metrics: tuple[str, ...], videos: Iterable[str | int | range] | None, stq_void: str,
                    stq_gt_instances: str | None) -> tuple[Profile, GroundTruth, list[str], dict]:
    """What :func:`evaluate_video_json` scores: the profile with its STQ numbering stated, the
    ground truth, the videos and the head of ``results.json``."""
    from . import _check_stq_void, results_head

    _check_stq_void(stq_void)
    if stq_gt_instances is not None:
        profile = dataclasses.replace(profile, extra_conventions=profile.extra_conventions | {
            "gt_instances": stq_gt_instances, "gt_instances_meaning": profile.stq_gt_instances[stq_gt_instances]})
    gt = open_video_ground_truth(root, split, profile)
    names = select_named_videos(gt, videos)
    ground_truth = {"json": gt.json_where, "json_absolute": os.path.abspath(gt.json_where),
                    "png_folder": os.path.abspath(os.path.join(os.fspath(root), profile.gt_png_dir))}
    head = results_head(profile, ground_truth, names, sum(len(gt.videos[v]) for v in names), pred, split,
                        metrics, stq_void)
    return profile, gt, names, head


def video_json_accumulators(profile: Profile, gt: GroundTruth, names: list[str], pred: str | os.PathLike, *,
                            metrics: tuple[str, ...], stq_void: str, jobs: int | None, progress: bool | None,
                            stq_gt_instances: str | None, tracks: bool = False
                            ) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    """The accumulators of videos ``names`` of a prediction (see :func:`evaluate_video_json`);
    ``tracks``: each video's VPQ state also records every GT track's matches per span."""
    from . import VideoContext, video_accumulators

    source = PredictionSource(pred)
    try:
        preds = match_video_predictions(gt, source.read_json(checked=False), source.describe(), names)
        ctx = VideoContext(gt, source, metrics, tracks=tracks, spans=profile.vpq_spans,
                           window_frames=profile.vpq_window_frames,
                           stq_crowd=STQ_CROWD_RULES.get(stq_gt_instances or "", "iscrowd"), rgb_only=True)
        states = video_accumulators(preds, names, ctx, stq_void, jobs, progress)
    finally:
        source.close()
    if "vpq" in metrics:
        warn_short_windows(profile.vpq_window_frames, profile.vpq_spans, (len(gt.videos[v]) for v in names))
    return states
