"""``vpskit export``: the ground truth of a prepared split in an outside format (see
:mod:`vpskit.formats`), the reverse of :func:`vpskit.conversion.convert`.

Per frame: stuff pixels get their category and the "no instance" value, each object (a thing
segment of the ground truth, one per track) an instance value numbered per video from 1 in the
order objects first appear (within a frame, by segment id), skipping the values that mean no
object; crowd regions are "no instance" of their thing category, and void pixels get the first
void value. ``coco-panoptic`` keeps the ground truth's segment ids, with a ``track_id`` on each
object's records, in ``panoptic_{split}.json`` + ``panoptic_{split}/{image_id}.png`` (the COCO
layout, for image-level training); the others write ``{image_id}{ending}`` files into OUT.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import formats, naming
from .categories import CATEGORY_BY_ID, IS_THING_LUT, NUM_CATEGORIES
from .coco_instances import export_instances
from .errors import VpsError
from .evaluation.loading import GroundTruth, GtFrame, open_ground_truth
from .formats.base import FormatOptions
from .formats.coco_panoptic import encode as coco_encode
from .formats.rules import DEFAULT_THING_ZERO, VOID, LabelRules
from .formats.tracks import Runs, find_sorted
from .parallel import map_videos
from .pngio import atomic_write_bytes, decode_ids, encode_png


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export` wrote."""

    out: Path
    videos: int
    frames: int
    files: int
    objects: int
    """Objects (tracks), over all videos."""


@dataclass(frozen=True)
class _Job:
    gt: GroundTruth
    fmt: str
    rules: LabelRules
    options: FormatOptions
    out: Path
    split: str


@dataclass
class _GtFrameMaps:
    """One ground-truth frame as runs: each run's segment position (-1 void) in ``order``."""

    ids: np.ndarray
    runs: Runs
    segment: np.ndarray
    order: np.ndarray
    """Positions of the frame's segments, sorted by id."""


def _frame_maps(gt: GroundTruth, frame: GtFrame) -> _GtFrameMaps:
    where = gt.describe(frame)
    ids = decode_ids(gt.read_png(frame), where)
    runs = Runs(ids)
    run_ids = runs.values(ids).astype(np.int64)
    order = np.argsort(frame.segments.ids, kind="stable")
    table = frame.segments.ids[order].astype(np.int64)
    clipped, found = find_sorted(table, run_ids)
    stray = ~found & (run_ids != 0)
    if stray.any():
        raise VpsError(where, f"segment id {int(run_ids[np.flatnonzero(stray)[0]])} is not in the "
                       f"ground-truth JSON ({gt.json_where})")
    cats = frame.segments.category[order]
    bad = (cats < 0) | (cats >= NUM_CATEGORIES)
    if bad.any():
        raise VpsError(gt.json_where, f"{frame.image_id}: category {int(cats[np.flatnonzero(bad)[0]])} "
                       "is not a Cityscapes-VPS category (0 … 18)")
    return _GtFrameMaps(ids, runs, np.where(found, clipped, -1), order)


class _Numbers:
    """Instance values of a video's objects, by ground-truth segment id, in order of appearance."""

    def __init__(self, rules: LabelRules) -> None:
        self.rules = rules
        self.of: dict[int, int] = {}
        self._last = 0

    def add(self, segment_ids: Iterable[int]) -> None:
        for sid in segment_ids:
            if sid not in self.of:
                self._last = self.of[sid] = self.rules.next_instance(self._last)


def _export_video(job: _Job, item: tuple[str, list[GtFrame]]) -> tuple[list[tuple[dict, dict]], int, int]:
    """Write one video's frames; (COCO image and annotation records, files written, objects)."""
    _, frames = item
    numbers = _Numbers(job.rules)
    records, files = [], 0
    for frame in frames:
        maps = _frame_maps(job.gt, frame)
        segs = frame.segments
        cats = segs.category[maps.order]
        ids = segs.ids[maps.order]
        objects = IS_THING_LUT[cats] & ~segs.crowd[maps.order]
        present = np.zeros(ids.size, dtype=bool)
        present[maps.segment[maps.segment >= 0]] = True
        numbers.add(ids[objects & present].tolist())
        inst = np.array([numbers.of.get(int(s), job.rules.no_instance) if o else job.rules.no_instance
                         for s, o in zip(ids, objects, strict=True)], dtype=np.int64)
        where = f"{job.gt.describe(frame)} ({frame.image_id})"
        if job.fmt == formats.COCO_PANOPTIC:
            records.append(_coco_frame(job, frame, maps, cats, ids, inst, objects))
            files += 1
            continue
        void = maps.segment < 0
        seg = np.where(void, 0, maps.segment)
        run_cat = np.where(void, VOID, cats[seg] if cats.size else VOID)
        run_inst = np.where(void, job.rules.no_instance, inst[seg] if inst.size else 0)
        category = maps.runs.paint(job.rules.codes(run_cat, where))
        instance = maps.runs.paint(run_inst)
        fmt = formats.MAPS[job.fmt]
        arrays = fmt.encode(category, instance, job.options, where)
        for role, endings in fmt.files:
            atomic_write_bytes(job.out / naming.export_file(frame.image_id, endings[0]), encode_png(arrays[role]))
            files += 1
    return records, files, len(numbers.of)


def _coco_frame(job: _Job, frame: GtFrame, maps: _GtFrameMaps, cats: np.ndarray, ids: np.ndarray,
                inst: np.ndarray, objects: np.ndarray) -> tuple[dict, dict]:
    """Write a frame's COCO panoptic PNG; its image and annotation records."""
    where = f"{job.gt.describe(frame)} ({frame.image_id})"
    name = naming.pan_pred_file(frame.image_id)
    atomic_write_bytes(job.out / naming.coco_panoptic_dir(job.split) / name, encode_png(coco_encode(maps.ids)))
    labelled = maps.segment >= 0
    area = np.bincount(maps.segment[labelled], weights=maps.runs.lengths[labelled],
                       minlength=ids.size).astype(np.int64)
    boxes = maps.runs.boxes(maps.segment, ids.size)
    codes = job.rules.codes(cats, where)
    crowd = IS_THING_LUT[cats] & ~objects
    info = []
    for i in np.flatnonzero(area > 0).tolist():
        rec = {"id": int(ids[i]), "category_id": int(codes[i]), "iscrowd": int(crowd[i]),
               "area": int(area[i]), "bbox": [int(v) for v in boxes[i]]}
        if objects[i]:
            rec["track_id"] = int(inst[i])
        info.append(rec)
    h, w = maps.runs.shape
    image = {"id": frame.image_id, "file_name": naming.image_file(naming.parse_image_id(frame.image_id)),
             "width": w, "height": h}
    return image, {"image_id": frame.image_id, "file_name": name, "segments_info": info}


def _coco_categories(rules: LabelRules) -> list[dict]:
    out = []
    for cat in range(NUM_CATEGORIES):
        value = rules.value_of(cat)
        if value is not None:
            out.append({**CATEGORY_BY_ID[cat].to_json(), "id": value})
    return sorted(out, key=lambda r: r["id"])


def _no_value_options(**given: bool) -> None:
    """Refuse the value options given (True) with a format they do not apply to."""
    names = [f"--{name.replace('_', '-')}" for name, on in given.items() if on]
    if names:
        raise VpsError(", ".join(names), f"does not apply to {formats.COCO_INSTANCES} (its values are "
                       "the release's: category ids and instance ids as the labels give them)")


def export(
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    split: str = "val",
    to_format: str,
    categories: str | os.PathLike | Mapping[int, int | None] = "trainid",
    void: int | Iterable[int] = (255,),
    no_instance: int = 0,
    thing_zero: str = DEFAULT_THING_ZERO,
    instance_channel: int = 1,
    divisor: int = 1000,
    jobs: int | None = None,
    progress: bool | None = None,
) -> ExportSummary:
    """Write the ground truth of ``split`` of a prepared ``root`` (folder or zip) in ``to_format``
    (one of :data:`vpskit.formats.NAMES`) into the folder ``out``.

    The value options mean what :func:`vpskit.convert`'s do, so that ``convert`` with the same
    options reads the files back into the ground truth's segments. A value a format cannot hold
    (e.g. more than 255 objects in a video for ``2ch``) raises ``VpsError`` naming the frame.

    ``coco-instances`` writes ``instances_{split}_city_vps_rle.json`` made from the split's
    ``cls`` and ``inst`` labels, as the release ships it (:mod:`vpskit.coco_instances`); the
    value options do not apply to it.
    """
    if to_format == formats.COCO_INSTANCES:
        _no_value_options(categories=categories != "trainid", void=tuple(np.atleast_1d(void)) != (255,),
                          no_instance=no_instance != 0, thing_zero=thing_zero != DEFAULT_THING_ZERO,
                          instance_channel=instance_channel != 1, divisor=divisor != 1000)
        done = export_instances(root, out, split=split, jobs=jobs, progress=progress)
        return ExportSummary(Path(out), done.videos, done.images, 1, done.objects)
    fmt_name = formats.check_name(to_format, "--to")
    rules = LabelRules.make(categories, void, no_instance, thing_zero)
    options = FormatOptions(instance_channel, divisor)
    gt = open_ground_truth(root, naming.check_split(split, labelled=True), None, None)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise VpsError(out, "exists and is not a folder")
    items = sorted(gt.videos.items())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VpsError(out, f"cannot write ({exc.strerror or exc})") from None
    job = _Job(gt, fmt_name, rules, options, out, split)
    categories_json = _coco_categories(rules) if fmt_name == formats.COCO_PANOPTIC else []
    results = map_videos(_export_video, items, context=job, jobs=jobs, desc="export", progress=progress)
    files = sum(n for _, n, _ in results)
    if fmt_name == formats.COCO_PANOPTIC:
        records = [r for recs, _, _ in results for r in recs]
        doc = {"images": [img for img, _ in records], "annotations": [ann for _, ann in records],
               "categories": categories_json}
        atomic_write_bytes(out / naming.coco_panoptic_json(split),
                           json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
        files += 1
    return ExportSummary(out, len(items), sum(len(f) for _, f in items), files,
                         sum(n for _, _, n in results))
