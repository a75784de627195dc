"""One palette rule for every picture of a video, ground truth and prediction alike.

- A stuff segment, and a crowd region of a thing category, takes the Cityscapes colour of its
  category (the ``color`` of the ground-truth JSON's category record).
- The thing tracks of the ground truth (non-crowd segments of a thing category; a segment id is
  a track over the whole video) take one colour each, the same in every frame: the tracks of a
  video, in segment-id order, take the colours of a sequence whose hue steps by the golden ratio
  of a turn (so that tracks close in the sequence are far apart in hue) from a start derived
  from the video's name, with a lightness and saturation that cycle over three tones. No shared
  random state: the same video gets the same colours on every run.
- A predicted track matched to a GT track takes that track's colour. The matching is VPQ's
  (:func:`vpskit.evaluation.metrics.vpq.match_window`, the code the metric uses) over one window
  holding all the annotated frames of the video. Unmatched predicted thing segments, in id
  order, take the next colours of the sequence, never one a GT segment of the video has.
- Labels: a track is ``"{category} {n}"`` with ``n`` its number in the video (GT tracks 1, 2, …
  in id order, then the unmatched predicted ones; a matched prediction shows its GT track's
  number), so that the same number means the same colour; stuff and crowd: the category name.
"""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..categories import CATEGORY_BY_ID
from ..evaluation.metrics.categories import CategorySet
from ..evaluation.tables import Segments, first_occurrence

_GOLDEN = 0.6180339887498949
"""Hue step between consecutive tracks, in turns."""
_TONES = ((0.85, 1.0), (0.5, 1.0), (1.0, 0.72))
"""(saturation, value) of the track colours, cycling with the track's number."""
VOID_COLOUR = (0, 0, 0)


@dataclass(frozen=True)
class CategoryStyle:
    """How a category is drawn: its name, Cityscapes colour, and whether it has tracks."""

    name: str
    colour: tuple[int, int, int]
    isthing: bool


def category_styles(records: Sequence[dict], categories: CategorySet) -> dict[int, CategoryStyle]:
    """Name and colour of each category of a ground-truth JSON (its ``categories`` records);
    a record without them takes the Cityscapes-VPS table's, else a grey and ``category {id}``."""
    out: dict[int, CategoryStyle] = {}
    for rec, cid, isthing in zip(records, categories.ids, categories.isthing, strict=True):
        known = CATEGORY_BY_ID.get(cid)
        name = rec.get("name") if isinstance(rec.get("name"), str) else (known.name if known else f"category {cid}")
        colour = rec.get("color") or (known.color if known else (128, 128, 128))
        out[cid] = CategoryStyle(name, (int(colour[0]), int(colour[1]), int(colour[2])), isthing)
    return out


def track_colour(video: str, number: int, shift: float = 0.0) -> tuple[int, int, int]:
    """The ``number``-th (0-based) colour of the track-colour sequence of ``video`` (its hue moved
    on by ``shift`` hue steps)."""
    start = zlib.crc32(f"vpskit track colours {video}".encode()) / 2**32
    saturation, value = _TONES[number % len(_TONES)]
    r, g, b = colorsys.hsv_to_rgb((start + (number + shift) * _GOLDEN) % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def track_colour_avoiding(video: str, number: int, styles: dict[int, CategoryStyle]) -> tuple[int, int, int]:
    """:func:`track_colour`, moved on by half a hue step where it would equal a category colour."""
    colour = track_colour(video, number)
    if any(colour == s.colour for s in styles.values()):
        colour = track_colour(video, number, 0.5)
    return colour


@dataclass(frozen=True)
class Palette:
    """Colour and label of every segment id of one video, on one side (GT or prediction).

    ``ids`` are sorted, void (0) first; ``colours`` ((n, 3) uint8), ``labels``, ``category``
    (category id, -1 for void) and ``track`` (a thing track, not crowd) are aligned with them.
    """

    ids: np.ndarray
    colours: np.ndarray
    labels: tuple[str, ...]
    category: np.ndarray
    track: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Position of each id of ``ids`` in :attr:`ids` (int32); ``ValueError`` for an id not there."""
        pos = np.searchsorted(self.ids, ids).astype(np.int32)
        np.minimum(pos, self.ids.size - 1, out=pos)
        if not np.array_equal(self.ids[pos], ids):
            raise ValueError("an id map holds a segment id the palette does not know")
        return pos

    def colour_of(self, segment_id: int) -> tuple[int, int, int]:
        """The colour of one segment id."""
        return tuple(int(v) for v in self.colours[int(self.positions(np.asarray([segment_id]))[0])])


def _segments_table(segments: Sequence[Segments]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ids (sorted, void first) of the frames' segments, with the category and crowd
    flag of each id's first record."""
    ids, cats, crowd, _ = first_occurrence(list(segments))
    keep = ids != 0
    return (np.concatenate(([0], ids[keep])).astype(np.uint32), np.concatenate(([-1], cats[keep])),
            np.concatenate(([False], crowd[keep])))


def _palette(ids: np.ndarray, cats: np.ndarray, crowd: np.ndarray, styles: dict[int, CategoryStyle],
             track_numbers: dict[int, int], video: str) -> Palette:
    colours = np.zeros((ids.size, 3), dtype=np.uint8)
    labels = [""]
    track = np.zeros(ids.size, dtype=bool)
    for i in range(1, ids.size):
        style = styles[int(cats[i])]
        number = track_numbers.get(int(ids[i]))
        if number is None:
            colours[i] = style.colour
            labels.append(style.name)
        else:
            colours[i] = track_colour_avoiding(video, number, styles)
            labels.append(f"{style.name} {number + 1}")
            track[i] = True
    return Palette(ids, colours, tuple(labels), cats.astype(np.int64), track)


def _is_track(cats: np.ndarray, crowd: np.ndarray, styles: dict[int, CategoryStyle]) -> np.ndarray:
    thing = np.array([c >= 0 and styles[int(c)].isthing for c in cats.tolist()], dtype=bool)
    return thing & ~crowd


def gt_palette(video: str, segments: Sequence[Segments], styles: dict[int, CategoryStyle]) -> Palette:
    """The palette of a video's ground truth (``segments``: each annotated frame's)."""
    ids, cats, crowd = _segments_table(segments)
    tracks = ids[_is_track(cats, crowd, styles)]
    return _palette(ids, cats, crowd, styles, {int(t): n for n, t in enumerate(tracks.tolist())}, video)


def prediction_palette(video: str, segments: Sequence[Segments], styles: dict[int, CategoryStyle],
                       gt: Palette, matched: dict[int, int]) -> Palette:
    """The palette of a video's prediction (``segments``: each annotated frame's), given the
    GT palette and ``matched`` (``{predicted id: GT id}`` of the video-long tube matching)."""
    ids, cats, crowd = _segments_table(segments)
    gt_numbers = {int(i): n for n, i in enumerate(gt.ids[gt.track].tolist())}
    numbers: dict[int, int] = {}
    used = {tuple(int(v) for v in c) for c in gt.colours[1:]}
    next_number = len(gt_numbers)
    for sid in ids[_is_track(cats, crowd, styles)].tolist():
        if matched.get(sid) in gt_numbers:
            numbers[sid] = gt_numbers[matched[sid]]
            continue
        while track_colour_avoiding(video, next_number, styles) in used:
            next_number += 1
        numbers[sid] = next_number
        next_number += 1
    return _palette(ids, cats, crowd, styles, numbers, video)
