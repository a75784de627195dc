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
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .. import naming, pngio
from ..categories import (
    LABEL_BY_ID,
    LABELS,
    categories_json,
)
from ..coco_instances import image_record, instance_annotations, instances_document, json_bytes
from ..errors import VpsError
from ..naming import ANNOTATED_OFFSETS, FRAMES_PER_SNIPPET, GTFINE_OFFSET, FrameKey, ImageId
from ..parallel import map_videos

CITIES = ("frankfurt", "lindau", "munster")
"""Cities of the Cityscapes validation set, the source of every Cityscapes-VPS video."""

DEFAULT_SIZE = (2048, 1024)
MAX_VIDEOS = 9999 // naming.ANNOTATED_PER_VIDEO
"""Most videos whose image-id index ``(video-1)*6 + j`` still has four digits."""
IMAGES_DIR = "leftImg8bit_sequence/val"
GTFINE_DIR = "gtFine/val"
RELEASE_DIR = "cityscapes_vps"
IMAGES_ZIP = "leftImg8bit_sequence_trainvaltest.zip"
GTFINE_ZIP = "gtFine_trainvaltest.zip"
RELEASE_ZIP = "cityscapes-vps-dataset-1.0.zip"
FRAME_COMPRESS_LEVEL = 1
"""zlib level of the frame images (large, and only looked at): fast to encode."""

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_STAGING = ".vpskit-synth-staging"
MARKER = ".vpskit-synth.json"
"""Written first into the output folder: a later run may then replace what it finds there."""
_OUTPUT_NAMES = ("leftImg8bit_sequence", "gtFine", RELEASE_DIR, IMAGES_ZIP, GTFINE_ZIP,
                 RELEASE_ZIP, _STAGING)

# Label ids used by the scenes.
_L = {lab.name: lab.id for lab in LABELS if lab.id >= 0}
_THING_LABELS = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")


# --------------------------------------------------------------------------------------------
# Results and plans
# --------------------------------------------------------------------------------------------
@dataclass
class SynthResult:
    """What :func:`synthesize` made."""

    out: Path
    as_zip: bool
    size: tuple[int, int]
    paths: list[Path]
    """The three inputs: the three top-level folders, or the three zips."""
    videos: dict[str, list[int]]
    """Video numbers of each split (train, val, test)."""
    frames: int
    """Raw frames written (30 per video)."""
    gtfine_frames: int
    """Frames with gtFine labels (one per video)."""
    vps_labels: int
    """``cls``/``inst`` pairs written in the release (five per train/val video)."""
    instance_annotations: dict[str, int] = field(default_factory=dict)
    """Instance annotations in ``instances_{split}_city_vps_rle.json``."""

    def summary(self) -> str:
        """A few lines describing the output."""
        w, h = self.size
        split_text = ", ".join(f"{s} {len(v)}" for s, v in self.videos.items())
        lines = [
            f"synthetic Cityscapes-VPS in {self.out} ({'zips' if self.as_zip else 'folders'}, {w}x{h})",
            f"  videos: {sum(len(v) for v in self.videos.values())} ({split_text})",
            f"  frames: {self.frames} raw, {self.gtfine_frames} with gtFine labels, "
            f"{self.vps_labels} cls/inst pairs in the release",
            "  instance annotations: "
            + ", ".join(f"{s} {n}" for s, n in self.instance_annotations.items()),
        ]
        lines += [f"  wrote {p}" for p in self.paths]
        return "\n".join(lines)


@dataclass(frozen=True)
class VideoPlan:
    """One video: its number, split and the raw Cityscapes frames it covers."""

    video: int
    split: str
    city: str
    seq: int
    first_frame: int

    def frame_key(self, offset: int) -> FrameKey:
        """The raw frame at ``offset`` (0…29) of the snippet."""
        return FrameKey(self.city, self.seq, self.first_frame + offset)

    def image_ids(self) -> list[ImageId]:
        """The six annotated frames' image ids, in order."""
        return [naming.make_image_id(self.video, j, self.frame_key(off))
                for j, off in enumerate(ANNOTATED_OFFSETS)]


SPLIT_RATIO = {"train": 8, "val": 1, "test": 1}
"""Share of each split in the real Cityscapes-VPS: 400 / 50 / 50 videos."""


def split_counts(videos: int) -> dict[str, int]:
    """How many of ``videos`` videos go to train, val and test: 8:1:1 as in the real benchmark.

    Val and test get ``videos / 10`` rounded half up, at least one each (so none is empty for
    N >= 3); train gets the rest. One video is val; two are train and val.
    """
    if videos <= 0:
        return dict.fromkeys(naming.SPLITS, 0)
    if videos == 1:
        return {"train": 0, "val": 1, "test": 0}
    if videos == 2:
        return {"train": 1, "val": 1, "test": 0}
    total = sum(SPLIT_RATIO.values())
    small = {s: max(1, (2 * videos * SPLIT_RATIO[s] + total) // (2 * total)) for s in ("val", "test")}
    return {"train": videos - small["val"] - small["test"], **small}


def split_assignment(videos: int, counts: Mapping[str, int] | None = None) -> list[str]:
    """Split of each video 1…N, interleaved over the numbers.

    ``counts`` (train, val, test → number of videos, summing to ``videos``) states the split
    explicitly; by default it is :func:`split_counts`.
    """
    target = split_counts(videos) if counts is None else _checked_counts(videos, counts)
    given = dict.fromkeys(target, 0)
    out = []
    for i in range(videos):
        # Largest deficit against the even spread; ties go to train, then val, then test.
        best = max(target, key=lambda s: (target[s] * (i + 1) / videos - given[s],
                                          -naming.SPLITS.index(s)))
        given[best] += 1
        out.append(best)
    return out


def _checked_counts(videos: int, counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` as a dict over every split, or ``VpsError`` if it does not split ``videos``."""
    unknown = sorted(set(counts) - set(naming.SPLITS))
    if unknown:
        raise VpsError("split counts", f"unknown split {unknown[0]!r} "
                       f"(use {', '.join(naming.SPLITS)})")
    out = {s: counts.get(s, 0) for s in naming.SPLITS}
    if any(not isinstance(n, int) or n < 0 for n in out.values()):
        raise VpsError("split counts", f"must be non-negative integers, got {dict(counts)}")
    if sum(out.values()) != videos:
        raise VpsError("split counts", f"{dict(counts)} add up to {sum(out.values())}, "
                       f"not to the {videos} videos")
    return out


def plan_videos(videos: int, seed: int,
                counts: Mapping[str, int] | None = None) -> list[VideoPlan]:
    """The videos of a synthetic dataset: split, city, sequence and first frame of each.

    ``counts`` states how many videos each split gets (default :func:`split_counts`).
    """
    plans = []
    for video, split in enumerate(split_assignment(videos, counts), start=1):
        rng = np.random.default_rng([seed, video, 0])
        first = int(rng.integers(0, 3000))
        plans.append(VideoPlan(video, split, CITIES[(video - 1) % len(CITIES)],
                               (video - 1) // len(CITIES), first))
    return plans


# --------------------------------------------------------------------------------------------
# Scene model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    """What one drawn region means in each kind of label file."""

    label: int          # gtFine label id
    inst: int           # gtFine instanceIds value
    vps_label: int      # label whose colour the VPS cls file shows
    vps_inst: int       # VPS inst value
    name: str           # polygon label in _polygons.json
    vary: bool = False  # frame colour differs a little from the label colour
    listed: bool = True  # has its own polygon in _polygons.json (False: covered by another)


@dataclass
class _Object:
    """A moving thing (or crowd region) drawn as one or more parts, one key per part."""

    kind: str
    keys: tuple[int, ...]
    x0: float
    vx: float
    yb0: float
    vyb: float
    image_height: int
    order: int
    layer: int = 1  # drawn after every object of a lower layer (then by depth)

    def at(self, t: int) -> tuple[float, float, float, float]:
        """Centre x, bottom y, width and height at frame offset ``t`` (nearer is larger)."""
        yb = self.yb0 + self.vyb * t
        w, h = _object_size(self.kind, yb, self.image_height)
        return self.x0 + self.vx * t, yb, w, h


@dataclass
class _Scene:
    width: int
    height: int
    cam: float
    keys: list[_Key]
    stuff: list[tuple[int, np.ndarray, bool]]       # key, polygon (world coords), moves with world
    objects: list[_Object]
    overlays: list[tuple[int, np.ndarray]]
    appearance: np.ndarray                          # (n_keys, 3) uint8 frame colours
    texture: np.ndarray                             # (th, tw, 3) uint8 tile


class _SceneBuilder:
    def __init__(self, height: int) -> None:
        self.h = height
        self.keys: list[_Key] = [_Key(0, 0, 0, 0, "unlabeled")]
        self.stuff_keys: dict[str, int] = {}
        self.next_k: dict[int, int] = {}
        self.stuff: list[tuple[int, np.ndarray, bool]] = []
        self.objects: list[_Object] = []
        self.overlays: list[tuple[int, np.ndarray]] = []

    # keys ---------------------------------------------------------------------------------
    def add_key(self, key: _Key) -> int:
        self.keys.append(key)
        return len(self.keys) - 1

    def stuff_key(self, name: str) -> int:
        if name not in self.stuff_keys:
            lid = _L[name]
            self.stuff_keys[name] = self.add_key(_Key(lid, lid, lid, lid, name))
        return self.stuff_keys[name]

    def new_instance(self, name: str) -> int:
        lid = _L[name]
        k = self.next_k.get(lid, 0)
        self.next_k[lid] = k + 1
        return lid * 1000 + k

    def thing_key(self, name: str, inst: int | None = None) -> int:
        lid = _L[name]
        value = self.new_instance(name) if inst is None else inst
        return self.add_key(_Key(lid, value, lid, value, name))

    def crowd_key(self, name: str) -> int:
        lid = _L[name]
        return self.add_key(_Key(lid, lid, lid, lid, name + "group"))

    # shapes --------------------------------------------------------------------------------
    def rect(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=float)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, n: int = 14) -> np.ndarray:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)

    def add_stuff(self, name: str, poly: np.ndarray, moves: bool = True,
                  own_look: bool = False) -> None:
        if own_look:  # a region of its own in the frame image, with the same label
            lid = _L[name]
            key = self.add_key(_Key(lid, lid, lid, lid, name, vary=True))
        else:
            key = self.stuff_key(name)
        self.stuff.append((key, poly, moves))

    def add_object(self, kind: str, keys: tuple[int, ...], x0: float, vx: float, yb: float,
                   vyb: float = 0.0, layer: int = 1) -> None:
        self.objects.append(_Object(kind, keys, x0, vx, yb, vyb, self.h, len(self.objects),
                                    layer))


_SHAPE_SIZE = {  # width, height as fractions of the image height, at the bottom of the image
    "person": (0.10, 0.34), "rider": (0.10, 0.30), "car": (0.42, 0.26), "truck": (0.50, 0.42),
    "bus": (0.80, 0.50), "train": (1.10, 0.48), "motorcycle": (0.26, 0.20),
    "bicycle": (0.24, 0.18), "caravan": (0.50, 0.36), "trailer": (0.46, 0.26),
    "rider_bicycle": (0.24, 0.46), "car_void": (0.42, 0.26), "car_split": (0.40, 0.30),
    "persongroup": (0.40, 0.20), "cargroup": (0.60, 0.12),
}


def _object_size(kind: str, yb: float, height: int) -> tuple[float, float]:
    horizon = 0.5 * height
    scale = max(0.12, (yb - horizon) / (height - horizon))
    fw, fh = _SHAPE_SIZE[kind]
    return fw * height * scale, fh * height * scale


def _part_polygons(obj: _Object, t: int) -> list[tuple[int, np.ndarray]]:
    """The polygons (key, vertices) of an object at frame offset ``t``, back to front."""
    x, yb, w, h = obj.at(t)
    hw = w / 2
    k = obj.kind
    if k in ("person", "rider"):
        poly = [(x - 0.3 * hw, yb), (x + 0.3 * hw, yb), (x + hw, yb - 0.6 * h),
                (x + 0.4 * hw, yb - h), (x - 0.4 * hw, yb - h), (x - hw, yb - 0.6 * h)]
        return [(obj.keys[0], np.array(poly))]
    if k in ("car", "car_void"):
        body = [(x - hw, yb), (x + hw, yb), (x + hw, yb - 0.55 * h), (x + 0.55 * hw, yb - h),
                (x - 0.55 * hw, yb - h), (x - hw, yb - 0.55 * h)]
        if k == "car":
            return [(obj.keys[0], np.array(body))]
        # A lower band (car colour in every file) under a larger upper part that the VPS
        # semantic pass marks as void.
        lower = [(x - hw, yb), (x + hw, yb), (x + hw, yb - 0.3 * h), (x - hw, yb - 0.3 * h)]
        return [(obj.keys[1], np.array(body)), (obj.keys[0], np.array(lower))]
    if k == "car_split":
        # Three bands of one car: in the VPS semantic pass the top is black, the middle
        # `dynamic` and the bottom car: void covers most of it, yet car is the largest colour.
        bands = [(obj.keys[0], 0.0), (obj.keys[1], 0.31), (obj.keys[2], 0.62)]
        return [(key, np.array([(x - hw, yb - (1 - top) * h), (x + hw, yb - (1 - top) * h),
                                (x + hw, yb), (x - hw, yb)]))
                for key, top in bands]
    if k in ("truck", "bus", "train", "caravan", "trailer"):
        poly = [(x - hw, yb), (x + hw, yb), (x + hw, yb - 0.9 * h), (x + 0.9 * hw, yb - h),
                (x - 0.9 * hw, yb - h), (x - hw, yb - 0.9 * h)]
        return [(obj.keys[0], np.array(poly))]
    if k in ("motorcycle", "bicycle"):
        poly = [(x - hw, yb), (x + hw, yb), (x + hw, yb - 0.6 * h), (x, yb - h),
                (x - hw, yb - 0.6 * h)]
        return [(obj.keys[0], np.array(poly))]
    if k == "rider_bicycle":
        # The rider is drawn narrow in the 10th and 25th frames, so that there the bicycle's
        # colour covers most of the pair, and the rider's elsewhere.
        bh = 0.4 * h
        bike = [(x - hw, yb), (x + hw, yb), (x + hw, yb - 0.6 * bh), (x, yb - bh),
                (x - hw, yb - 0.6 * bh)]
        rw = hw * (0.25 if t % 15 == 9 else 0.8)
        rb = yb - 0.5 * bh
        rh = 0.65 * h
        rider = [(x - 0.4 * rw, rb), (x + 0.4 * rw, rb), (x + rw, rb - 0.6 * rh),
                 (x + 0.4 * rw, rb - rh), (x - 0.4 * rw, rb - rh), (x - rw, rb - 0.6 * rh)]
        return [(obj.keys[0], np.array(bike)), (obj.keys[1], np.array(rider))]
    if k in ("persongroup", "cargroup"):
        n = 9
        xs = np.linspace(x - hw, x + hw, n)
        tops = yb - h * (0.6 + 0.4 * np.abs(np.sin(np.arange(n) * 1.7 + obj.order)))
        poly = [(x - hw, yb)] + list(zip(xs, tops, strict=True)) + [(x + hw, yb)]
        return [(obj.keys[0], np.array(poly))]
    raise ValueError(f"unknown object kind {k!r}")


def _build_scene(width: int, height: int, rng: np.random.Generator, video: int) -> _Scene:
    """Draw the layout, objects and appearance of one video."""
    b = _SceneBuilder(height)
    W, H = float(width), float(height)
    hz = 0.5 * H  # horizon
    cam = float(rng.uniform(0.002, 0.006)) * W * (1 if rng.random() < 0.5 else -1)
    span = abs(cam) * FRAMES_PER_SNIPPET + 0.3 * W
    x_lo, x_hi = -span, W + span

    # Stuff, back to front.
    b.add_stuff("sky", b.rect(-1, -1, W + 1, hz + 1), moves=False)
    x = x_lo
    while x < x_hi:
        bw = float(rng.uniform(0.08, 0.22)) * W
        top = float(rng.uniform(0.06, 0.32)) * H
        b.add_stuff("building", b.rect(x, top, x + bw, hz + 0.03 * H), own_look=True)
        x += bw + float(rng.uniform(0.0, 0.05)) * W
    for _ in range(int(rng.integers(3, 6))):
        cx = float(rng.uniform(x_lo, x_hi))
        b.add_stuff("vegetation", b.ellipse(cx, float(rng.uniform(0.28, 0.4)) * H,
                                            float(rng.uniform(0.05, 0.1)) * W,
                                            float(rng.uniform(0.08, 0.14)) * H), own_look=True)
    for name, y0, y1 in (("wall", 0.40, 0.53), ("fence", 0.44, 0.54)):
        cx = float(rng.uniform(0.1, 0.9)) * W
        b.add_stuff(name, b.rect(cx - 0.1 * W, y0 * H, cx + 0.1 * W, y1 * H))
    b.add_stuff("sidewalk", b.rect(-1, hz, W + 1, H + 1), moves=False)
    b.add_stuff("road", np.array([(0.38 * W, hz), (0.62 * W, hz), (1.25 * W, H + 1),
                                  (-0.25 * W, H + 1)]), moves=False)
    b.add_stuff("terrain", np.array([(0.66 * W, hz), (W + 1, hz), (W + 1, 0.62 * H),
                                     (0.8 * W, 0.62 * H)]), moves=False)
    # Void and ignored regions with colours of their own.
    b.add_stuff("ground", np.array([(0.0, 0.6 * H), (0.12 * W, 0.58 * H), (0.16 * W, 0.68 * H),
                                    (0.02 * W, 0.72 * H)]), moves=False)
    b.add_stuff("parking", np.array([(0.7 * W, 0.66 * H), (0.86 * W, 0.66 * H),
                                     (0.9 * W, 0.74 * H), (0.74 * W, 0.74 * H)]), moves=False)
    bx = float(rng.uniform(0.05, 0.3)) * W
    b.add_stuff("dynamic", b.rect(bx, 0.5 * H, bx + 0.05 * W, 0.58 * H))
    sx = float(rng.uniform(0.6, 0.9)) * W
    b.add_stuff("static", b.rect(sx, 0.47 * H, sx + 0.06 * W, 0.56 * H))
    # Poles with a traffic light and a sign; a group of poles.
    pw = max(2.0, 0.006 * W)
    for i in range(2):
        px = float(rng.uniform(0.15, 0.85)) * W
        b.add_stuff("pole", b.rect(px, 0.12 * H, px + pw, 0.58 * H))
        lab = "traffic light" if i == 0 else "traffic sign"
        b.add_stuff(lab, b.rect(px - 1.5 * pw, 0.12 * H, px + 2.5 * pw, 0.2 * H))
    gx = float(rng.uniform(0.4, 0.6)) * W
    for j in range(3):
        b.add_stuff("polegroup", b.rect(gx + 2.2 * j * pw, 0.2 * H, gx + 2.2 * j * pw + pw,
                                        0.56 * H))

    # Crowd regions: a group of people on the sidewalk, a group of cars far down the road.
    b.add_object("persongroup", (b.crowd_key("person"),), float(rng.uniform(0.05, 0.25)) * W,
                 -cam, 0.62 * H)
    b.add_object("cargroup", (b.crowd_key("car"),), float(rng.uniform(0.45, 0.55)) * W,
                 0.0, 0.545 * H)

    # Thing objects. The first car of the video has instance k = 0.
    car0 = float(rng.uniform(0.35, 0.6)) * W
    b.add_object("car", (b.thing_key("car"),), car0, float(rng.uniform(-0.002, 0.002)) * W,
                 0.86 * H)
    # A person walking behind that car (occluded part of the time).
    b.add_object("person", (b.thing_key("person"),), car0 - 0.2 * W, 0.012 * W, 0.8 * H)
    # Entering from the left (off-screen in the first annotated frame), leaving to the right.
    b.add_object("car", (b.thing_key("car"),), -0.2 * W, 0.025 * W, 0.7 * H)
    b.add_object("truck", (b.thing_key("truck"),), 0.75 * W, 0.03 * W, 0.66 * H)
    # A bicycle with the rider's k: where the pair below takes the bicycle category, both
    # objects get the same panoptic value and form one segment.
    b.add_object("bicycle", (b.thing_key("bicycle"),), float(rng.uniform(0.45, 0.55)) * W,
                 float(rng.uniform(-0.003, 0.003)) * W, 0.6 * H)
    # A rider on a bicycle: separate objects in gtFine, one object in the VPS inst pass.
    rider = b.new_instance("rider")
    bike_key = b.add_key(_Key(_L["bicycle"], b.new_instance("bicycle"), _L["bicycle"], rider,
                              "bicycle"))
    rider_key = b.thing_key("rider", rider)
    b.add_object("rider_bicycle", (bike_key, rider_key), float(rng.uniform(0.05, 0.15)) * W,
                 0.008 * W, 0.76 * H)
    # A car whose upper part the VPS semantic pass marks void (black or dynamic).
    void_label = "static" if video % 2 else "dynamic"
    car_v = b.new_instance("car")
    lower = b.add_key(_Key(_L["car"], car_v, _L["car"], car_v, "car", listed=False))
    upper = b.add_key(_Key(_L["car"], car_v, _L[void_label], car_v, "car"))
    b.add_object("car_void", (lower, upper), float(rng.uniform(0.6, 0.85)) * W,
                 -0.004 * W, 0.64 * H)
    # A car that the VPS semantic pass paints in two void colours and its own.
    car_s = b.new_instance("car")
    split_keys = tuple(
        b.add_key(_Key(_L["car"], car_s, _L[lab], car_s, "car", listed=listed))
        for lab, listed in (("static", True), ("dynamic", False), ("car", False)))
    b.add_object("car_split", split_keys, float(rng.uniform(0.7, 0.8)) * W,
                 float(rng.uniform(-0.002, 0.002)) * W, 0.8 * H)
    # Instances of classes outside the benchmark: a parked caravan, a trailer.
    b.add_object("caravan", (b.thing_key("caravan"),), float(rng.uniform(0.0, 0.2)) * W, -cam,
                 0.72 * H)
    b.add_object("trailer", (b.thing_key("trailer"),), float(rng.uniform(0.8, 1.0)) * W,
                 -0.01 * W, 0.6 * H)
    # One more of each benchmark class, then a few more people and cars, at random places and
    # speeds, behind the objects above.
    extra = ("person", "car", "person", "car", "bicycle", "motorcycle", "person", "car")
    names = ["person", "car", "bus", "train", "motorcycle", "bicycle"]
    names += [extra[int(i)] for i in rng.integers(0, len(extra), int(rng.integers(0, 6)))]
    for name in names:
        far = 0.68 if name in ("bus", "train") else 0.95  # large vehicles stay in the distance
        b.add_object(name, (b.thing_key(name),), float(rng.uniform(0.0, 1.0)) * W,
                     float(rng.uniform(-0.01, 0.01)) * W, float(rng.uniform(0.56, far)) * H,
                     vyb=float(rng.uniform(-0.002, 0.002)) * H, layer=0)

    # Overlays in front of everything: the ego vehicle, the rectification border, out of roi.
    b.overlays.append((b.stuff_key("ego vehicle"), np.array(
        [(-1, H + 1), (-1, 0.93 * H), (0.3 * W, 0.9 * H), (0.7 * W, 0.9 * H), (W + 1, 0.93 * H),
         (W + 1, H + 1)])))
    bw = max(1.0, 0.004 * W)
    b.overlays.append((b.stuff_key("rectification border"), b.rect(-1, -1, bw, H + 1)))
    b.overlays.append((b.stuff_key("rectification border"), b.rect(W - bw, -1, W + 1, H + 1)))
    b.overlays.append((b.stuff_key("out of roi"), b.rect(-1, H - max(1.0, 0.01 * H), W + 1, H + 1)))

    # Frame appearance: label colours (void ones greyed), each object slightly different.
    look = np.zeros((len(b.keys), 3), dtype=np.int16)
    for i, key in enumerate(b.keys):
        color = np.array(LABEL_BY_ID[key.label].color, dtype=np.int16)
        if not color.any():
            color = np.array((48, 48, 52), dtype=np.int16)
        look[i] = color + rng.integers(-18, 19, 3) if key.inst >= 1000 or key.vary else color
    appearance = np.clip(look, 0, 239).astype(np.uint8)
    texture = rng.integers(0, 16, (32, 32, 3)).astype(np.uint8)
    return _Scene(width, height, cam, b.keys, b.stuff, b.objects, b.overlays, appearance, texture)


def _frame_polygons(scene: _Scene, t: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Every polygon of frame offset ``t`` in drawing order, with integer vertices."""
    shift = -scene.cam * t
    polys: list[tuple[int, np.ndarray]] = []
    for key, poly, moves in scene.stuff:
        polys.append((key, poly + np.array([shift, 0.0]) if moves else poly))
    order = sorted(scene.objects, key=lambda o: (o.layer, o.at(t)[1], o.order))
    for obj in order:
        polys.extend(_part_polygons(obj, t))
    polys.extend(scene.overlays)
    out = []
    w, h = scene.width, scene.height
    for key, poly in polys:
        pts = np.rint(poly).astype(np.int64)
        if (pts[:, 0].max() < 0 or pts[:, 0].min() >= w or pts[:, 1].max() < 0
                or pts[:, 1].min() >= h):
            continue  # entirely outside the image
        out.append((key, [(int(px), int(py)) for px, py in pts]))
    return out


def _rasterize(scene: _Scene, polys: list[tuple[int, list[tuple[int, int]]]]) -> np.ndarray:
    """(H, W) int32 map of the key drawn last at each pixel."""
    img = Image.new("I", (scene.width, scene.height), 0)
    draw = ImageDraw.Draw(img)
    for key, pts in polys:
        draw.polygon(pts, fill=key)
    return np.asarray(img, dtype=np.int32)


# --------------------------------------------------------------------------------------------
# Label coding
# --------------------------------------------------------------------------------------------
_LABEL_COLOR_LUT = np.zeros((256, 3), dtype=np.uint8)
for _lab in LABELS:
    if _lab.id >= 0:
        _LABEL_COLOR_LUT[_lab.id] = _lab.color


def _rgba(label_ids: np.ndarray) -> np.ndarray:
    """RGBA colour image (alpha 255) of a label-id map."""
    h, w = label_ids.shape
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[..., :3] = _LABEL_COLOR_LUT[label_ids]
    out[..., 3] = 255
    return out


# --------------------------------------------------------------------------------------------
# Per-video work
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    root: str
    width: int
    height: int
    seed: int


@dataclass
class _VideoOutput:
    plan: VideoPlan
    annotations: list[tuple[int, list[dict]]]  # (image index, annotations) per labelled frame
    files: int


def _write_json(path: Path, obj: object) -> None:
    pngio.atomic_write_bytes(path, json_bytes(obj))


def _polygons_json(scene: _Scene, polys: list[tuple[int, list[tuple[int, int]]]]) -> dict:
    objects: list[dict] = []
    for key, pts in polys:
        if not scene.keys[key].listed:
            continue  # inside a polygon of the same object, which draws the same labels
        objects.append({"date": "01-Jan-2026 00:00:00", "deleted": 0, "draw": True,
                        "id": len(objects), "label": scene.keys[key].name,
                        "polygon": [list(p) for p in pts], "user": "vpskit", "verified": 0})
    return {"imgHeight": scene.height, "imgWidth": scene.width, "objects": objects}


def _make_video(ctx: _Context, plan: VideoPlan) -> _VideoOutput:
    """Write every file of one video; return what the release JSON files need."""
    root = Path(ctx.root)
    rng = np.random.default_rng([ctx.seed, plan.video])
    scene = _build_scene(ctx.width, ctx.height, rng, plan.video)
    keys = scene.keys
    lut_label = np.array([k.label for k in keys], dtype=np.uint8)
    lut_inst = np.array([k.inst for k in keys], dtype=np.uint16)
    lut_vps_label = np.array([k.vps_label for k in keys], dtype=np.uint8)
    lut_vps_inst = np.array([k.vps_inst for k in keys], dtype=np.uint16)
    reps = (-(-ctx.height // scene.texture.shape[0]), -(-ctx.width // scene.texture.shape[1]), 1)
    texture = np.tile(scene.texture, reps)[:ctx.height, :ctx.width]
    image_ids = {off: iid for off, iid in zip(ANNOTATED_OFFSETS, plan.image_ids(), strict=True)}
    labelled = plan.split in naming.LABELLED_SPLITS
    release = root / RELEASE_DIR / plan.split
    annotations: list[tuple[int, list[dict]]] = []
    files = 0
    for t in range(FRAMES_PER_SNIPPET):
        key = plan.frame_key(t)
        polys = _frame_polygons(scene, t)
        keymap = _rasterize(scene, polys)
        frame = scene.appearance[keymap]
        frame += texture
        pngio.atomic_write_bytes(root / IMAGES_DIR / naming.frame_relpath(key),
                                 pngio.encode_png(frame, compress_level=FRAME_COMPRESS_LEVEL))
        files += 1
        iid = image_ids.get(t)
        if t == GTFINE_OFFSET:
            label_ids = lut_label[keymap]
            inst = lut_inst[keymap]
            color = _rgba(label_ids)
            base = root / GTFINE_DIR
            pngio.write_png(base / naming.gtfine_relpath(key, "color"), color)
            pngio.write_png(base / naming.gtfine_relpath(key, "labelIds"), label_ids)
            pngio.write_png(base / naming.gtfine_relpath(key, "instanceIds"), inst)
            _write_json(base / naming.gtfine_relpath(key, "polygons"),
                        _polygons_json(scene, polys))
            files += 4
        elif iid is not None and labelled:
            color = _rgba(lut_vps_label[keymap])
            inst = lut_vps_inst[keymap]
            pngio.write_png(release / "cls" / naming.cls_file(iid), color)
            pngio.write_png(release / "inst" / naming.inst_file(iid), inst)
            files += 2
        if iid is not None and labelled:
            annotations.append((iid.index, instance_annotations(color, inst)))
    return _VideoOutput(plan, annotations, files)


# --------------------------------------------------------------------------------------------
# Release JSON files and zips
# --------------------------------------------------------------------------------------------
def _release_jsons(outputs: list[_VideoOutput], width: int, height: int) -> dict[str, dict]:
    cats = categories_json()
    by_split: dict[str, list[_VideoOutput]] = {s: [] for s in naming.SPLITS}
    for o in outputs:
        by_split[o.plan.split].append(o)
    files: dict[str, dict] = {}
    for split in naming.SPLITS:
        outs = by_split[split]
        images = [{"id": str(iid), "file_name": naming.image_file(iid), "width": width,
                   "height": height} for o in outs for iid in o.plan.image_ids()]
        files[naming.panoptic_im_json(split)] = {"images": images, "categories": cats}
        if split in ("val", "test"):
            all_images = [{"id": (o.plan.video - 1) * FRAMES_PER_SNIPPET + t + 1,
                           "file_name": naming.frame_file(o.plan.frame_key(t)),
                           "width": width, "height": height}
                          for o in outs for t in range(FRAMES_PER_SNIPPET)]
            files[naming.im_all_info_json(split)] = {"images": all_images, "categories": cats}
        if split in naming.LABELLED_SPLITS:
            inst_images = [image_record(iid, naming.image_file(iid), width, height)
                           for o in outs for iid in o.plan.image_ids()]
            files[naming.instances_json(split)] = instances_document(
                inst_images, (pair for o in outs for pair in o.annotations))
    return files


def _zip_tree(src: Path, top: str, dest: Path) -> None:
    """Zip folder ``src/top`` into ``dest`` with members under ``top/``, reproducibly."""
    entries: list[tuple[str, Path | None]] = []
    for dirpath, dirnames, filenames in os.walk(src / top):
        dirnames.sort()
        rel = Path(dirpath).relative_to(src).as_posix()
        entries.append((rel + "/", None))
        for name in sorted(filenames):
            entries.append((f"{rel}/{name}", Path(dirpath) / name))
    entries.sort(key=lambda e: e[0])
    with pngio.writing(dest) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3
            if path is None:
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
                continue
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


def _clear_previous(out: Path, names: tuple[str, ...] = _OUTPUT_NAMES, marker: str = MARKER) -> None:
    """Remove the outputs ``names`` of an earlier run into ``out`` (one that left ``marker``);
    refuse to touch anything else."""
    present = [n for n in names if (out / n).exists()]
    if not present:
        return
    if not (out / marker).is_file():
        raise VpsError(out, f"already holds {', '.join(present)}, not written by vpskit synth "
                       "(choose an empty or new folder)")
    for name in present:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _parse_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise VpsError("size", f"expected (width, height), got {size!r}") from None
    if w < 64 or h < 32 or w > 16384 or h > 16384:
        raise VpsError("size", f"{w}x{h} is outside 64x32 … 16384x16384")
    return w, h


def synthesize(
    out: str | os.PathLike,
    videos: int = 6,
    size: tuple[int, int] = DEFAULT_SIZE,
    seed: int = 0,
    as_zip: bool = False,
    jobs: int | None = None,
    progress: bool | None = None,
    splits: Mapping[str, int] | None = None,
) -> SynthResult:
    """Write a synthetic Cityscapes-VPS download of ``videos`` videos into ``out``.

    ``size`` is (width, height) of every frame. Videos are split 8:1:1 into train, val and test
    (:func:`split_counts`) unless ``splits`` (split → number of videos, adding up to ``videos``)
    says otherwise. The same arguments give byte-identical files,
    whatever ``jobs`` (number of processes; default all cores). With ``as_zip`` the three
    inputs are written as the zips of the real downloads and no folder trees are left.
    The outputs of an earlier run into ``out`` are replaced; a folder that holds inputs not
    written by this function is refused (``VpsError``).
    """
    if not 1 <= videos <= MAX_VIDEOS:
        raise VpsError("videos", f"must be between 1 and {MAX_VIDEOS} (image-id indices have "
                       f"four digits), got {videos}")
    if not isinstance(seed, int) or seed < 0:
        raise VpsError("seed", f"must be a non-negative integer, got {seed!r}")
    width, height = _parse_size(size)
    plans = plan_videos(videos, seed, splits)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise VpsError(out, "exists and is not a folder")
    _clear_previous(out)
    _write_json(out / MARKER, {"videos": videos, "size": [width, height], "seed": seed,
                               "zip": as_zip})
    root = out / _STAGING if as_zip else out
    ctx = _Context(str(root), width, height, seed)
    outputs = map_videos(_make_video, plans, context=ctx, jobs=jobs, desc="synth",
                         progress=progress)
    jsons = _release_jsons(outputs, width, height)
    for name in sorted(jsons):
        _write_json(root / RELEASE_DIR / name, jsons[name])
    if as_zip:
        paths = [out / IMAGES_ZIP, out / GTFINE_ZIP, out / RELEASE_ZIP]
        _zip_tree(root, "leftImg8bit_sequence", paths[0])
        _zip_tree(root, "gtFine", paths[1])
        _zip_tree(root, RELEASE_DIR, paths[2])
        shutil.rmtree(root)
    else:
        paths = [out / "leftImg8bit_sequence", out / "gtFine", out / RELEASE_DIR]
    split_videos = {s: [p.video for p in plans if p.split == s] for s in naming.SPLITS}
    n_inst = {s: len(jsons[naming.instances_json(s)]["annotations"])
              for s in naming.LABELLED_SPLITS}
    return SynthResult(
        out=out, as_zip=as_zip, size=(width, height), paths=paths, videos=split_videos,
        frames=videos * FRAMES_PER_SNIPPET, gtfine_frames=videos,
        vps_labels=sum(5 for p in plans if p.split in naming.LABELLED_SPLITS),
        instance_annotations=n_inst,
    )


__all__ = ["CITIES", "SPLIT_RATIO", "SynthResult", "VideoPlan", "instance_annotations",
           "plan_videos", "split_assignment", "split_counts", "synthesize"]
