"""The parts a synthetic scene is drawn from: what each drawn region means in each kind of label
file (:class:`Key`), the moving objects (:class:`SceneObject`: position and size at each frame) and
their polygons frame by frame (:func:`part_polygons`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Key:
    """What one drawn region means in each kind of label file."""

    label: int          # gtFine label id
    inst: int           # gtFine instanceIds value
    vps_label: int      # label whose colour the VPS cls file shows
    vps_inst: int       # VPS inst value
    name: str           # polygon label in _polygons.json
    vary: bool = False  # frame colour differs a little from the label colour
    listed: bool = True  # has its own polygon in _polygons.json (False: covered by another)


@dataclass
class SceneObject:
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


def part_polygons(obj: SceneObject, t: int) -> list[tuple[int, np.ndarray]]:
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
