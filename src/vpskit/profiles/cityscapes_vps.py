"""Cityscapes-VPS (SPEC): 19 categories (8 things), 6 annotated frames per video, VPQ over
windows of k = 0, 5, 10, 15 frames, STQ as deeplab2 computes it."""

from __future__ import annotations

from ..categories import CATEGORIES, VOID
from ..choices import CITYSCAPES_VPS_SPANS as SPANS
from . import Profile, ProfileCategory, Reference

PROFILE = Profile(
    name="cityscapes-vps",
    title="Cityscapes-VPS",
    categories=tuple(ProfileCategory(c.id, c.name, c.isthing) for c in CATEGORIES),
    void=VOID,
    gt_encoding="panoptic_video/{name}: RGB, segment id = R + 256 G + 256² B (0 void), categories "
                "and crowd flags in panoptic_gt_{split}_city_vps.json",
    pred_encoding="pred.json + pan_pred/{image_id}.png: RGB, segment id = R + 256 G + 256² B (0 void)",
    annotated_frames="the 5th, 10th, 15th, 20th, 25th and 30th frame of each 30-frame snippet, "
                     "in image-id order",
    stq_reference=Reference("google-research/deeplab2", "evaluation/numpy/segmentation_and_tracking_quality.py",
                            "64bc1c1a6505b6cd1779b65f9127180840b8a4fa"),
    stq_label_divisor=1 << 16,
    stq_things=tuple(c.id for c in CATEGORIES if c.isthing),
    stq_instance_zero="a crowd segment (iscrowd 1) of a thing category is a crowd region, not a track",
    vpq_spans=SPANS,
    vpq_window_frames=tuple(k // 5 + 1 for k in SPANS),
    vpq_final="mean of VPQ over the spans",
    vpq_reference=Reference("mcahny/vps", "tools/eval_vpq.py", "138503edbc9e70de744dc0c9fa4b71c799a94d5d"),
)
