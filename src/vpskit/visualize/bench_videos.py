"""One video of a benchmark whose every frame is annotated (KITTI-STEP, VIPSeg), read for pictures.

The frame tables that judge the errors are the metric's own, read by the evaluation's readers
(:func:`~vpskit.evaluation.category_instance.read_sequence_tables` for KITTI-STEP,
:func:`~vpskit.evaluation.loading.read_video_tables` for VIPSeg), for every frame of the video:
the VPQ windows of a shown frame are those of the whole video. The id maps of the frames shown
are then read once more, shrunk to the picture's scale and kept with their RGB frame (memory:
the shown frames at that scale).

RGB frames: KITTI-STEP ``ROOT/images/{split}/{sequence}/{frame}.png`` (in a zip ROOT, beside its
``panoptic_maps/``); VIPSeg
``ROOT/images/{video}/{frame}.jpg`` (a prepared VIPSeg_720P folder).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import VpsError
from ..evaluation.metrics.categories import CategorySet
from ..pngio import decode_ids
from ..text import plural
from .colours import category_styles
from .overlay import scaled_size, shrink_ids, shrink_rgb
from .scoring import Benchmark
from .videos import Closing, Picture, VideoPictures, assemble

SHEET_FRAMES = 6
"""Frames a contact sheet shows when none are chosen: spread evenly over the video."""


def spread(count: int, n: int = SHEET_FRAMES) -> list[int]:
    """``n`` frame positions of ``count`` spread evenly, first and last included (all when fewer)."""
    if count <= n:
        return list(range(count))
    return sorted({round(i * (count - 1) / (n - 1)) for i in range(n)})


def chosen(count: int, frames: Sequence[int] | None, default: Sequence[int]) -> list[int]:
    """The frame positions to show: ``frames`` (0-based, checked against ``count``) or ``default``."""
    if frames is None:
        return list(default)
    bad = [f for f in frames if not 0 <= f < count]
    if bad:
        raise VpsError("--frames", f"frame {bad[0]} is not in the video: it has {plural(count, 'frame')}, "
                       f"0-{count - 1}")
    return sorted(set(frames))


NO_FRAME = "frame not found (the pictures need the dataset's RGB frames)"


def read_rgb(path: Path, size: tuple[int, int]) -> np.ndarray:
    """An RGB frame (PNG or JPEG) of ``size`` (width, height); ``VpsError`` naming the file otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VpsError(path, NO_FRAME) from None
    except OSError as exc:
        raise VpsError(path, f"cannot read it ({exc.strerror or exc})") from None
    return decode_rgb(data, path, size)


def decode_rgb(data: bytes, path: object, size: tuple[int, int]) -> np.ndarray:
    """The RGB frame (PNG or JPEG) ``data`` of ``size`` (width, height); ``VpsError`` naming
    ``path`` otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise VpsError(path, f"not a readable image ({exc})") from None
    if (rgb.shape[1], rgb.shape[0]) != tuple(size):
        raise VpsError(path, f"size {rgb.shape[1]}x{rgb.shape[0]} differs from its label map's {size[0]}x{size[1]}")
    return rgb


def window_sizes(bench: Benchmark) -> dict[int, int]:
    """Frames of the VPQ window of each span k of the benchmark."""
    return dict(zip(bench.profile.vpq_spans, bench.profile.vpq_window_frames, strict=True))


def load_bench_video(bench: Benchmark, video: str | int, pred: str | os.PathLike | None, scale: float,
                     frames: Sequence[int] | None, default: str) -> VideoPictures:
    """Read one video of a KITTI-STEP or VIPSeg split (and of a prediction) for pictures at
    ``scale``: the frames at positions ``frames`` (None: ``default``, ``"spread"`` for
    :data:`SHEET_FRAMES` spread over the video, ``"all"`` for every frame)."""
    if not 0 < scale <= 1:
        raise VpsError("--scale", f"expected a number in (0, 1], got {scale}")
    if bench.profile.layout == "category-instance":
        return _kitti(bench, video, pred, scale, frames, default)
    return _vipseg(bench, video, pred, scale, frames, default)


def _picture(name: str, position: int, rgb: np.ndarray, gt: np.ndarray, pred: np.ndarray | None,
             size: tuple[int, int]) -> Picture:
    return Picture(name, None, shrink_rgb(rgb, size), shrink_ids(gt, size),
                   None if pred is None else shrink_ids(pred, size), position)


def _kitti(bench: Benchmark, video: str | int, pred: str | os.PathLike | None, scale: float,
           frames: Sequence[int] | None, default: str) -> VideoPictures:
    from ..evaluation.category_instance import (
        open_maps_ground_truth,
        prediction_source,
        read_segment_map,
        read_sequence_tables,
        select_sequences,
    )

    assert bench.root is not None
    gt = open_maps_ground_truth(bench.root, bench.split, bench.profile)
    source = images = None
    try:
        seq = _as_video_option(select_sequences, gt, video)[0]
        names = gt.videos[seq]
        source = prediction_source(pred, gt) if pred is not None else None
        tables = read_sequence_tables(gt, seq, source) if source is not None else None
        show = chosen(len(names), frames, spread(len(names)) if default == "spread" else range(len(names)))
        folder = Path(bench.root) / "images" / bench.split / seq
        if not gt.source.is_zip and not folder.is_dir():
            raise VpsError(folder, "not a folder: the pictures need the KITTI-STEP RGB frames (images/{split}/{sequence}/)")
        images = gt.images()
        gt_segments = [t.gt for t in tables] if tables is not None else []
        pictures, size, full = [], (0, 0), (0, 0)
        for pos, name in enumerate(names):
            if tables is not None and pos not in show:
                continue
            ids, segs = read_segment_map(gt.source, f"{seq}/{name}", gt)
            if tables is None:  # the palette takes the segments of every frame
                gt_segments.append(segs)
            if pos not in show:
                continue
            full = (ids.shape[1], ids.shape[0])
            size = scaled_size(*full, scale)
            pred_ids = None
            if source is not None:
                pred_ids, _ = read_segment_map(source, f"{seq}/{name}", gt, full, is_gt=False,
                                               missing="missing: no prediction PNG for this frame")
            rel = f"{seq}/{name}"
            rgb = decode_rgb(images.read(rel, missing=NO_FRAME), images.describe(rel), full)
            pictures.append(_picture(PurePosixPath(name).stem, pos, rgb, ids, pred_ids, size))
        cats = gt.categories
        predicted = ([t.pred for t in tables], tables) if tables is not None else None
        return assemble(seq, pictures, (size, full), cats, category_styles(bench.category_records, cats),
                        gt_segments, predicted, Closing(), [PurePosixPath(n).stem for n in names], window_sizes(bench))
    finally:
        for opened in (source, images):
            if opened is not None:
                opened.close()
        gt.source.close()


def _vipseg(bench: Benchmark, video: str | int, pred: str | os.PathLike | None, scale: float,
            frames: Sequence[int] | None, default: str) -> VideoPictures:
    from ..evaluation.loading import PredictionSource, prediction_segments, read_video_tables
    from ..evaluation.video_json import match_video_predictions, select_named_videos

    gt = bench.ground_truth()
    name = _one_video(_as_video_option(select_named_videos, gt, video), video)
    gt_frames = gt.videos[name]
    source = PredictionSource(pred) if pred is not None else None
    try:
        preds = tables = None
        if source is not None:
            preds = match_video_predictions(gt, source.read_json(checked=False), source.describe(), [name])
            tables = read_video_tables(gt, gt_frames, preds, source, rgb_only=True)
        show = chosen(len(gt_frames), frames,
                      spread(len(gt_frames)) if default == "spread" else range(len(gt_frames)))
        assert bench.root is not None
        images = Path(bench.root) / "images" / name
        cats: CategorySet = gt.categories
        pictures, size, full = [], (0, 0), (0, 0)
        for pos in show:
            frame = gt_frames[pos]
            ids = decode_ids(gt.read_png(frame), gt.describe(frame))
            full = (ids.shape[1], ids.shape[0])
            size = scaled_size(*full, scale)
            pred_ids = None
            if source is not None and preds is not None:
                p = preds[frame.image_id]
                prediction_segments(p, f"{source.describe()}: {p.label}", cats)
                pred_ids = decode_ids(source.read_png(p.png, full), source.describe(p.png), full, "the ground truth's")
            stem = PurePosixPath(frame.file_name).stem
            pictures.append(_picture(stem, pos, read_rgb(images / f"{stem}.jpg", full), ids, pred_ids, size))
        predicted = None
        if tables is not None:
            predicted = ([t.pred for t in tables], tables)
        return assemble(name, pictures, (size, full), cats, category_styles(bench.category_records, cats),
                        [f.segments for f in gt_frames], predicted, Closing(),
                        [PurePosixPath(f.file_name).stem for f in gt_frames], window_sizes(bench))
    finally:
        if source is not None:
            source.close()


def _as_video_option(select: Callable[..., list[str]], gt: object, video: str | int) -> list[str]:
    """``select(gt, [video])``, its errors naming ``--video`` (the option of show) instead of ``--videos``."""
    try:
        return select(gt, [str(video)])
    except VpsError as exc:
        if exc.where != "--videos":
            raise
        raise VpsError("--video", exc.problem) from None


def _one_video(found: list[str], video: str | int) -> str:
    if len(found) != 1:
        raise VpsError("--video", f"{video} names {len(found)} videos ({', '.join(found[:4])}): give the "
                       "full video name")
    return found[0]
