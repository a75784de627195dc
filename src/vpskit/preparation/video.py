"""Stage 4 (SPEC §2): per video, ``panoptic_video`` colours (one id per track) and the JSON.

Colours are chosen over the distinct ``(video, value)`` pairs of the split, visited in sorted
``(video, value)`` order: a thing segment's first candidate comes from a hash of
``(split, video, value)``; a candidate already taken (or a stuff colour, or black) is replaced by
the next hash candidate (a few tries), then by the first free colour of the category's ±30 box in
a fixed scan order. A video's colours so depend only on the pairs of the videos up to it
(:class:`TrackColors` takes the videos one by one, as soon as each one's frames are made): the
same for any number of workers and after a resumed run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..categories import (
    CATEGORY_BY_ID,
    IS_THING_LUT,
    STUFF_IDS,
    categories_json,
    pack_color,
)
from ..errors import VpsError
from ..naming import image_id_of_file, panoptic_gt_json, panoptic_im_json
from ..pngio import (
    atomic_write_bytes,
    decode_ids,
    decode_png,
    encode_runs_png,
    id2rgb,
    png_header,
    read_file,
)
from ..runs import pixel_runs
from .common import AnnotatedFrame, annotated_frames, files_by_image_id, group_by_video, output_dir
from .panoptic import PanRuns

COLOR_SPREAD = 30
"""Each channel of a thing colour lies within ± this of its category colour."""

_HASH_TRIES = 8

FORBIDDEN_IDS = frozenset({0} | {pack_color(CATEGORY_BY_ID[c].color) for c in STUFF_IDS})
"""Segment ids a thing may never take: black (void) and the stuff colours."""


def category_of_value(value: int) -> int:
    """Category of a ``pan`` value: ``v`` below 1000, ``v // 1000`` otherwise; 255 if none."""
    c = value if value < 1000 else value // 1000
    return c if c in CATEGORY_BY_ID else 255


def is_thing_value(value: int) -> bool:
    """Whether a ``pan`` value is a segment of a thing category (an object or a crowd region)."""
    c = category_of_value(value)
    return c != 255 and bool(IS_THING_LUT[c])


STUFF_COLORS: dict[int, int] = {c: pack_color(CATEGORY_BY_ID[c].color) for c in sorted(STUFF_IDS)}
"""Segment id of each stuff value (its category colour)."""


def iscrowd_of_value(value: int) -> int:
    """1 for a value below 1000 whose category is a thing (a crowd region), else 0."""
    c = category_of_value(value)
    return int(value < 1000 and c != 255 and bool(IS_THING_LUT[c]))


def _hash_candidate(split: str, video: int, value: int, attempt: int, base: tuple[int, int, int]) -> int:
    digest = hashlib.blake2b(f"{split}/{video}/{value}/{attempt}".encode(), digest_size=6).digest()
    span = 2 * COLOR_SPREAD + 1
    rgb = []
    for channel, b in zip(base, (digest[0:2], digest[2:4], digest[4:6]), strict=True):
        offset = int.from_bytes(b, "big") % span - COLOR_SPREAD
        rgb.append(min(255, max(0, channel + offset)))
    return pack_color(rgb)


def _box(base: tuple[int, int, int]) -> list[int]:
    """Every colour within ±COLOR_SPREAD per channel of ``base``, in a fixed order."""
    ranges = [range(max(0, c - COLOR_SPREAD), min(255, c + COLOR_SPREAD) + 1) for c in base]
    return [r + 256 * g + 65536 * b for b in ranges[2] for g in ranges[1] for r in ranges[0]]


class TrackColors:
    """Segment ids of a split's ``(video, value)`` pairs, given video by video in increasing
    video order: the colours of a video depend only on the pairs of the videos before it, so
    they are known as soon as those have been seen (see the module)."""

    def __init__(self, split: str) -> None:
        self.split = split
        self._taken: set[int] = set(FORBIDDEN_IDS)
        self._boxes: dict[int, list[int]] = {}
        self._cursors: dict[int, int] = {}
        self._last: int | None = None

    def add(self, video: int, values: Iterable[int]) -> dict[int, int]:
        """Segment id of each of ``values`` (the ``pan`` values of ``video``, a video after
        every one given before). Void -> 0; stuff -> its category colour; a thing segment
        (crowd or not) -> a colour within ±30 per channel of its category colour, unique in the
        split, never a stuff colour or black."""
        if self._last is not None and video <= self._last:
            raise ValueError(f"video {video} given after video {self._last}")
        self._last = video
        return {value: self._one(video, value) for value in sorted(set(values))}

    def _one(self, video: int, value: int) -> int:
        c = category_of_value(value)
        if c == 255:
            return 0
        cat = CATEGORY_BY_ID[c]
        if not cat.isthing:
            return pack_color(cat.color)
        chosen = None
        for attempt in range(_HASH_TRIES):
            cand = _hash_candidate(self.split, video, value, attempt, cat.color)
            if cand not in self._taken:
                chosen = cand
                break
        if chosen is None:  # crowded box: the first free colour in a fixed order
            if c not in self._boxes:
                self._boxes[c] = _box(cat.color)
            box = self._boxes[c]
            i = self._cursors.get(c, 0)
            while i < len(box) and box[i] in self._taken:
                i += 1
            self._cursors[c] = i
            chosen = box[i] if i < len(box) else None
        if chosen is None:
            raise VpsError(f"split {self.split}", f"too many '{cat.name}' segments for unique colours")
        self._taken.add(chosen)
        return chosen


def assign_colors(split: str, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Segment id (packed RGB) of every ``(video, value)`` pair of a split (see
    :class:`TrackColors`, which is given the videos in sorted order)."""
    by_video: dict[int, set[int]] = {}
    for video, value in pairs:
        by_video.setdefault(video, set()).add(value)
    colors = TrackColors(split)
    return {(video, value): sid for video in sorted(by_video)
            for value, sid in colors.add(video, by_video[video]).items()}


def _pan_runs(pan: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The value and length of each run of equal ``pan`` values, in raster order."""
    starts, lengths = pixel_runs(pan)
    return np.asarray(pan).reshape(-1)[starts], lengths


def _run_ids(values: np.ndarray, colors: Mapping[int, int]) -> np.ndarray:
    """The segment id of each run of a ``pan`` frame whose run values are given."""
    lut = np.zeros(1 << 16, dtype=np.uint32)
    for value, sid in colors.items():
        lut[value] = sid
    return lut[values]


def _segments(values: np.ndarray, lengths: np.ndarray, colors: Mapping[int, int], where: object) -> list[dict]:
    counts = np.bincount(values, weights=lengths, minlength=1)
    out = []
    for value in np.flatnonzero(counts).tolist():
        c = category_of_value(value)
        if c == 255:
            continue
        if value not in colors:
            raise VpsError(where, f"value {value} has no colour (the file changed during the run?)")
        out.append({"id": int(colors[value]), "category_id": c,
                    "iscrowd": iscrowd_of_value(value), "area": int(counts[value])})
    out.sort(key=lambda s: s["id"])
    return out


def colorize(pan: np.ndarray, colors: Mapping[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 ``panoptic_video`` image of a ``pan`` frame, given value -> segment id."""
    values, lengths = _pan_runs(pan)
    return id2rgb(np.repeat(_run_ids(values, colors), lengths).reshape(np.shape(pan)))


def segments_info(pan: np.ndarray, colors: Mapping[int, int], where: object = "pan") -> list[dict]:
    """``segments_info`` of a frame: one record per non-void value, sorted by segment id."""
    return _segments(*_pan_runs(pan), colors, where)


@dataclass(frozen=True)
class VideoTask:
    """One annotated frame of stage 4: its image entry and its ``panoptic_inst`` file name."""

    frame: AnnotatedFrame
    pan_name: str


@dataclass(frozen=True)
class VideoContext:
    """What every stage-4 worker needs."""

    root: Path


def read_pan_runs(root: Path, split: str, name: str) -> PanRuns:
    """The ``panoptic_inst`` frame ``name`` of a split, read from its file, as runs."""
    path = output_dir(root, split, "panoptic_inst") / name
    arr = decode_png(read_file(path), path)
    if arr.ndim != 2:
        raise VpsError(path, "not a single-channel panoptic image")
    pan = arr.astype(np.uint16, copy=False)
    return PanRuns(*_pan_runs(pan), pan.shape)


_VALUES = np.arange(1 << 16)
THING_VALUE_LUT = IS_THING_LUT[np.minimum(np.where(_VALUES < 1000, _VALUES, _VALUES // 1000), 255)]
"""Which 16-bit ``pan`` values are thing segments (:func:`is_thing_value` of each)."""
del _VALUES


def _thing_values(frames: Iterable[PanRuns]) -> list[int]:
    """Distinct thing values (objects and crowd regions) of ``frames``, sorted."""
    seen = np.zeros(1 << 16, dtype=bool)
    for f in frames:
        seen[f.values] = True
    return np.flatnonzero(seen & THING_VALUE_LUT).tolist()


def _same_image(path: Path, ids: np.ndarray) -> bool:
    """Whether ``path`` exists and is the 8-bit RGB PNG of segment ids ``ids`` (an earlier run's
    output is kept then; one made with other colours, e.g. before videos were added to the
    split, is replaced)."""
    try:
        data = read_file(path)
        header = png_header(data, path)
        if (header.bit_depth, header.color_type) != (8, 2):
            return False
        old = decode_ids(data, path, reuse=True)
    except VpsError:  # missing, not a regular file, or not a whole PNG
        return False
    return old.shape == ids.shape and np.array_equal(old, ids)


def collect_values(ctx: VideoContext, unit: tuple[str, int, tuple[VideoTask, ...]]) -> list[int]:
    """Distinct thing values (objects and crowd regions) over the frames of one video (sorted)."""
    split, _, tasks = unit
    return _thing_values(read_pan_runs(ctx.root, split, t.pan_name) for t in tasks)


def _write_frame(root: Path, split: str, task: VideoTask, pan: PanRuns, colors: Mapping[int, int]) -> dict:
    """Write one ``panoptic_video`` frame (unless the same image is there); its record."""
    src = output_dir(root, split, "panoptic_inst") / task.pan_name
    info = _segments(pan.values, pan.lengths, colors, src)
    dst = output_dir(root, split, "panoptic_video") / task.pan_name
    run_ids = _run_ids(pan.values, colors)
    if not (dst.exists() and _same_image(dst, np.repeat(run_ids, pan.lengths).reshape(pan.shape))):
        atomic_write_bytes(dst, encode_runs_png(run_ids, pan.lengths, pan.shape, "ids"))  # packed RGB colours
    h, w = pan.shape
    return {"image": {"id": task.frame.image_id, "file_name": task.frame.file_name,
                      "width": int(w), "height": int(h)},
            "annotation": {"image_id": task.frame.image_id, "file_name": task.pan_name,
                           "segments_info": info}}


def write_video(ctx: VideoContext, unit: tuple[str, int, tuple[VideoTask, ...], dict[int, int]]) -> list[dict]:
    """Write the ``panoptic_video`` frames of one video; return each frame's annotation record.

    ``unit`` carries the colours of the video's thing values; stuff values get their category
    colour, anything else is void (black).
    """
    split, _, tasks, things = unit
    return write_frames(ctx.root, split, tasks, [read_pan_runs(ctx.root, split, t.pan_name) for t in tasks], things)


def video_frames(root: Path, split: str, tasks: Sequence[VideoTask], made: Mapping[str, PanRuns]
                 ) -> tuple[list[PanRuns], list[int]]:
    """The ``pan`` frames of one video's stage-4 ``tasks`` (those stage 3 just made, in ``made``
    by file name; the others read from ``panoptic_inst``) and their thing values, sorted: what
    :meth:`TrackColors.add` and :func:`write_frames` take."""
    frames = [made[t.pan_name] if t.pan_name in made else read_pan_runs(root, split, t.pan_name) for t in tasks]
    return frames, _thing_values(frames)


def write_frames(root: Path, split: str, tasks: Sequence[VideoTask], frames: Sequence[PanRuns],
                 things: Mapping[int, int]) -> list[dict]:
    """Write the ``panoptic_video`` frames of one video from its ``pan`` frames, given the colours
    of its thing values (stuff values get their category colour, anything else is void, black);
    return each frame's annotation record."""
    colors = {**STUFF_COLORS, **things}
    return [_write_frame(root, split, t, f, colors) for t, f in zip(tasks, frames, strict=True)]


def plan(root: Path, split: str, coming: Iterable[str] = ()) -> dict[int, list[VideoTask]]:
    """The ``panoptic_inst`` frame of every annotated frame, by image id, grouped per video.

    ``coming``: names of ``panoptic_inst`` files that stage 3 writes in the same run, counted
    as if they were there already.
    """
    frames = annotated_frames(Path(root) / panoptic_im_json(split))
    folder = output_dir(root, split, "panoptic_inst")
    files = files_by_image_id(folder)
    for name in coming:
        names = files.setdefault(image_id_of_file(name), [])
        if name not in names:
            names.append(name)
    out: dict[int, list[VideoTask]] = {}
    for video, group in group_by_video(frames).items():
        tasks = []
        for f in group:
            found = files.get(f.iid, [])
            if len(found) != 1:
                problem = "no panoptic file" if not found else "several panoptic files"
                raise VpsError(folder, f"{problem} for image {f.iid} (run the panoptic stage first)")
            tasks.append(VideoTask(f, found[0]))
        out[video] = tasks
    return out


def gt_json_bytes(records: Iterable[dict]) -> bytes:
    """The ``panoptic_gt_{split}_city_vps.json`` document (records in image-id order)."""
    records = sorted(records, key=lambda r: r["image"]["id"])
    doc = {"images": [r["image"] for r in records],
           "annotations": [r["annotation"] for r in records],
           "categories": categories_json()}
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def write_gt_json(root: Path, split: str, records: Iterable[dict]) -> Path:
    """Write the stage-4 JSON atomically; return its path."""
    path = Path(root) / panoptic_gt_json(split)
    atomic_write_bytes(path, gt_json_bytes(records))
    return path
