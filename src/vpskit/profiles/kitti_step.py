"""KITTI-STEP (Weber et al. 2021, "STEP: Segmenting and Tracking Every Pixel"; data and
evaluation as google-research/deeplab2 release them, ``g3doc/setup/kitti_step.md``).

The 19 Cityscapes categories (train ids 0-18, 255 void); only person (11) and car (13) carry
track ids. Every frame of a sequence is annotated. Ground truth and predictions are one 8-bit RGB
PNG per frame, ``panoptic_maps/{split}/{sequence:04d}/{frame:06d}.png``, R = category,
G·256 + B = instance (0 for stuff, and for person/car pixels that belong to no single object: a
crowd region, which STQ leaves out of its association term).

VPQ is the one of Kim et al. (2020) with the windows the STEP paper used for KITTI-STEP: its first
author says (google-research/deeplab2 issue #64) that the paper kept VPQ's default setting, the
mean over windows of 0, 1, 2 and 3 labelled frames' span (Cityscapes-VPS's k = 0, 5, 10, 15, whose
every 5th frame is labelled); every KITTI-STEP frame is labelled, so windows of 1, 2, 3 and 4
consecutive frames, named k = 0, 1, 2, 3.
"""

from __future__ import annotations

from ..categories import CATEGORIES, VOID
from . import Profile, ProfileCategory, Reference, WindowSet

TRACKED = (11, 13)
"""The categories whose objects are tracked (person, car)."""
MAPS_DIR = "panoptic_maps"
IMAGES_DIR = "images"
SPLITS = ("train", "val", "test")
LABELLED_SPLITS = ("train", "val")
VPQ_WINDOWS = WindowSet(
    "paper", frames=(1, 2, 3, 4), spans=(0, 1, 2, 3),
    source="STEP paper (Weber et al. 2021): VPQ's default setting, windows spanning 0, 1, 2 and 3 labelled "
           "frames, as its first author states in google-research/deeplab2 issue #64")
"""VPQ's windows: k + 1 consecutive frames for k = 0, 1, 2, 3 (every frame is annotated)."""
VPQ_TUBES = ("a tube per person/car (category, instance) and per category of every other class (its "
             "instance ids ignored); a ground-truth person/car of instance 0 is a crowd region (never "
             "matched; a predicted tube of its category mostly on void and crowd is no false positive); "
             "things for the Things mean: person and car")
INSTANCE_ZERO = ("ground-truth person/car pixels of instance 0 are a crowd region (no track; predicted "
                 "pixels there are left out of AQ); a predicted person/car of instance 0 is one track")

PROFILE = Profile(
    commands=("synth", "verify", "eval", "convert", "show", "report", "compare"),
    name="kitti-step",
    title="KITTI-STEP",
    categories=tuple(ProfileCategory(c.id, c.name, c.id in TRACKED) for c in CATEGORIES),
    void=VOID,
    gt_encoding="panoptic_maps/{split}/{sequence:04d}/{frame:06d}.png: 8-bit RGB, R = category (0-18, "
                "255 void), G*256 + B = instance (0: stuff, or a person/car crowd region)",
    pred_encoding="the ground truth's: PRED/{sequence:04d}/{frame:06d}.png (or PRED/panoptic_maps/{split}/…), "
                  "R = category, G*256 + B = instance; instance 0 of person/car is one track",
    annotated_frames="every frame of a sequence, in frame-number order",
    stq_reference=Reference("google-research/deeplab2", "evaluation/numpy/segmentation_and_tracking_quality.py",
                            "64bc1c1a6505b6cd1779b65f9127180840b8a4fa"),
    stq_label_divisor=1 << 16,
    stq_things=TRACKED,
    stq_instance_zero=INSTANCE_ZERO,
    vpq_spans=VPQ_WINDOWS.spans,
    vpq_window_frames=VPQ_WINDOWS.frames,
    vpq_window_sets=(VPQ_WINDOWS,),
    vpq_final="mean of VPQ over the four window sizes",
    vpq_reference=Reference("mcahny/vps", "tools/eval_vpq.py", "138503edbc9e70de744dc0c9fa4b71c799a94d5d"),
    vpq_conventions={"tubes": VPQ_TUBES},
    markers=(MAPS_DIR,),
    layout="category-instance",
    extra_conventions={
        "label_encoding": "category * 65536 + instance (R, G*256 + B)",
        "void": VOID,
        "tracked_categories": list(TRACKED),
        "instance_zero": INSTANCE_ZERO,
    },
)
