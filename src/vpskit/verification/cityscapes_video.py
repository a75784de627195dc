"""The per-video checks of ``vpskit verify`` on a prepared Cityscapes-VPS folder, run on the pool
by :mod:`vpskit.verification.cityscapes`: every file of a video's frames whole and of its size,
``labelmap`` and ``panoptic_inst`` as stage 3 makes them from ``cls`` and ``inst``, and
``panoptic_video`` against its JSON annotation and ``panoptic_inst``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..categories import CATEGORY_BY_ID, pack_color
from ..coco_instances import instance_annotations
from ..errors import VpsError
from ..jsonfields import segment_records
from ..naming import (
    ANNOTATED_PER_VIDEO,
    FRAMES_PER_SNIPPET,
    im_all_info_json,
    panoptic_gt_json,
    panoptic_im_json,
    safe_relpath,
)
from ..pngio import check_png_pixels, decode_png, png_header, png_limit, read_file, rgb2id
from ..preparation.common import AnnotatedFrame, RawFrame
from ..preparation.panoptic import decode_cls, decode_inst, panoptic_from_labels
from ..preparation.video import COLOR_SPREAD, FORBIDDEN_IDS, category_of_value


@dataclass(frozen=True)
class VideoUnit:
    """One video to check: its split, number, annotated frames and what the JSON files give for them."""

    split: str
    video: int
    frames: tuple[AnnotatedFrame, ...]
    raw: tuple[RawFrame, ...] | None
    """Frames ``im_all_info`` lists in this video; None when that JSON is unreadable (reported once)."""
    labels: tuple[tuple[str | None, str | None], ...]
    """(cls name, inst name) per frame; empty for an unlabelled split."""
    anns: tuple[dict | None, ...]
    """(annotation record of the GT JSON or None) per frame; empty when not checked."""


@dataclass
class VideoResult:
    """What :func:`check_video` found: files counted per folder, problems, thing segments, instances."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    things: dict[int, int] = field(default_factory=dict)
    """Thing segment id -> category, over the video."""
    instances: dict[str, tuple[tuple[int, int], list[dict]]] = field(default_factory=dict)
    """Image id -> (size, COCO instance annotations made from its cls/inst labels)."""


def _size_problem(path: Path, size: tuple[int, int], want: tuple[int | None, int | None]) -> str | None:
    w, h = want
    if (w is not None and w != size[0]) or (h is not None and h != size[1]):
        return f"{path}: image is {size[0]}x{size[1]}, expected {w}x{h}"
    return None


def _count(res: VideoResult, key: str) -> None:
    res.counts[key] = res.counts.get(key, 0) + 1


def _sized(path: Path, res: VideoResult, key: str, want: tuple[int | None, int | None]) -> tuple[int, int] | None:
    """Check that a PNG is a regular file of the size ``want`` whose bytes are whole down to
    the pixel data (:func:`vpskit.pngio.check_png_pixels`), and count it under ``key``.

    Returns its size (also when that is not ``want``: a problem, recorded), or None when it
    cannot be read or is damaged (recorded).
    """
    try:
        data = read_file(path, "missing", png_limit(*want))
        header = png_header(data, path)
        size = (header.width, header.height)
        problem = _size_problem(path, size, want)
        if problem is None:
            check_png_pixels(data, path)
    except VpsError as exc:
        res.problems.append(str(exc))
        return None
    if problem is not None:
        res.problems.append(problem)
        return size
    _count(res, key)
    return size


def _check_stage3(folder: Path, image_id: str, cls_name: str, inst_name: str, size: tuple[int, int],
                  res: VideoResult) -> None:
    """``labelmap`` and ``panoptic_inst`` must be what stage 3 makes of the frame's ``cls`` and
    ``inst`` (all four of ``size``, width and height); keeps the instance annotations they give."""
    limit = png_limit(*size)
    try:
        cls = decode_cls(read_file(folder / "cls" / cls_name, limit=limit), folder / "cls" / cls_name, size)
        inst = decode_inst(read_file(folder / "inst" / inst_name, limit=limit), folder / "inst" / inst_name, size)
        res.instances[image_id] = (size, instance_annotations(cls, inst))
        want = dict(zip(("labelmap", "panoptic_inst"), panoptic_from_labels(cls, inst), strict=True))
        for kind, expected in want.items():
            path = folder / kind / cls_name
            got = decode_png(read_file(path, limit=limit), path, size)
            if got.shape != expected.shape:
                res.problems.append(f"{path}: not a single-channel image")
                continue
            wrong = int(np.count_nonzero(got.astype(np.int64) != expected))
            if wrong:
                res.problems.append(f"{path}: {wrong} pixels differ from what stage 3 makes of "
                                    f"cls/{cls_name} and inst/{inst_name}")
    except (OSError, ValueError, VpsError) as exc:
        res.problems.append(str(exc) if isinstance(exc, VpsError) else f"{folder}: {cls_name}: {exc}")


def _check_against_pan(pan_path: Path, id_map: np.ndarray, path: Path, res: VideoResult) -> None:
    """Each ``panoptic_inst`` value must have one colour in ``panoptic_video`` and vice versa."""
    size = (id_map.shape[1], id_map.shape[0])
    try:
        pan = decode_png(read_file(pan_path, limit=png_limit(*size)), pan_path, size)
    except VpsError:
        return  # reported with the panoptic_inst checks
    if pan.shape != id_map.shape:
        return
    pairs = np.unique((pan.astype(np.uint64).ravel() << np.uint64(24)) | id_map.ravel().astype(np.uint64))
    values, ids = (pairs >> np.uint64(24)).astype(np.int64), (pairs & np.uint64(0xFFFFFF)).astype(np.int64)
    void = np.array([category_of_value(int(v)) == 255 for v in values], dtype=bool)
    if (ids[void] != 0).any() or (ids[~void] == 0).any():
        res.problems.append(f"{path}: void and segments do not match {pan_path.name} of panoptic_inst")
    seg_values, seg_ids = values[~void], ids[~void]
    if np.unique(seg_values).size != seg_values.size or np.unique(seg_ids).size != seg_ids.size:
        res.problems.append(f"{path}: segments are not one colour per panoptic_inst value")


def _check_annotation(root: Path, split: str, video: int, frame: AnnotatedFrame, ann: dict,
                      size: tuple[int | None, int | None], res: VideoResult) -> None:
    where = f"{root / panoptic_gt_json(split)}: annotation of {frame.image_id}"
    try:
        name = safe_relpath(ann["file_name"], where)
    except VpsError as exc:
        res.problems.append(str(exc))
        return
    path = root / split / "panoptic_video" / name
    try:
        data = read_file(path, "missing", png_limit(*size))
        header = png_header(data, path)
        problem = _size_problem(path, (header.width, header.height), size)
        if problem is not None:
            res.problems.append(problem)
            return
        check_png_pixels(data, path)
        arr = decode_png(data, path)
    except VpsError as exc:
        res.problems.append(str(exc))
        return
    if arr.ndim != 3 or arr.shape[2] != 3:
        res.problems.append(f"{path}: not an RGB image")
        return
    h, w = arr.shape[:2]
    if (size[0] is not None and size[0] != w) or (size[1] is not None and size[1] != h):
        res.problems.append(f"{path}: image is {w}x{h}, expected {size[0]}x{size[1]}")
        return
    _count(res, "panoptic_video")
    id_map = rgb2id(arr)
    _check_against_pan(root / split / "panoptic_inst" / name, id_map, path, res)
    ids, areas = np.unique(id_map, return_counts=True)
    in_png = {int(i): int(a) for i, a in zip(ids.tolist(), areas.tolist(), strict=True) if i != 0}
    seen: set[int] = set()
    for seg in segment_records(ann["segments_info"], where, gt=True):
        sid, cat = seg.id, seg.category_id
        seen.add(sid)
        _count(res, "segments")
        if seg.iscrowd is None or seg.area is None:
            res.problems.append(f"{where}: segment {sid} lacks 'iscrowd' or 'area'")
            continue
        if cat not in CATEGORY_BY_ID:
            res.problems.append(f"{where}: segment {sid} has unknown category {cat}")
            continue
        if sid not in in_png:
            res.problems.append(f"{path}: segment {sid} of the JSON is not in the image")
        elif in_png[sid] != seg.area:
            res.problems.append(f"{path}: segment {sid} covers {in_png[sid]} pixels, the JSON says {seg.area}")
        category = CATEGORY_BY_ID[cat]
        base = category.color
        rgb = (sid & 0xFF, (sid >> 8) & 0xFF, (sid >> 16) & 0xFF)
        if category.isthing:
            if sid in FORBIDDEN_IDS or any(abs(a - b) > COLOR_SPREAD for a, b in zip(rgb, base, strict=True)):
                res.problems.append(f"{where}: thing segment {sid} colour {rgb} is not near "
                                    f"'{category.name}' {base}")
            prev = res.things.setdefault(sid, cat)
            if prev != cat:
                res.problems.append(f"{where}: segment {sid} changes category ({prev} -> {cat}) in video {video}")
        else:
            if sid != pack_color(base):
                res.problems.append(f"{where}: stuff segment {sid} is not the '{category.name}' colour {base}")
            if seg.iscrowd:
                res.problems.append(f"{where}: stuff segment {sid} is marked iscrowd")
    for sid in sorted(set(in_png) - seen):
        res.problems.append(f"{path}: segment {sid} is in the image but not in the JSON")


def check_video(root: Path, unit: VideoUnit) -> VideoResult:
    """Check every file of one video of the prepared folder ``root``."""
    res = VideoResult()
    split = unit.split
    if len(unit.frames) != ANNOTATED_PER_VIDEO:
        res.problems.append(f"{root / panoptic_im_json(split)}: video {unit.video} has "
                            f"{len(unit.frames)} annotated frames, expected {ANNOTATED_PER_VIDEO}")
    for i, f in enumerate(unit.frames):
        want = (f.width, f.height)
        size = _sized(root / split / "img" / f.file_name, res, "img", want)
        want = size if size is not None else want
        if unit.labels:
            cls_name, inst_name = unit.labels[i]
            before = len(res.problems)
            cls_size = None
            if cls_name is None:
                res.problems.append(f"{root / split / 'cls'}: no label for image {f.image_id}")
            else:
                cls_size = _sized(root / split / "cls" / cls_name, res, "cls", want)
                _sized(root / split / "labelmap" / cls_name, res, "labelmap", want)
                _sized(root / split / "panoptic_inst" / cls_name, res, "panoptic_inst", want)
            if inst_name is None:
                res.problems.append(f"{root / split / 'inst'}: no label for image {f.image_id}")
            else:
                _sized(root / split / "inst" / inst_name, res, "inst", want)
            if len(res.problems) == before:
                assert cls_name is not None and inst_name is not None and cls_size is not None
                _check_stage3(root / split, f.image_id, cls_name, inst_name, cls_size, res)
        if unit.anns:
            ann = unit.anns[i]
            if ann is not None:
                _check_annotation(root, split, unit.video, f, ann, want, res)
    if unit.raw is not None and split in ("val", "test") and unit.video and len(unit.raw) != FRAMES_PER_SNIPPET:
        res.problems.append(f"{root / im_all_info_json(split)}: video {unit.video} has "
                            f"{len(unit.raw)} frames, expected {FRAMES_PER_SNIPPET}")
    for r in unit.raw or ():
        _sized(root / split / "img_all" / r.file_name, res, "img_all", (r.width, r.height))
    return res
