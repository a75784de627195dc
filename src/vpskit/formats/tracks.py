"""From per-frame category and instance maps to the prediction format (``pan_pred`` PNG +
``segments_info``), with one segment id per object for the whole video.

Segment ids (SPEC §4: ``id = R + 256·G + 256²·B``, 0 void):

- a stuff category ``c``, and the pixels of a thing category ``c`` that belong to no object
  (a crowd region): ``c + 1`` (R = c + 1, G = B = 0);
- an object, i.e. a (thing category ``c``, instance) pair: ``c + 1 + 256·k``, where ``k`` = 1,
  2, … numbers the objects of category ``c`` in the order they first appear in the video
  (within one frame, by increasing instance value), at most :data:`MAX_TRACKS`.

So the red channel is always the category + 1, the ids are the same whatever order the videos
are converted in, and one object keeps one id in every frame of its video.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import VpsError
from ..pngio import encode_ids_png, id2rgb
from ..runs import pixel_runs
from .rules import DEFAULT_THING_ZERO, VOID, LabelRules

MAX_TRACKS = (1 << 16) - 1
"""Objects of one category in one video (``k`` of ``c + 1 + 256·k`` below 2**24)."""
_MAX_INSTANCE = 1 << 53


class Runs:
    """Runs of equal pixels of one or more (H, W) maps, row by row: each run lies in one row.

    Segment maps are made of few long runs, so work on runs is cheap next to the pixels.
    """

    def __init__(self, *maps: np.ndarray) -> None:
        first = maps[0]
        self.shape: tuple[int, int] = (int(first.shape[0]), int(first.shape[1]))
        self.starts, self.lengths = pixel_runs(*maps, row_width=self.shape[1])

    def values(self, m: np.ndarray) -> np.ndarray:
        """The value of ``m`` on each run."""
        return np.ascontiguousarray(m).reshape(-1)[self.starts]

    def paint(self, run_values: np.ndarray, dtype: type | np.dtype | None = None) -> np.ndarray:
        """The (H, W) map that has ``run_values[i]`` on run ``i``."""
        vals = np.asarray(run_values) if dtype is None else np.asarray(run_values, dtype=dtype)
        return np.repeat(vals, self.lengths).reshape(self.shape)

    def boxes(self, index: np.ndarray, count: int) -> np.ndarray:
        """``[x, y, width, height]`` of the pixels of each of ``count`` groups of runs
        (``index[i]``: the group of run ``i``, negative: none); (count, 4) int64, zeros for an
        empty group."""
        keep = index >= 0
        index = index[keep]
        y, x0 = np.divmod(self.starts[keep], max(self.shape[1], 1))
        x1 = x0 + self.lengths[keep] - 1
        big = np.iinfo(np.int64).max
        lo_x, lo_y = np.full(count, big), np.full(count, big)
        hi_x, hi_y = np.full(count, -1), np.full(count, -1)
        np.minimum.at(lo_x, index, x0)
        np.minimum.at(lo_y, index, y)
        np.maximum.at(hi_x, index, x1)
        np.maximum.at(hi_y, index, y)
        found = hi_x >= 0
        out = np.zeros((count, 4), dtype=np.int64)
        out[found] = np.stack((lo_x, lo_y, hi_x - lo_x + 1, hi_y - lo_y + 1), axis=1)[found]
        return out


def find_sorted(table: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each of ``values`` in the sorted ``table`` (clipped to a valid index) and
    whether it is there."""
    pos = np.searchsorted(table, values)
    if not table.size:
        return np.zeros(values.shape, dtype=np.intp), np.zeros(values.shape, dtype=bool)
    clipped = np.minimum(pos, table.size - 1)
    return clipped, table[clipped] == values


@dataclass(frozen=True)
class PanopticFrame:
    """One frame in the prediction format: ``ids`` (H, W) uint32 segment ids (0 void) and the
    ``segments_info`` records of ``pred.json`` (``id``, ``category_id``, ``iscrowd`` 1 for a
    thing's pixels that belong to no object, ``area``), sorted by id."""

    ids: np.ndarray
    segments_info: list[dict]

    @property
    def rgb(self) -> np.ndarray:
        """The (H, W, 3) uint8 ``pan_pred`` image."""
        return id2rgb(self.ids)

    def png(self) -> bytes:
        """The ``pan_pred/{image_id}.png`` bytes (8-bit RGB, vpskit's fixed PNG settings)."""
        return encode_ids_png(self.ids)


class VideoTracks:
    """Segment ids of the objects of one video, stable across its frames (see the module).

    Give each frame of the video, in order, to :meth:`frame` (category and instance maps, in
    the numbering of ``categories``); the first frame an object appears in fixes its id. The
    options mean what ``vpskit convert``'s do: ``categories`` is ``"trainid"``, ``"labelid"``,
    a JSON mapping file or a mapping (value → category id or None for void); ``void`` the void
    values; ``thing_zero`` whether instance 0 of a thing is a ``"crowd"`` region (no object)
    or an ``"object"``; a non-zero ``no_instance`` on a thing is a crowd region too.

    >>> tracks = VideoTracks()
    >>> frame = tracks.frame(category, instance)       # (H, W) integer arrays
    >>> frame.png(), frame.segments_info               # pan_pred PNG bytes, pred.json records
    """

    def __init__(self, categories: str | os.PathLike | Mapping[int, int | None] = "trainid",
                 void: int | Iterable[int] = (255,), no_instance: int = 0,
                 thing_zero: str = DEFAULT_THING_ZERO, *, rules: LabelRules | None = None) -> None:
        self.rules = rules if rules is not None else LabelRules.make(categories, void, no_instance, thing_zero)
        self._ids: dict[tuple[int, int], int] = {}
        self._count = [0] * 256

    @property
    def tracks(self) -> dict[tuple[int, int], int]:
        """Segment id of each (category id, instance value) object met so far."""
        return dict(self._ids)

    def frame(self, category: np.ndarray, instance: np.ndarray | None = None,
              where: str = "frame") -> PanopticFrame:
        """The next frame of the video: ``category`` and ``instance`` (H, W) integer maps
        (``instance`` None: no objects). ``VpsError`` naming ``where`` for an unknown category
        value, a negative instance, or more objects than segment ids can number."""
        category = np.asarray(category)
        if instance is None:
            instance = np.full(category.shape, self.rules.no_instance, dtype=np.int64)
        instance = np.asarray(instance)
        if category.ndim != 2 or category.shape != instance.shape:
            raise VpsError(where, f"category and instance maps must be 2-D and of one size "
                           f"(got {category.shape} and {instance.shape})")
        for arr, what in ((category, "category"), (instance, "instance")):
            if arr.dtype.kind not in "iu":
                raise VpsError(where, f"{what} values of type {arr.dtype} are not integers")
        runs = Runs(category, instance)
        cats = self.rules.categories(runs.values(category), where)
        inst = runs.values(instance).astype(np.int64)
        return self.frame_runs(runs, cats, inst, self.rules.crowd(cats, inst), where)

    def frame_runs(self, runs: Runs, category: np.ndarray, instance: np.ndarray, crowd: np.ndarray,
                   where: str) -> PanopticFrame:
        """:meth:`frame` on runs: per run, the category id (:data:`~vpskit.formats.rules.VOID`
        for void), the instance value and whether it is a thing's pixels outside any object."""
        seg = np.where(category >= 0, category + 1, 0).astype(np.int64)
        is_thing = self.rules.table.is_thing
        is_object = (category >= 0) & is_thing[category & 0xFF] & ~crowd
        if is_object.any():
            inst = instance[is_object]
            if int(inst.min()) < 0 or int(inst.max()) >= _MAX_INSTANCE:
                bad = int(inst.min()) if int(inst.min()) < 0 else int(inst.max())
                raise VpsError(where, f"instance id {bad} is outside 0 … 2**53")
            keys, inverse = np.unique(inst * 256 + category[is_object], return_inverse=True)
            seg[is_object] = np.array([self._segment_id(int(k) % 256, int(k) // 256, where)
                                       for k in keys.tolist()], dtype=np.int64)[inverse.reshape(-1)]
        present, inverse = np.unique(seg, return_inverse=True)
        area = np.bincount(inverse.reshape(-1), weights=runs.lengths, minlength=present.size)
        info = []
        for sid, pixels in zip(present.tolist(), area.tolist(), strict=True):
            if sid:
                cat = (sid & 0xFF) - 1
                crowd_region = bool(is_thing[cat]) and sid < 256
                info.append({"id": sid, "category_id": cat, "iscrowd": int(crowd_region),
                             "area": int(pixels)})
        return PanopticFrame(runs.paint(seg, np.uint32), info)

    def _segment_id(self, cat: int, inst: int, where: str) -> int:
        sid = self._ids.get((cat, inst))
        if sid is None:
            k = self._count[cat] + 1
            if k > MAX_TRACKS:
                raise VpsError(where, f"instance id {inst}: more than {MAX_TRACKS} objects of "
                               f"{self.rules.table.names[cat]} in one video, past what segment ids "
                               "(category + 1 + 256·k < 2**24) can hold")
            self._count[cat] = k
            sid = self._ids[(cat, inst)] = cat + 1 + 256 * k
        return sid


__all__ = ["MAX_TRACKS", "VOID", "PanopticFrame", "Runs", "VideoTracks", "find_sorted"]
