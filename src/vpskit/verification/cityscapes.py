"""Check a prepared Cityscapes-VPS folder against what the procedure promises (SPEC §2).

Per split: 6 annotated frames per video in ``img/``, all 30 in ``img_all/`` (val, test); for
train and val the ``cls``/``inst`` pair, ``labelmap``, ``panoptic_inst`` and ``panoptic_video``
of every annotated frame; every JSON ``file_name`` present, a regular file, a PNG whose bytes
are whole down to the pixel data (:func:`vpskit.pngio.check_png_pixels`, for every PNG counted
in the summary; labels are decoded too), of the size its JSON gives; ``panoptic_video``
against ``panoptic_gt_{split}_city_vps.json`` (ids, areas,
categories, colours) and against ``panoptic_inst`` (one colour per value, void black); thing
colours unique within the split; the release's ``instances_{split}_city_vps_rle.json``, when
present, against the instance annotations the ``cls``/``inst`` labels give
(:func:`vpskit.coco_instances.compare`: objects, ``inst_id``, categories, masks).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ..categories import categories_json
from ..coco_instances import check_shipped
from ..errors import VpsError
from ..jsonfields import check_gt_json, read_json
from ..naming import (
    FRAMES_PER_SNIPPET,
    LABELLED_SPLITS,
    FrameKey,
    im_all_info_json,
    panoptic_gt_json,
    panoptic_im_json,
    parse_splits,
)
from ..parallel import map_videos
from ..preparation.common import (
    AnnotatedFrame,
    RawFrame,
    annotated_frames,
    files_by_image_id,
    group_by_video,
    raw_frames,
)
from .cityscapes_video import VideoResult, VideoUnit, check_video
from .report import VerifyReport

T = TypeVar("T")


def _load(problems: list[str], fn: Callable[[Path], T], path: Path) -> T | None:
    try:
        return fn(path)
    except VpsError as exc:
        problems.append(str(exc))
        return None


def _category_problem(records: list) -> str | None:
    """How ``records`` differ from the category table in what the data depends on (ids in order,
    isthing, colour), or None. Names and further keys are free: the original preparation
    scripts write extra keys and spell category 8 "vegitation"."""
    table = categories_json()
    if len(records) != len(table):
        return f"has {len(records)} records, expected the {len(table)} Cityscapes-VPS categories"
    for pos, (got, want) in enumerate(zip(records, table, strict=True)):
        if not isinstance(got, dict) or any(got.get(k) != want[k] for k in ("id", "isthing", "color")):
            return (f"[{pos}] is not category {want['id']} '{want['name']}' "
                    f"(isthing {want['isthing']}, color {want['color']}): {got!r}")
    return None


def _gt_annotations(root: Path, split: str, frames: list[AnnotatedFrame],
                    problems: list[str]) -> dict[str, dict] | None:
    path = root / panoptic_gt_json(split)
    doc = _load(problems, lambda p: check_gt_json(read_json(p), str(p)), path)
    if doc is None:
        return None
    if not isinstance(doc.get("images"), list):
        problems.append(f"{path}: no 'images' list")
        return None
    bad = _category_problem(doc["categories"])
    if bad is not None:
        problems.append(f"{path}: 'categories' {bad}")
    expected = [(f.image_id, f.file_name) for f in frames]
    images = [(im["id"], im["file_name"]) for im in doc["images"]]
    if images != expected:
        problems.append(f"{path}: 'images' does not list the annotated frames of "
                        f"{panoptic_im_json(split)} in image-id order")
    anns: dict[str, dict] = {}
    order = []
    for ann in doc["annotations"]:
        order.append(ann["image_id"])
        anns[ann["image_id"]] = ann
    if order != [f.image_id for f in frames]:
        problems.append(f"{path}: 'annotations' are not the annotated frames in image-id order")
    for f in frames:
        if f.image_id not in anns:
            problems.append(f"{path}: no annotation for image {f.image_id}")
    return anns


def _extra_files(folder: Path, expected: set[str], problems: list[str]) -> None:
    try:
        names = {n for n in os.listdir(folder) if not n.startswith(".")}
    except FileNotFoundError:
        return
    extra = sorted(names - expected)
    if extra:
        problems.append(f"{folder}: {len(extra)} file(s) not listed in the JSON (first: {extra[0]})")


def _plan_split(root: Path, split: str, problems: list[str], counts: dict[str, int]) -> list[VideoUnit]:
    """Check a split's JSON files and folders; return the per-video units left to check."""
    frames = _load(problems, annotated_frames, root / panoptic_im_json(split))
    if frames is None:
        return []
    groups = group_by_video(frames)
    counts["videos"] = len(groups)
    raw_by_video: dict[int, list[RawFrame]] = {}
    unlisted = False  # im_all_info unreadable: img_all is not checked against it
    if split in ("val", "test"):
        raw = _load(problems, raw_frames, root / im_all_info_json(split))
        unlisted = raw is None
        raw = raw or []
        owner: dict[FrameKey, int] = {}
        for video, group in groups.items():
            for f in group:
                first = f.iid.first_frame
                for n in range(first, first + FRAMES_PER_SNIPPET):
                    owner.setdefault(FrameKey(f.iid.city, f.iid.seq, n), video)
        for r in raw:
            found = owner.get(r.key)
            if found is None:
                problems.append(f"{root / im_all_info_json(split)}: frame {r.file_name} belongs to no video")
                found = 0
            raw_by_video.setdefault(found, []).append(r)
        if not unlisted:
            _extra_files(root / split / "img_all", {r.file_name for r in raw}, problems)
        counts["img_all"] = 0
    _extra_files(root / split / "img", {f.file_name for f in frames}, problems)
    labelled = split in LABELLED_SPLITS
    anns: dict[str, dict] | None = None
    cls_files = inst_files = {}
    if labelled:
        cls_files = files_by_image_id(root / split / "cls")
        inst_files = files_by_image_id(root / split / "inst")
        anns = _gt_annotations(root, split, frames, problems)
        for key in ("cls", "inst", "labelmap", "panoptic_inst", "panoptic_video", "segments"):
            counts[key] = 0

    def one(files: dict, f: AnnotatedFrame, folder: str) -> str | None:
        found = files.get(f.iid, [])
        if len(found) > 1:
            problems.append(f"{root / split / folder}: several labels for image {f.iid}: {', '.join(found)}")
        return found[0] if found else None

    units = []
    for video in sorted(set(groups) | set(raw_by_video)):
        group = groups.get(video, [])
        labels = tuple((one(cls_files, f, "cls"), one(inst_files, f, "inst")) for f in group) if labelled else ()
        unit_anns = tuple(anns.get(f.image_id) for f in group) if anns is not None else ()
        raw_frames_of = None if unlisted else tuple(raw_by_video.get(video, []))
        units.append(VideoUnit(split, video, tuple(group), raw_frames_of, labels, unit_anns))
    counts["img"] = 0
    return units


def _finish_split(root: Path, split: str, units: list[VideoUnit], results: list[VideoResult],
                  problems: list[str], counts: dict[str, int]) -> None:
    """Add the per-video results of a split to its problems and counts; check thing colours."""
    owners: dict[int, int] = {}
    for unit, res in zip(units, results, strict=True):
        problems.extend(res.problems)
        for key, n in res.counts.items():
            counts[key] = counts.get(key, 0) + n
        for sid in sorted(res.things):
            prev = owners.setdefault(sid, unit.video)
            if prev != unit.video:
                problems.append(f"{root / panoptic_gt_json(split)}: thing segment {sid} is used in "
                                f"videos {prev} and {unit.video} (colours must be unique in a split)")
    counts["problems"] = len(problems)


def verify_cityscapes_vps(root: Path, splits: str | Sequence[str], *, jobs: int | None = None,
                          progress: bool | None = None) -> VerifyReport:
    """Check the prepared Cityscapes-VPS splits of ``root`` (see the module docstring)."""
    order = parse_splits(splits)
    report = VerifyReport(root)
    problems: dict[str, list[str]] = {s: [] for s in order}
    units: dict[str, list[VideoUnit]] = {}
    for split in order:
        report.counts[split] = {"problems": 0}
        units[split] = _plan_split(root, split, problems[split], report.counts[split])
    flat = [u for split in order for u in units[split]]
    results = map_videos(check_video, flat, context=root, jobs=jobs,
                         desc="verify", progress=progress)
    i = 0
    for split in order:
        n = len(units[split])
        if split in LABELLED_SPLITS:
            made = {k: v for res in results[i:i + n] for k, v in res.instances.items()}
            problems[split].extend(check_shipped(root, split, [f for u in units[split] for f in u.frames], made))
        _finish_split(root, split, units[split], results[i:i + n], problems[split], report.counts[split])
        i += n
        report.problems.extend(problems[split])
    return report
