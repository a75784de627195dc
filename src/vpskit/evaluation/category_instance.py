"""Ground truth and predictions stored as one category/instance PNG per frame (KITTI-STEP).

``ROOT/panoptic_maps/{split}/{sequence:04d}/{frame:06d}.png``: 8-bit RGB, R = category,
G·256 + B = instance; a prediction is the same per-frame PNGs in ``PRED/{sequence}/``
(or ``PRED/panoptic_maps/{split}/{sequence}/``, or ``PRED/{split}/{sequence}/``). ROOT and PRED
may also be zips of such folders (``panoptic_maps/{split}/`` at any depth in ROOT's; in PRED's,
the one folder holding the ground truth's sequence folders); a member is only ever read by a
name made from the ground truth's sequence and frame names, below that folder. Each frame is
decoded once and reduced to the :class:`~vpskit.evaluation.tables.FrameTable` every metric is built
from, so the VPQ and STQ of these benchmarks are the same mergeable per-sequence computations as
Cityscapes-VPS's (VPQ over the windows of the benchmark's profile; every frame is annotated).

Segment ids: a pixel of category c and instance i is segment ``c + 256·i + 1`` when c is a tracked
category (the profile's ``stq_things``), ``c + 1`` for any other category (its instance plays no
part in the metrics), and 0 (void) for category void. A ground-truth segment of a tracked
category with instance 0 is a crowd region.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import VpsError
from ..parallel import default_jobs, map_videos
from ..pngio import ANY_FILE, decode_ids, png_header, png_limit
from ..profiles import Profile
from ..sources import Source
from ..text import plural
from ..zips import one_place
from .metrics import CategorySet, STQAccumulator, VPQAccumulator, accumulators
from .metrics.stq import STQVideoState
from .metrics.stq import video_state as stq_video_state
from .metrics.vpq import VPQVideoState
from .metrics.vpq import video_state as vpq_video_state
from .notices import warn_short_windows
from .tables import FrameTable, PairCounter, Segments, _distinct

_SEQUENCE = re.compile(r"\d{4}")
_FRAME = re.compile(r"\d{6}\.png")
_MEMBER = re.compile(r"(.*?)(\d{4})/(\d{6}\.png)")
_SMALL_SPLIT_FRAMES = 64
"""Up to this many frames in all, ``jobs=None`` evaluates in-process (a pool costs more)."""


@dataclass(frozen=True)
class MapsGroundTruth:
    """A split's ground truth: the frame files of each sequence (in frame order) in ``source``
    (``panoptic_maps/{split}`` of a folder, or of a zip: then ``folder`` is the zip)."""

    folder: Path
    split: str
    videos: dict[str, list[str]]
    profile: Profile
    source: Source

    @property
    def categories(self) -> CategorySet:
        """The benchmark's categories, things as STQ tracks them."""
        return CategorySet.of_profile(self.profile)

    def images(self) -> Source:
        """The split's RGB frames, ``images/{split}/`` beside ``panoptic_maps/`` in the same folder
        or zip (its sequence folders may be missing: reading a frame then says so)."""
        if not self.source.is_zip:
            return Source(self.folder.parent.parent / "images" / self.split, "", prefix="")
        maps = self.source.describe("")[len(self.source.label) + 1:]
        return Source(self.folder, "", prefix=f"{maps[:-len(f'panoptic_maps/{self.split}/')]}images/{self.split}/")

    def describe(self) -> dict:
        """Where the ground truth is, as ``results.json`` records it."""
        if self.source.is_zip:
            return {"zip": os.fspath(self.folder), "zip_absolute": os.path.abspath(self.folder),
                    "folder": self.source.describe("")[len(self.source.label) + 1:].rstrip("/")}
        return {"folder": os.fspath(self.folder), "folder_absolute": os.path.abspath(self.folder)}


def _frames_of(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if _FRAME.fullmatch(p.name) and p.is_file())


def _zip_sequences(source: Source) -> dict[str, list[str]]:
    """The sequence folders of a zip source and their frames, in order."""
    videos: dict[str, list[str]] = {}
    for name in source.names():
        seq, _, frame = name.partition("/")
        if _SEQUENCE.fullmatch(seq) and _FRAME.fullmatch(frame):
            videos.setdefault(seq, []).append(frame)
    return {seq: sorted(frames) for seq, frames in sorted(videos.items())}


def open_maps_ground_truth(root: str | os.PathLike, split: str, profile: Profile) -> MapsGroundTruth:
    """The ground truth of ``split`` in a dataset ``root`` (a folder, or a zip at any depth of
    which is a ``panoptic_maps/{split}/`` folder) holding ``panoptic_maps/{split}/``."""
    if Path(root).is_file():
        source = Source(root, f"panoptic_maps/{split}")
        videos = _zip_sequences(source)
        if not videos:
            raise VpsError(source.describe(""), "no sequence folder (0000, 0001, …) with frames (000000.png, …)")
        return MapsGroundTruth(Path(root), split, videos, profile, source)
    folder = Path(root) / "panoptic_maps" / split
    if not folder.is_dir():
        raise VpsError(folder, f"not found: no {profile.title} ground truth of split {split!r} "
                       f"(expected {profile.gt_encoding.split(':')[0]})")
    videos = {}
    for seq in sorted(p.name for p in folder.iterdir() if p.is_dir() and _SEQUENCE.fullmatch(p.name)):
        frames = _frames_of(folder / seq)
        if frames:
            videos[seq] = frames
    if not videos:
        raise VpsError(folder, "no sequence folder (0000, 0001, …) with frames (000000.png, …)")
    return MapsGroundTruth(folder, split, videos, profile, Source(folder, "", prefix=""))


def prediction_source(pred: str | os.PathLike, gt: MapsGroundTruth) -> Source:
    """Where the prediction's sequence folders are: PRED/panoptic_maps/{split}, PRED/{split} or
    PRED; in a zip, the one folder holding sequence folders of the ground truth."""
    base = Path(pred)
    wanted = f"{', '.join(sorted(gt.videos)[:4])}, …"
    if base.is_file():
        return _zip_prediction(base, gt, wanted)
    if not base.is_dir():
        raise VpsError(base, "no such folder or zip (a prediction is a folder of {sequence:04d}/{frame:06d}.png)")
    for cand in (base / "panoptic_maps" / gt.split, base / gt.split, base):
        if cand.is_dir() and any((cand / seq).is_dir() for seq in gt.videos):
            return Source(cand, "", prefix="")
    raise VpsError(base, f"no sequence folder of the ground truth ({wanted}) "
                   f"in it, nor in its panoptic_maps/{gt.split}/ or {gt.split}/")


def _zip_prediction(path: Path, gt: MapsGroundTruth, wanted: str) -> Source:
    """The folder of zip ``path`` whose sequence folders are the prediction's (see :func:`prediction_source`)."""
    prefixes = set()
    for name in Source(path, "", prefix="").names():
        m = _MEMBER.fullmatch(name)
        if m and m.group(2) in gt.videos and (not m.group(1) or m.group(1).endswith("/")):
            prefixes.add(m.group(1))
    return Source(path, "", prefix=one_place(
        path, prefixes, f"no sequence folder of the ground truth ({wanted}) with frames ({{frame:06d}}.png) inside the zip",
        "sequence folders in several places inside the zip", "zip one prediction"))


def select_sequences(gt: MapsGroundTruth, videos: Iterable[str | int | range] | str | int | None) -> list[str]:
    """The sequences to score (numbers, 4-digit names or ranges of numbers; None: all), sorted."""
    names = sorted(gt.videos)
    if videos is None:
        return names
    wanted = [videos] if isinstance(videos, (str, int, range)) else list(videos)
    keep: set[str] = set()
    for item in wanted:
        if isinstance(item, range):
            inside = [v for v in names if int(v) in item]
        else:
            try:
                inside = [f"{int(item):04d}"]
            except ValueError:
                raise VpsError("--videos", f"{item!r} is not a sequence number") from None
        missing = [v for v in inside if v not in gt.videos]
        if not inside or missing:
            raise VpsError("--videos", f"{missing[0] if missing else item} is not a sequence of the ground truth "
                           f"({plural(len(names), 'sequence')}: {', '.join(names)})")
        keep.update(inside)
    return [v for v in names if v in keep]


def segment_ids(rgb_ids: np.ndarray, tracked: np.ndarray) -> np.ndarray:
    """Segment ids (module docstring) of ``R + 256 G + 256² B`` values (R = category)."""
    ids = rgb_ids & np.uint32(0xFFFFFF)
    category = ids & np.uint32(0xFF)
    out = np.where(tracked[category], ids, category) + np.uint32(1)
    out[category == 255] = 0
    return out


def segments_of(ids: np.ndarray, tracked: np.ndarray, gt: bool) -> Segments:
    """The segments of the distinct non-zero segment ids ``ids``: category, and for the ground
    truth crowd = tracked category with instance 0."""
    value = ids - np.uint32(1)
    category = (value & np.uint32(0xFF)).astype(np.int64)
    crowd = tracked[category] & (value >> np.uint32(8) == 0) if gt else np.zeros(ids.shape, dtype=bool)
    return Segments(ids.astype(np.uint32), category, crowd)


def _check_values(values: np.ndarray, categories: CategorySet, where: object, void: int) -> None:
    """``VpsError`` for a category value (low byte of ``values``) that is neither a category nor void."""
    cats = (values & np.uint32(0xFF)).astype(np.int64)
    bad = cats[(categories.positions(cats) < 0) & (cats != void)]
    if bad.size:
        raise VpsError(where, f"category value {int(bad[0])} (R channel) is neither a category "
                       f"(0-{max(categories.ids)}) nor void ({void})")


def _distinct_values(rgb_ids: np.ndarray) -> np.ndarray:
    """The distinct ``R + 256 G + 256² B`` values of a map, found from its runs of equal values."""
    a = rgb_ids.reshape(-1)
    if a.size == 0:
        return np.zeros(0, dtype=np.uint32)
    starts = np.concatenate(([True], a[1:] != a[:-1]))
    return _distinct(a[starts] & np.uint32(0xFFFFFF))


def _decode(data: bytes, where: object, size: tuple[int, int] | None) -> np.ndarray:
    header = png_header(data, where)
    if header.bit_depth != 8 or header.color_type not in (2, 6):
        raise VpsError(where, "expected an 8-bit RGB PNG (R = category, G*256 + B = instance), found bit depth "
                       f"{header.bit_depth}, colour type {header.color_type}")
    return decode_ids(data, where, size, "the ground truth's")


@dataclass(frozen=True)
class _Context:
    gt: MapsGroundTruth
    pred: Source
    metrics: tuple[str, ...] = ("stq",)
    tracks: bool = False


def _read_map(source: Source, rel: str, categories: CategorySet, void: int, size: tuple[int, int] | None,
              missing: str = "file not found") -> tuple[np.ndarray, np.ndarray]:
    """A frame's ``R + 256 G + 256² B`` map and its distinct values, checked."""
    limit = ANY_FILE if size is None else png_limit(*size)
    where = source.describe(rel)
    rgb = _decode(source.read(rel, missing=missing, limit=limit), where, size)
    values = _distinct_values(rgb)
    _check_values(values, categories, where, void)
    return rgb, values


def tracked_mask(profile: Profile) -> np.ndarray:
    """Per category value 0-255: whether its instances are tracks (the profile's ``stq_things``)."""
    tracked = np.zeros(256, dtype=bool)
    tracked[list(profile.stq_things)] = True
    return tracked


def read_segment_map(source: Source, rel: str, gt: MapsGroundTruth, size: tuple[int, int] | None = None, *,
                     is_gt: bool = True, missing: str = "file not found") -> tuple[np.ndarray, Segments]:
    """One frame's segment-id map (module docstring) and its segments, read and checked as the
    metrics read them (``size``: the ground truth's, for a prediction)."""
    tracked = tracked_mask(gt.profile)
    rgb, values = _read_map(source, rel, gt.categories, gt.profile.void, size, missing)
    segs = segments_of(_nonzero(_distinct(segment_ids(values, tracked))), tracked, gt=is_gt)
    return segment_ids(rgb, tracked), segs


def read_sequence_tables(gt: MapsGroundTruth, seq: str, pred: Source) -> list[FrameTable]:
    """Decode each frame's two PNGs once and reduce them to frame tables (frames in order).

    Pixels are counted per pair of raw values (category, instance); the few pairs are then
    given their segment ids and merged where a segment id stands for several raw values.
    """
    cats = gt.categories
    tracked = np.zeros(256, dtype=bool)
    tracked[list(gt.profile.stq_things)] = True
    counter = PairCounter()
    tables = []
    for name in gt.videos[seq]:
        rgb, values = _read_map(gt.source, f"{seq}/{name}", cats, gt.profile.void, None)
        g_segs = segments_of(_nonzero(_distinct(segment_ids(values, tracked))), tracked, gt=True)
        counter.set_gt(rgb, counter.index(values, 0))
        size = (rgb.shape[1], rgb.shape[0])
        del rgb
        rgb, values = _read_map(pred, f"{seq}/{name}", cats, gt.profile.void, size,
                                "missing: no prediction PNG for this frame")
        p_segs = segments_of(_nonzero(_distinct(segment_ids(values, tracked))), tracked, gt=False)
        pg, pp, pc, _ = counter.count(rgb, counter.index(values, 1))
        del rgb
        keys = (segment_ids(pg, tracked).astype(np.uint64) << np.uint64(24)) | segment_ids(pp, tracked)
        keys, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=pc, minlength=keys.size).astype(np.int64)
        tables.append(FrameTable(g_segs, p_segs, (keys >> np.uint64(24)).astype(np.uint32),
                                 (keys & np.uint64(0xFFFFFF)).astype(np.uint32), counts))
    return tables


def _nonzero(ids: np.ndarray) -> np.ndarray:
    return ids[ids != 0]


def _sequence_state(ctx: _Context, seq: str) -> tuple[str, VPQVideoState | None, STQVideoState | None]:
    tables = read_sequence_tables(ctx.gt, seq, ctx.pred)
    cats, profile = ctx.gt.categories, ctx.gt.profile
    vpq = (vpq_video_state(tables, cats, tracks=ctx.tracks, window_frames=profile.vpq_window_frames)
           if "vpq" in ctx.metrics else None)
    return seq, vpq, stq_video_state(tables, cats) if "stq" in ctx.metrics else None


def sequence_states(gt: MapsGroundTruth, names: list[str], pred: str | os.PathLike, metrics: tuple[str, ...],
                    stq_void: str, jobs: int | None, progress: bool | None, tracks: bool = False
                    ) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    """The accumulators of ``metrics`` (``"vpq"``, ``"stq"``) of a prediction over sequences
    ``names``, one state per sequence, computed per sequence on ``jobs`` processes (None: all
    cores, one for a small split); VPQ over the windows of the ground truth's profile.
    ``tracks``: each sequence's VPQ state also records every GT track's matches per span."""
    source = prediction_source(pred, gt)
    if jobs is None:
        jobs = 1 if sum(len(gt.videos[s]) for s in names) <= _SMALL_SPLIT_FRAMES else default_jobs()
    try:
        results = map_videos(_sequence_state, names, context=_Context(gt, source, tuple(metrics), tracks), jobs=jobs,
                             desc="evaluate", progress=progress, cost=lambda s: len(gt.videos[s]))
    finally:
        source.close()
        gt.source.close()
    states = accumulators(results, gt.categories, metrics, stq_void, gt.profile.vpq_spans,
                          gt.profile.vpq_window_frames)
    if "vpq" in metrics:
        warn_short_windows(gt.profile.vpq_window_frames, gt.profile.vpq_spans, (len(gt.videos[s]) for s in names))
    return states
