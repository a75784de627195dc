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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..categories import CATEGORY_BY_ID, categories_json, pack_color
from ..coco_instances import check_shipped, instance_annotations
from ..errors import VpsError
from ..jsonfields import check_gt_json, read_json, segment_records
from ..locking import holding_lock
from ..naming import (
    ANNOTATED_PER_VIDEO,
    FRAMES_PER_SNIPPET,
    LABELLED_SPLITS,
    SPLITS,
    FrameKey,
    im_all_info_json,
    panoptic_gt_json,
    panoptic_im_json,
    parse_splits,
    safe_relpath,
)
from ..parallel import map_videos
from ..pngio import check_png_pixels, decode_png, png_header, png_limit, read_file, rgb2id
from ..preparation.common import (
    AnnotatedFrame,
    RawFrame,
    annotated_frames,
    files_by_image_id,
    group_by_video,
    raw_frames,
)
from ..preparation.panoptic import decode_cls, decode_inst, panoptic_from_labels
from ..preparation.video import COLOR_SPREAD, FORBIDDEN_IDS, category_of_value
from ..profiles import detect_benchmark

T = TypeVar("T")

MAX_LISTED = 50
"""How many problems the command line lists before summarising the rest."""

COLUMNS = ("videos", "img", "img_all", "cls", "inst", "labelmap", "panoptic_inst",
           "panoptic_video", "segments", "problems")


@dataclass
class VerifyReport:
    """The result of :func:`verify`: ``ok``, the ``problems`` (one line each) and a summary table."""

    root: Path
    problems: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    columns: tuple[str, ...] = COLUMNS
    """The columns of :attr:`table` (the benchmark's)."""

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def table(self) -> str:
        """Counts per split as a text table (``-`` where a folder does not apply)."""
        head = f"{'split':<6}" + "".join(f" {c:>{max(7, len(c))}}" for c in self.columns)
        rows = [head, "-" * len(head)]
        for split, counts in self.counts.items():
            rows.append(f"{split:<6}" + "".join(
                f" {counts.get(c, '-'):>{max(7, len(c))}}" for c in self.columns))
        return "\n".join(rows)

    def __str__(self) -> str:
        lines = [self.table]
        lines += self.problems[:MAX_LISTED]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"… and {len(self.problems) - MAX_LISTED} more problems")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Unit:
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
class _Result:
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


def _count(res: _Result, key: str) -> None:
    res.counts[key] = res.counts.get(key, 0) + 1


def _sized(path: Path, res: _Result, key: str, want: tuple[int | None, int | None]) -> tuple[int, int] | None:
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
                  res: _Result) -> None:
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


def _check_against_pan(pan_path: Path, id_map: np.ndarray, path: Path, res: _Result) -> None:
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
                      size: tuple[int | None, int | None], res: _Result) -> None:
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


def _check_unit(root: Path, unit: _Unit) -> _Result:
    res = _Result()
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


def _check_unit_worker(root: Path, unit: _Unit) -> _Result:
    return _check_unit(root, unit)


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


def _plan_split(root: Path, split: str, problems: list[str], counts: dict[str, int]) -> list[_Unit]:
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
        units.append(_Unit(split, video, tuple(group), raw_frames_of, labels, unit_anns))
    counts["img"] = 0
    return units


def _finish_split(root: Path, split: str, units: list[_Unit], results: list[_Result],
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


@holding_lock(shared=True)
def verify(root: str | os.PathLike, splits: str | Sequence[str] = SPLITS, *, jobs: int | None = None,
           progress: bool | None = None, benchmark: str | None = None,
           download: str | os.PathLike | None = None) -> VerifyReport:
    """Check the prepared splits of ``root``; return a report (``.ok``, ``.problems``, ``.table``).

    Holds ROOT's lock shared: it refuses (``VpsError``) to check a folder a run is preparing,
    and a run started meanwhile refuses to change it. ``benchmark`` (None: found from ``root``,
    see :func:`vpskit.profiles.detect_benchmark`): a KITTI-STEP folder or zip is checked by
    :func:`vpskit.verification_kitti.verify_category_instance`, a VIPSeg folder by
    :func:`vpskit.verification.vipseg.verify_vipseg` (``download``: the VIPSeg download to
    compare with; only for VIPSeg).
    """
    root = Path(root)
    profile = detect_benchmark(root, benchmark).require("verify")
    if not root.is_dir() and not (root.is_file() and profile.layout == "category-instance"):  # a KITTI-STEP zip
        raise VpsError(root, "no such folder")
    if profile.name == "vipseg":
        from .vipseg import verify_vipseg

        return verify_vipseg(root, splits, download=download, jobs=jobs, progress=progress)
    if download is not None:
        raise VpsError("--download", f"only for VIPSeg (this is {profile.title})")
    if profile.layout == "category-instance":
        from ..verification_kitti import verify_category_instance

        return verify_category_instance(root, profile, splits, jobs=jobs, progress=progress)
    order = parse_splits(splits)
    report = VerifyReport(root)
    problems: dict[str, list[str]] = {s: [] for s in order}
    units: dict[str, list[_Unit]] = {}
    for split in order:
        report.counts[split] = {"problems": 0}
        units[split] = _plan_split(root, split, problems[split], report.counts[split])
    flat = [u for split in order for u in units[split]]
    results = map_videos(_check_unit_worker, flat, context=root, jobs=jobs,
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


