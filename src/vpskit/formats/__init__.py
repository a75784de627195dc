"""The outside formats of video panoptic labels and predictions, one module each: a small
decode/encode pair on numpy arrays, with no file-handling policy (that is
:mod:`vpskit.conversion`'s).

- :mod:`~vpskit.formats.cat_ins` (``cat-ins``), :mod:`~vpskit.formats.two_channel` (``2ch``),
  :mod:`~vpskit.formats.divisor` (``divisor``), :mod:`~vpskit.formats.kitti_step`
  (``kitti-step``): per-frame category and instance maps;
- :mod:`~vpskit.formats.coco_panoptic` (``coco-panoptic``): per-frame segment PNG + records;
- :mod:`~vpskit.formats.rules`: what the values mean (category numbering, void, no instance) and
  the categories they are read into (:class:`CategoryTable`, from a benchmark's profile);
- :mod:`~vpskit.formats.tracks`: :class:`VideoTracks`, from those maps to the prediction format
  with one segment id per object across a video, in memory.
"""

from __future__ import annotations

from ..choices import COCO_INSTANCES, COCO_PANOPTIC
from ..choices import EXPORT_FORMATS as EXPORT_NAMES
from ..choices import FORMATS as NAMES
from ..errors import VpsError
from . import cat_ins, divisor, kitti_step, two_channel
from .base import Format, FormatOptions
from .rules import SCHEMES, THING_ZERO, CategoryTable, LabelRules
from .tracks import MAX_TRACKS, PanopticFrame, VideoTracks

MAPS: dict[str, Format] = {f.name: f for f in (cat_ins.FORMAT, two_channel.FORMAT, divisor.FORMAT,
                                                kitti_step.FORMAT)}
"""The formats of per-frame category and instance maps, by name (in the order of
:data:`vpskit.choices.MAP_FORMATS`, the names the command line offers)."""


def check_name(name: str, option: str = "format") -> str:
    """``name`` if it is a format name, else ``VpsError`` listing them."""
    if name not in NAMES:
        raise VpsError(option, f"unknown format {name!r} (known: {', '.join(NAMES)})")
    return name


__all__ = ["COCO_INSTANCES", "COCO_PANOPTIC", "EXPORT_NAMES", "MAPS", "MAX_TRACKS", "NAMES", "SCHEMES", "THING_ZERO",
           "CategoryTable", "Format",
           "FormatOptions", "LabelRules", "PanopticFrame", "VideoTracks", "check_name"]
