"""A synthetic Cityscapes-VPS download, in the exact formats of the real one (SPEC §1).

:func:`synthesize` writes the three inputs a user has:

- ``leftImg8bit_sequence/val/{city}/…_leftImg8bit.png``: 30 consecutive RGB frames per video;
- ``gtFine/val/{city}/…_gtFine_{color,labelIds,instanceIds}.png`` and ``…_polygons.json`` for the
  20th frame of each video, strictly consistent as the real fine annotations are;
- ``cityscapes_vps/``: the five release JSON files and ``{train,val}/{cls,inst}`` for the five
  frames of each video annotated by the VPS authors;

either as folders or (``as_zip=True``) as the three zips of the real downloads.

Each video is a street scene seen from a slowly panning camera: stuff regions (road, sidewalk,
buildings, sky, vegetation, poles, …), void regions of every colour (black labels, ``dynamic``,
``ground``), a ``polegroup``, crowd ("group") regions, and moving thing objects with persistent
instance ids that enter, leave and occlude each other, including caravans and trailers. The VPS
frames add what separate annotation passes produce: an object whose pixels carry two thing colours
(a rider over its bicycle) and an object whose majority colour is void. Everything is drawn as
polygons (the gtFine ``_polygons.json`` rasterises to exactly the label images) from a numpy
Generator seeded by ``(seed, video)``, so the output is byte-identical for any number of workers.

The modules: :mod:`~vpskit.synth.plans` (the videos and their splits), :mod:`~vpskit.synth.shapes`
and :mod:`~vpskit.synth.scene` (the scenes, drawn frame by frame), :mod:`~vpskit.synth.cityscapes`
(the files of the download), :mod:`~vpskit.synth.output` (what every writer shares);
:mod:`~vpskit.synth.kitti` and :mod:`~vpskit.synth.vipseg` write KITTI-STEP and VIPSeg datasets.
"""

from __future__ import annotations

from ..coco_instances import instance_annotations
from .cityscapes import (
    DEFAULT_SIZE,
    GTFINE_DIR,
    GTFINE_ZIP,
    IMAGES_DIR,
    IMAGES_ZIP,
    MARKER,
    MAX_VIDEOS,
    RELEASE_DIR,
    RELEASE_ZIP,
    SynthResult,
    synthesize,
)
from .output import FRAME_COMPRESS_LEVEL
from .plans import CITIES, SPLIT_RATIO, VideoPlan, plan_videos, split_assignment, split_counts

__all__ = ["CITIES", "DEFAULT_SIZE", "FRAME_COMPRESS_LEVEL", "GTFINE_DIR", "GTFINE_ZIP", "IMAGES_DIR",
           "IMAGES_ZIP", "MARKER", "MAX_VIDEOS", "RELEASE_DIR", "RELEASE_ZIP", "SPLIT_RATIO",
           "SynthResult", "VideoPlan", "instance_annotations", "plan_videos", "split_assignment",
           "split_counts", "synthesize"]
