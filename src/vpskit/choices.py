"""The fixed sets of names the command line offers as choices, free of heavy imports.

Building the ``vpskit`` parser (``vpskit --help``, and every command before its work starts)
reads these; the modules that implement them (:mod:`vpskit.evaluation.metrics.stq`,
:mod:`vpskit.formats`, :mod:`vpskit.profiles.cityscapes_vps`) take them from here, so each list
is written once. This module imports nothing, numpy least of all.
"""

from __future__ import annotations

VOID_RULES = ("class", "miss")
"""How STQ counts predicted void on labelled pixels in its IoU term: as a class of IoU 0
(deeplab2) or only as a miss of the GT category."""
DEFAULT_VOID_RULE = "class"

CITYSCAPES_VPS_SPANS: tuple[int, ...] = (0, 5, 10, 15)
"""Cityscapes-VPS's VPQ window spans k, in frames of the original sequence (annotated frames are
5 apart)."""

MAP_FORMATS = ("cat-ins", "2ch", "divisor", "kitti-step")
"""The formats of per-frame category and instance maps (:data:`vpskit.formats.MAPS`)."""
COCO_PANOPTIC = "coco-panoptic"
FORMATS = (*MAP_FORMATS, COCO_PANOPTIC)
"""Every format ``convert`` reads and ``export`` writes."""
COCO_INSTANCES = "coco-instances"
"""COCO instance annotations of the thing objects (ground truth only: see :mod:`vpskit.coco_instances`)."""
EXPORT_FORMATS = (*FORMATS, COCO_INSTANCES)
"""Every format ``export`` writes."""
