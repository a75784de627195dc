"""VIPSeg preparation, per frame and per video: what the VIPSeg scripts ``change2_720p.py``,
``create_panoptic_video_labels.py`` and ``splitjson.py`` make from the download (see
:mod:`vpskit.profiles.vipseg`), as pure functions.

- :func:`resize_image` / :func:`resize_mask`: height 720, width ``int(720 * w / h)`` of the
  *image* (the mask follows the image's size), bilinear for the image (saved as Pillow's default
  JPEG), nearest-neighbour for the mask;
- :class:`VideoSegments` and :func:`convert_frame`: a 720p raw mask to the RGB segment-id map of
  ``panomasksRGB/`` and the frame's ``segments_info``, one segment per raw value in the whole
  video, listed in increasing raw value;
- :func:`video_entries` and :func:`panoptic_document`: the JSON of ``panoptic_gt_VIPSeg*.json``.

:mod:`.vipseg_run` reads a download and writes the prepared folder with these.

Segment ids are those of the VIPSeg scripts for stuff (the category's colour) and for the first
object of each thing category (its colour, unless a stuff category has it); further objects get
colours within 30 of their category's, drawn from a generator seeded per video instead of the
scripts' unseeded one, so the output is deterministic. Raw values the encoding does not allow
are refused (:func:`check_raw_values`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ..errors import VpsError
from ..profiles.vipseg import (
    CATEGORY_TABLE,
    RAW_STUFF_MAX,
    RAW_THING_DIVISOR,
    TARGET_HEIGHT,
)

__all__ = ["VideoSegments", "check_raw_values", "convert_frame", "panoptic_document", "resize_image",
           "resize_mask", "split_document", "target_size", "video_entries"]

_THING = np.array([thing for _, _, thing, _ in CATEGORY_TABLE], bool)
_COLOURS = np.array([colour for *_, colour in CATEGORY_TABLE], np.int64)
COLOUR_JITTER = 30
"""Largest difference, per channel, of an object's colour from its category's colour."""


def target_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of a frame of ``width`` x ``height`` once prepared."""
    return int(TARGET_HEIGHT * width / height), TARGET_HEIGHT


def resize_image(data: bytes, where: object) -> tuple[bytes, tuple[int, int]]:
    """The prepared JPEG of a frame image (``data``: its file) and the image's original size."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            small = img.resize(target_size(*size), Image.BILINEAR)
    except (OSError, ValueError) as exc:
        raise VpsError(where, f"not a readable image ({exc})") from None
    out = io.BytesIO()
    small.save(out, "JPEG")
    return out.getvalue(), size


def resize_mask(data: bytes, size: tuple[int, int], where: object) -> np.ndarray:
    """The raw mask (``data``: its PNG) resized nearest-neighbour to ``target_size(*size)``, with
    ``size`` the frame image's size; uint16."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.mode not in ("I;16", "I", "L"):
                raise VpsError(where, f"a VIPSeg mask must be grayscale, not mode {img.mode}")
            mask = np.array(img.resize(target_size(*size), Image.NEAREST))
    except (OSError, ValueError) as exc:
        raise VpsError(where, f"not a readable PNG ({exc})") from None
    if mask.size and (mask.min() < 0 or mask.max() > 0xFFFF):
        raise VpsError(where, f"mask value {int(mask.max())} does not fit 16 bits")
    return mask.astype(np.uint16)


def check_raw_values(values: np.ndarray, where: object) -> None:
    """Refuse raw mask values outside the VIPSeg encoding: above 124, a value must be
    ``(category + 1) * 100 + instance`` of an existing thing category."""
    high = values[values > RAW_STUFF_MAX].astype(np.int64)
    cats = high // RAW_THING_DIVISOR - 1
    bad = high[(cats >= len(_THING)) | ~_THING[np.minimum(cats, len(_THING) - 1)]]
    if bad.size:
        v = int(bad[0])
        cat = v // RAW_THING_DIVISOR - 1
        why = (f"category {cat} does not exist" if cat >= len(_THING)
               else f"category {cat} ({CATEGORY_TABLE[cat][1]}) is stuff, it has no instances")
        raise VpsError(where, f"invalid raw mask value {v}: {why} (values above {RAW_STUFF_MAX} "
                              f"are (category + 1) * {RAW_THING_DIVISOR} + instance of a thing category)")


class VideoSegments:
    """The segment id of each raw value of one video, given as the VIPSeg conversion gives them."""

    def __init__(self) -> None:
        self._ids: dict[int, int] = {}
        self._taken = {(0, 0, 0)} | {tuple(c) for (_, _, thing, c) in CATEGORY_TABLE if not thing}
        self._rng = np.random.default_rng(0)

    def _colour(self, category: int) -> tuple[int, int, int]:
        base = tuple(int(c) for c in _COLOURS[category])
        if not _THING[category]:
            return base
        colour = base
        while colour in self._taken:
            jitter = self._rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3)
            colour = tuple(int(c) for c in np.clip(_COLOURS[category] + jitter, 0, 255))
        self._taken.add(colour)
        return colour

    def segment(self, value: int) -> tuple[int, int]:
        """(segment id, category id) of raw value ``value`` (not void, already checked)."""
        category = value - 1 if value <= RAW_STUFF_MAX else value // RAW_THING_DIVISOR - 1
        if value not in self._ids:
            r, g, b = self._colour(category)
            self._ids[value] = r + 256 * g + 65536 * b
        return self._ids[value], category


def convert_frame(mask: np.ndarray, segments: VideoSegments, where: object) -> tuple[np.ndarray, list[dict]]:
    """The ``panomasksRGB`` image (H, W, 3 uint8) of a prepared raw mask and the frame's
    ``segments_info`` (``id``, ``category_id``, ``iscrowd`` 0, ``area``), in increasing raw value."""
    values, inverse, counts = np.unique(mask, return_inverse=True, return_counts=True)
    check_raw_values(values, where)
    ids = np.zeros(len(values), np.uint32)
    info: dict[int, dict] = {}
    for i, value in enumerate(values.tolist()):
        if value == 0:
            continue
        seg, category = segments.segment(value)
        ids[i] = seg
        entry = info.setdefault(seg, {"id": seg, "category_id": category, "iscrowd": 0, "area": 0})
        entry["area"] += int(counts[i])
    pan = ids[inverse.reshape(mask.shape)]
    rgb = np.stack([pan & 255, (pan >> 8) & 255, pan >> 16], axis=-1).astype(np.uint8)
    return rgb, list(info.values())


def video_entries(video: str, frames: Sequence[tuple[str, int, int, list[dict]]]) -> tuple[dict, dict]:
    """The ``videos`` and ``annotations`` entries of one video, from its frames in name order:
    (mask file name, width, height, segments_info)."""
    images = [{"id": name.split(".")[0], "width": w, "height": h, "file_name": name} for name, w, h, _ in frames]
    annotations = [{"image_id": name.split(".")[0], "file_name": name, "segments_info": info}
                   for name, _, _, info in frames]
    return {"video_id": video, "images": images}, {"video_id": video, "annotations": annotations}


def panoptic_document(entries: Sequence[tuple[dict, dict]], categories: list[dict]) -> dict:
    """``panoptic_gt_VIPSeg.json``: the (videos, annotations) entries of every video, in video
    name order, and the categories."""
    return {"videos": [v for v, _ in entries], "annotations": [a for _, a in entries], "categories": categories}


def split_document(doc: dict, videos: Sequence[str]) -> dict:
    """``panoptic_gt_VIPSeg_{split}.json``: ``doc`` restricted to ``videos`` (a split list), in
    ``doc``'s order."""
    keep = set(videos)
    return {key: value if key == "categories" else [v for v in value if v["video_id"] in keep]
            for key, value in doc.items()}

