"""``coco-panoptic``: per frame, a COCO panoptic PNG (id = R + 256·G + 256²·B, 0 void) and its
``segments_info`` in a JSON (detectron2-style output).

Segment ids need not be stable across frames. A segment is linked across the frames of its
video only through a ``track_id`` (or ``instance_id``) key: segments of one category with
the same key are one object. A thing segment without such a key is an object of its own
frame; one with ``iscrowd`` 1 belongs to no object (a crowd region). Stuff segments are one
segment per category, whatever their ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import VpsError
from ..jsonfields import segment_records, show
from ..pngio import id2rgb, rgb2id
from .rules import VOID
from .tracks import PanopticFrame, Runs, VideoTracks, find_sorted

TRACK_KEYS = ("track_id", "instance_id")
"""Keys of a segment record that link it across frames, the first one present wins."""


@dataclass(frozen=True)
class CocoSegment:
    """One checked ``segments_info`` record: id, category value, crowd flag and track key."""

    id: int
    category_id: int
    iscrowd: bool
    track: int | str | None


def segments(records: object, where: str) -> list[CocoSegment]:
    """The records of one frame, checked (ids 1 … 2**24-1 once each, integer categories,
    ``iscrowd`` 0/1, a track key an integer or a string)."""
    out = []
    for rec, raw in zip(segment_records(records, where, gt=True), records, strict=True):  # type: ignore[call-overload]
        track = next((raw[k] for k in TRACK_KEYS if k in raw and raw[k] is not None), None)
        if track is not None and (isinstance(track, bool) or not isinstance(track, (int, str))):
            raise VpsError(where, f"segment id {rec.id}: track key {show(track)} is not an integer or a string")
        out.append(CocoSegment(rec.id, rec.category_id, bool(rec.iscrowd), track))
    return out


def decode(rgb: np.ndarray) -> np.ndarray:
    """Segment ids of an (H, W, 3|4) uint8 COCO panoptic image."""
    return rgb2id(rgb)


def encode(ids: np.ndarray) -> np.ndarray:
    """The (H, W, 3) uint8 COCO panoptic image of segment ids."""
    return id2rgb(ids)


class CocoVideo:
    """The frames of one video in the prediction format, objects linked by their track keys."""

    def __init__(self, tracks: VideoTracks) -> None:
        self.tracks = tracks
        self._codes: dict[int | str, int] = {}
        self._next = 0

    def _code(self, track: int | str | None) -> int:
        if track is not None and track in self._codes:
            return self._codes[track]
        self._next += 1
        if track is not None:
            self._codes[track] = self._next
        return self._next

    def frame(self, ids: np.ndarray, segs: Sequence[CocoSegment], where: str,
              png_where: str | None = None) -> PanopticFrame:
        """The next frame: ``ids`` (H, W) segment ids of its PNG (``png_where`` names it) and
        its segments (``where`` names them)."""
        png_where = png_where or where
        by_id = sorted(segs, key=lambda s: s.id)
        table = np.array([s.id for s in by_id], dtype=np.int64)
        cats = self.tracks.rules.categories(np.array([s.category_id for s in by_id], dtype=np.int64), where)
        codes = np.array([self._code(s.track) for s in by_id], dtype=np.int64)
        crowd = np.array([s.iscrowd for s in by_id], dtype=bool) & self.tracks.rules.table.is_thing[cats & 0xFF] & (cats >= 0)
        runs = Runs(ids)
        run_ids = runs.values(ids).astype(np.int64)
        clipped, found = find_sorted(table, run_ids)
        stray = ~found & (run_ids != 0)
        if stray.any():
            sid = int(run_ids[np.flatnonzero(stray)[0]])
            raise VpsError(png_where, f"segment id {sid} of the PNG is not in its segments_info ({where})")
        index = np.where(found, clipped, table.size)  # one past the segments: void
        return self.tracks.frame_runs(runs, np.append(cats, VOID)[index], np.append(codes, 0)[index],
                                      np.append(crowd, False)[index], where)
