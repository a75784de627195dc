"""One video of a prepared split, read for pictures: its RGB frames, ground truth and prediction.

Each annotated frame's PNGs are decoded once. At full resolution they are reduced to the
per-frame tables the metrics use (:func:`vpskit.evaluation.tables.frame_table`), from which the
tube matching of any window comes; only then are the id maps and the frame shrunk to the
picture's scale and kept (memory: one video's frames at that scale).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import naming
from ..errors import VpsError
from ..evaluation import video_ranges
from ..evaluation.loading import (
    GroundTruth,
    GtFrame,
    PredictionSource,
    match_predictions,
    open_ground_truth,
    prediction_segments,
)
from ..evaluation.metrics.categories import CategorySet
from ..evaluation.metrics.vpq import WindowMatch, match_window
from ..evaluation.tables import FrameTable, PairCounter, check_gt, frame_table
from ..jsonfields import read_json, read_json_member
from ..pngio import decode_ids, decode_png, png_limit
from ..preparation.common import raw_frames
from ..sources import Source
from ..text import plural
from ..zips import open_zip
from .colours import CategoryStyle, Palette, category_styles, gt_palette, prediction_palette
from .overlay import error_kinds_at, scaled_size, shrink_ids, shrink_rgb, window_of

IMAGE_DIR = "img"
ALL_FRAMES_DIR = "img_all"


@dataclass
class Picture:
    """One annotated frame at the picture's scale: RGB (h, w, 3), and the position of each
    pixel's GT and predicted segment in the video's palettes (int32 maps, 0 = void)."""

    image_id: str
    key: naming.FrameKey | None
    rgb: np.ndarray
    gt: np.ndarray
    pred: np.ndarray | None
    position: int = -1
    """Position of the frame among all the frames of the video (-1: its index in the pictures)."""


@dataclass
class VideoPictures:
    """The annotated frames of one video, ready to draw, with the palettes of both sides."""

    video: str
    frames: list[Picture]
    size: tuple[int, int]
    """(width, height) of the pictures."""
    full_size: tuple[int, int]
    """(width, height) of the frames."""
    categories: CategorySet
    styles: dict[int, CategoryStyle]
    gt_palette: Palette
    pred_palette: Palette | None
    tables: list[FrameTable] | None
    """Full-resolution tables of the frames (with a prediction)."""
    match: WindowMatch | None
    """The tube matching over all the annotated frames (with a prediction)."""
    images: FrameImages | Closing
    names: list[str] | None = None
    """The names of all the frames of the video (a benchmark whose every frame is annotated, of
    which the pictures may show some); None for Cityscapes-VPS (its annotated frames)."""
    window_frames: dict[int, int] | None = None
    """Frames of the VPQ window of each span k (None: Cityscapes-VPS's k/5 + 1)."""

    def window(self, index: int, span: int) -> range:
        """The frames (positions among all the video's, see :meth:`position`) of the VPQ window
        of span ``span`` shown for picture ``index``."""
        n = self.window_frames.get(span) if self.window_frames is not None else None
        count = len(self.tables) if self.tables is not None else len(self.names or self.frames)
        return window_of(self.position(index), count, span, frames=n)

    def label(self, position: int) -> str:
        """How captions name the frame at ``position``: its number in the 30-frame snippet
        (Cityscapes-VPS), else its file name without extension."""
        if self.names is not None:
            return self.names[position]
        iid = naming.parse_image_id(self.frames[position].image_id)
        return str(naming.ANNOTATED_OFFSETS[iid.position] + 1)

    def position(self, index: int) -> int:
        """Position of picture ``index`` among the frames of :attr:`tables`."""
        at = self.frames[index].position
        return index if at < 0 else at

    def window_match(self, index: int, span: int) -> tuple[range, WindowMatch]:
        """The frames and the tube matching of the window shown for frame ``index`` (see
        :func:`vpskit.visualize.overlay.window_of`)."""
        assert self.tables is not None
        window = self.window(index, span)
        return window, match_window(self.tables[window.start:window.stop], self.categories)

    def errors(self, index: int, span: int) -> tuple[range, np.ndarray]:
        """The window and the error-kind map of frame ``index`` (needs a prediction)."""
        window, match = self.window_match(index, span)
        frame = self.frames[index]
        assert frame.pred is not None and self.pred_palette is not None
        return window, error_kinds_at(frame.gt, self.gt_palette.ids, frame.pred, self.pred_palette.ids, match)


class Closing:
    """Nothing to close (the frames of a benchmark read without open handles)."""

    def close(self) -> None:
        """Nothing."""


class FrameImages:
    """The RGB frames of a split in a prepared root (folder or zip): ``{split}/img`` (annotated
    frames) and ``{split}/img_all`` (every frame of the val and test snippets)."""

    def __init__(self, root: str | os.PathLike, split: str) -> None:
        self.root = Path(root)
        self.split = split
        self.annotated = self._source(IMAGE_DIR)
        self.all_frames: Source | None = None
        if self.root.is_file() or (self.root / split / ALL_FRAMES_DIR).is_dir():
            try:
                self.all_frames = self._source(ALL_FRAMES_DIR)
            except VpsError:
                self.all_frames = None

    def _source(self, folder: str) -> Source:
        anchor = f"{self.split}/{folder}"
        if self.root.is_file():
            return Source(self.root, anchor)
        return Source(self.root, anchor, prefix=anchor)

    def close(self) -> None:
        """Close the zip handles."""
        self.annotated.close()
        if self.all_frames is not None:
            self.all_frames.close()

    def read(self, source: Source, rel: str, size: tuple[int, int]) -> np.ndarray:
        """The (H, W, 3) RGB frame ``rel`` of ``source``, which must be ``size`` (width, height)."""
        where = source.describe(rel)
        data = source.read(rel, missing="RGB frame not found", limit=png_limit(*size))
        rgb = decode_png(data, where, size, "the ground truth's")
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        return np.ascontiguousarray(rgb[..., :3]).astype(np.uint8, copy=False)

    def listed(self, keys: set[naming.FrameKey]) -> list[tuple[naming.FrameKey, str]] | None:
        """The frames of ``im_all_info`` among ``keys`` as (key, file name), in frame order; None
        when the split has no ``img_all`` folder or no ``im_all_info`` JSON."""
        if self.all_frames is None:
            return None
        found = _root_json(self.root, naming.im_all_info_json(self.split))
        if found is None:
            return None
        doc, where = found
        return [(r.key, r.file_name) for r in raw_frames(where, doc) if r.key in keys]


def _root_json(root: Path, name: str) -> tuple[object, Path] | None:
    """A JSON file at the top of a prepared root (folder or zip) and where it is; None if absent."""
    if not root.is_file():
        return (read_json(root / name), root / name) if (root / name).is_file() else None
    try:
        with open_zip(root) as zf:
            members = sorted((i.filename for i in zf.infolist() if Path(i.filename).name == name),
                             key=lambda m: (m.count("/"), m))
            if not members:
                return None
            return read_json_member(zf, members[0], f"{root}:{members[0]}"), Path(f"{root}:{members[0]}")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise VpsError(root, f"not a readable zip ({exc})") from None


def video_frames(gt: GroundTruth, video: str | int) -> list[GtFrame]:
    """The annotated frames of a video of the ground truth (``VpsError`` for a video not there,
    worded as ``eval --videos``)."""
    name = naming.video_name_of(video, "--video")
    if name not in gt.videos:
        names = sorted(gt.videos)
        raise VpsError("--video", f"not in the ground truth: {name}; the ground truth has "
                       f"{plural(len(names), 'video')}: {video_ranges(names)}")
    return gt.videos[name]


def load_video(root: str | os.PathLike, split: str, video: str | int, pred: str | os.PathLike | None,
               scale: float) -> VideoPictures:
    """Read one video of a prepared split (and of a prediction) for pictures at ``scale``."""
    if not 0 < scale <= 1:
        raise VpsError("--scale", f"expected a number in (0, 1], got {scale}")
    gt = open_ground_truth(root, split, None, None)
    frames = video_frames(gt, video)
    images = FrameImages(root, split)
    try:
        source = PredictionSource(pred) if pred is not None else None
        try:
            return _read(gt, frames, images, source, scale)
        finally:
            if source is not None:
                source.close()
    except BaseException:
        images.close()
        raise


def _read(gt: GroundTruth, frames: list[GtFrame], images: FrameImages, source: PredictionSource | None,
          scale: float) -> VideoPictures:
    preds = match_predictions(gt.frames, source.read_json(), source, frames) if source is not None else None
    counter = PairCounter()
    pictures: list[Picture] = []
    tables: list[FrameTable] = []
    pred_segments = []
    size = full = (0, 0)
    for frame in frames:
        gt_where = gt.describe(frame)
        gt_ids = decode_ids(gt.read_png(frame), gt_where)
        check_gt(counter, gt_ids, frame.segments, gt_where=gt_where)
        if pictures and (gt_ids.shape[1], gt_ids.shape[0]) != full:
            raise VpsError(gt_where, f"size {gt_ids.shape[1]}x{gt_ids.shape[0]} differs from the video's "
                           f"first frame's {full[0]}x{full[1]}")
        full = (gt_ids.shape[1], gt_ids.shape[0])
        size = scaled_size(*full, scale)
        gt_small = shrink_ids(gt_ids, size)
        del gt_ids  # the counter keeps what the table needs of it
        pred_small = None
        if source is not None and preds is not None:
            p = preds[frame.image_id]
            json_where = f"{source.describe()}: {p.label}"
            segs = prediction_segments(p, json_where, gt.categories)
            pred_where = source.describe(p.png)
            pred_ids = decode_ids(source.read_png(p.png, full), pred_where, full, "the ground truth's")
            tables.append(frame_table(counter, pred_ids, frame.segments, segs, gt_where=gt_where,
                                      pred_where=pred_where, pred_json_where=json_where))
            pred_segments.append(segs)
            pred_small = shrink_ids(pred_ids, size)
            del pred_ids
        iid = naming.parse_image_id(frame.image_id)
        rgb = images.read(images.annotated, naming.image_file(iid), full)
        pictures.append(Picture(frame.image_id, iid.key, shrink_rgb(rgb, size), gt_small, pred_small))
        del rgb
    return assemble(frames[0].video, pictures, (size, full), gt.categories,
                    category_styles(gt.category_records, gt.categories), [f.segments for f in frames],
                    (pred_segments, tables) if source is not None else None, images)


def assemble(video: str, pictures: list[Picture], sizes: tuple[tuple[int, int], tuple[int, int]],
             categories: CategorySet, styles: dict[int, CategoryStyle], gt_segments: list,
             predicted: tuple[list, list[FrameTable]] | None, images: FrameImages | Closing,
             names: list[str] | None = None, window_frames: dict[int, int] | None = None) -> VideoPictures:
    """The pictures of a video with its palettes: ``gt_segments`` of every frame of the video,
    ``predicted`` = (predicted segments, frame tables) of every frame (None: no prediction);
    the pictures' id maps become palette positions. ``sizes``: (picture size, frame size)."""
    gt_pal = gt_palette(video, gt_segments, styles)
    match = pred_pal = None
    if predicted is not None:
        match = match_window(predicted[1], categories)
        pred_pal = prediction_palette(video, predicted[0], styles, gt_pal, match.matched_gt_of())
    for picture in pictures:  # ids -> palette positions
        picture.gt = gt_pal.positions(picture.gt)
        if pred_pal is not None and picture.pred is not None:
            picture.pred = pred_pal.positions(picture.pred)
    return VideoPictures(video, pictures, sizes[0], sizes[1], categories, styles, gt_pal, pred_pal,
                         predicted[1] if predicted is not None else None, match, images, names, window_frames)


def animation_frames(pictures: VideoPictures) -> tuple[list[tuple[str, int | None]], bool]:
    """What an animation of the video shows: ``(name, annotated index or None)`` per frame in
    order, and whether that is every frame of the snippet (``img_all``) or only the annotated ones
    (a benchmark whose every frame is annotated: the frames of the pictures, all annotated)."""
    if pictures.names is not None:
        return [(pictures.names[pictures.position(i)], i) for i in range(len(pictures.frames))], True
    keys: dict[naming.FrameKey, int | None] = {}
    for p in pictures.frames:
        iid = naming.parse_image_id(p.image_id)
        for n in range(iid.first_frame, iid.first_frame + naming.FRAMES_PER_SNIPPET):
            keys.setdefault(naming.FrameKey(iid.city, iid.seq, n), None)
    for i, p in enumerate(pictures.frames):
        keys[p.key] = i
    listed = pictures.images.listed(set(keys))
    if not listed:
        return [(p.image_id, i) for i, p in enumerate(pictures.frames)], False
    return [(name, keys[key]) for key, name in listed], True


def frame_rgbs(pictures: VideoPictures, shown: list[tuple[str, int | None]]) -> Iterator[np.ndarray]:
    """The RGB picture of each frame of ``shown`` (see :func:`animation_frames`), read one at a
    time: annotated frames from memory, the others from ``img_all``."""
    for name, index in shown:
        if index is not None:
            yield pictures.frames[index].rgb
            continue
        assert pictures.images.all_frames is not None
        rgb = pictures.images.read(pictures.images.all_frames, name, pictures.full_size)
        yield shrink_rgb(rgb, pictures.size)
