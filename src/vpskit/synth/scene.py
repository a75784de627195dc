"""The street scene of one synthetic video (:func:`build_scene`: stuff, void, crowd regions, moving
objects, overlays and frame colours, from a seeded Generator) and its frames as polygons
(:func:`frame_polygons`) and key maps (:func:`rasterize`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..categories import LABEL_BY_ID, LABELS
from ..naming import FRAMES_PER_SNIPPET
from .shapes import Key, SceneObject, part_polygons

# Label ids used by the scenes.
_L = {lab.name: lab.id for lab in LABELS if lab.id >= 0}


@dataclass
class Scene:
    """One video's scene: its keys, stuff polygons, moving objects, overlays and frame colours."""

    width: int
    height: int
    cam: float
    keys: list[Key]
    stuff: list[tuple[int, np.ndarray, bool]]       # key, polygon (world coords), moves with world
    objects: list[SceneObject]
    overlays: list[tuple[int, np.ndarray]]
    appearance: np.ndarray                          # (n_keys, 3) uint8 frame colours
    texture: np.ndarray                             # (th, tw, 3) uint8 tile


class _SceneBuilder:
    def __init__(self, height: int) -> None:
        self.h = height
        self.keys: list[Key] = [Key(0, 0, 0, 0, "unlabeled")]
        self.stuff_keys: dict[str, int] = {}
        self.next_k: dict[int, int] = {}
        self.stuff: list[tuple[int, np.ndarray, bool]] = []
        self.objects: list[SceneObject] = []
        self.overlays: list[tuple[int, np.ndarray]] = []

    # keys ---------------------------------------------------------------------------------
    def add_key(self, key: Key) -> int:
        self.keys.append(key)
        return len(self.keys) - 1

    def stuff_key(self, name: str) -> int:
        if name not in self.stuff_keys:
            lid = _L[name]
            self.stuff_keys[name] = self.add_key(Key(lid, lid, lid, lid, name))
        return self.stuff_keys[name]

    def new_instance(self, name: str) -> int:
        lid = _L[name]
        k = self.next_k.get(lid, 0)
        self.next_k[lid] = k + 1
        return lid * 1000 + k

    def thing_key(self, name: str, inst: int | None = None) -> int:
        lid = _L[name]
        value = self.new_instance(name) if inst is None else inst
        return self.add_key(Key(lid, value, lid, value, name))

    def crowd_key(self, name: str) -> int:
        lid = _L[name]
        return self.add_key(Key(lid, lid, lid, lid, name + "group"))

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
            key = self.add_key(Key(lid, lid, lid, lid, name, vary=True))
        else:
            key = self.stuff_key(name)
        self.stuff.append((key, poly, moves))

    def add_object(self, kind: str, keys: tuple[int, ...], x0: float, vx: float, yb: float,
                   vyb: float = 0.0, layer: int = 1) -> None:
        self.objects.append(SceneObject(kind, keys, x0, vx, yb, vyb, self.h,
                                        len(self.objects), layer))


def build_scene(width: int, height: int, rng: np.random.Generator, video: int) -> Scene:
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
    bike_key = b.add_key(Key(_L["bicycle"], b.new_instance("bicycle"), _L["bicycle"], rider,
                              "bicycle"))
    rider_key = b.thing_key("rider", rider)
    b.add_object("rider_bicycle", (bike_key, rider_key), float(rng.uniform(0.05, 0.15)) * W,
                 0.008 * W, 0.76 * H)
    # A car whose upper part the VPS semantic pass marks void (black or dynamic).
    void_label = "static" if video % 2 else "dynamic"
    car_v = b.new_instance("car")
    lower = b.add_key(Key(_L["car"], car_v, _L["car"], car_v, "car", listed=False))
    upper = b.add_key(Key(_L["car"], car_v, _L[void_label], car_v, "car"))
    b.add_object("car_void", (lower, upper), float(rng.uniform(0.6, 0.85)) * W,
                 -0.004 * W, 0.64 * H)
    # A car that the VPS semantic pass paints in two void colours and its own.
    car_s = b.new_instance("car")
    split_keys = tuple(
        b.add_key(Key(_L["car"], car_s, _L[lab], car_s, "car", listed=listed))
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
    return Scene(width, height, cam, b.keys, b.stuff, b.objects, b.overlays, appearance, texture)


def frame_polygons(scene: Scene, t: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Every polygon of frame offset ``t`` in drawing order, with integer vertices."""
    shift = -scene.cam * t
    polys: list[tuple[int, np.ndarray]] = []
    for key, poly, moves in scene.stuff:
        polys.append((key, poly + np.array([shift, 0.0]) if moves else poly))
    order = sorted(scene.objects, key=lambda o: (o.layer, o.at(t)[1], o.order))
    for obj in order:
        polys.extend(part_polygons(obj, t))
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


def rasterize(scene: Scene, polys: list[tuple[int, list[tuple[int, int]]]]) -> np.ndarray:
    """(H, W) int32 map of the key drawn last at each pixel."""
    img = Image.new("I", (scene.width, scene.height), 0)
    draw = ImageDraw.Draw(img)
    for key, pts in polys:
        draw.polygon(pts, fill=key)
    return np.asarray(img, dtype=np.int32)
