"""Deterministic video panoptic evaluation cases: ground truth and a prediction, on disk.

Each case is a small Cityscapes-VPS validation split: a few videos of six annotated frames, drawn
from a random scene (stuff bands and patches, moving thing objects, crowd regions, void regions),
and a prediction derived from the same scene with controlled errors (boundary shifts, dropped and
confused objects, identity switches and swaps, predictions covering exactly half of an object,
spurious objects over void and crowd, void holes). Everything comes from a ``numpy`` Generator
seeded by the case, so a case is the same on every run and every machine.

Layout written by :func:`write_case` into a folder::

    panoptic_gt_val_city_vps.json            ground truth, as stage 4 of prepare writes it
    val/panoptic_video/{annotation file}     GT panoptic PNGs (RGB, id = R + 256 G + 256² B)
    pred/pred.json                           prediction segments per frame
    pred/pan_pred/{image_id}.png             prediction panoptic PNGs
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vpskit import naming, pngio
from vpskit.categories import CATEGORY_BY_ID, STUFF_IDS, THING_IDS, categories_json, pack_color

SPLIT = "val"
GT_JSON = naming.panoptic_gt_json(SPLIT)
GT_DIR = f"{SPLIT}/panoptic_video"
PRED_DIR = "pred"
PRED_JSON = "pred.json"
PAN_PRED_DIR = "pan_pred"
CITIES = ("frankfurt", "lindau", "munster")
FRAMES = naming.ANNOTATED_PER_VIDEO

# Keys of the intermediate label maps (one int per pixel, turned into segment ids at the end).
_VOID = 0
_STUFF = 1  # stuff category c -> _STUFF + c
_CROWD = 100  # crowd region r -> _CROWD + r
_OBJECT = 200  # object / prediction track t -> _OBJECT + t

STUFF_LIST = tuple(sorted(STUFF_IDS))
THING_LIST = tuple(sorted(THING_IDS))


@dataclass(frozen=True)
class CaseSpec:
    """Parameters of one evaluation case (what the generator draws and how the prediction errs)."""

    name: str
    seed: int
    width: int
    height: int
    first_video: int
    n_videos: int = 3
    min_objects: int = 4
    max_objects: int = 7
    shift: int = 0
    """Largest per-frame shift (pixels) of a predicted object's box."""
    grow: int = 0
    """Largest growth (positive) or shrink (negative) of a predicted box, per side."""
    p_drop: float = 0.0
    """Probability that an object is missing from the prediction in some frames."""
    p_confuse: float = 0.0
    """Probability that an object is predicted with a wrong thing category in some frames."""
    p_switch: float = 0.0
    """Probability that an object's predicted track id changes in mid-video."""
    p_half_at: float = 0.0
    """Probability that the prediction covers floor(n/2) of the object's n pixels (IoU <= 0.5)."""
    p_half_above: float = 0.0
    """Probability that the prediction covers floor(n/2)+1 of the object's n pixels (IoU > 0.5)."""
    p_relabel: float = 0.0
    """Probability that an object's predicted id keeps its value but changes category in mid-video."""
    swap_pairs: int = 0
    """Pairs of same-category objects whose predicted ids are exchanged from frame 3 on."""
    n_extra: int = 0
    """Spurious predicted objects per video (some over GT void, some over crowd)."""
    crowd: int = 0
    """Crowd regions per video (thing category, iscrowd 1)."""
    void: bool = True
    """Whether the ground truth has void regions."""
    stuff_noise: int = 0
    """Largest shift (pixels) of predicted stuff boundaries."""
    p_stuff_confuse: float = 0.0
    """Probability that a stuff patch is predicted as another stuff category."""
    pred_void: str = "none"
    """Void holes in the prediction: 'none', 'on_gt_void' (only where GT is void) or 'anywhere'."""
    copy_gt: bool = False
    """The prediction is the ground truth itself (crowd regions become thing segments)."""

    def to_json(self) -> dict:
        """The parameters as a JSON-serialisable dict."""
        return asdict(self)


CASES: dict[str, CaseSpec] = {
    spec.name: spec
    for spec in (
        CaseSpec("perfect", seed=101, width=64, height=48, first_video=1, crowd=1, copy_gt=True),
        CaseSpec(
            "noisy", seed=202, width=96, height=64, first_video=11, n_videos=4, shift=2, grow=1,
            p_drop=0.2, p_confuse=0.2, p_switch=0.2, p_half_at=0.1, p_half_above=0.1,
            n_extra=2, stuff_noise=2, p_stuff_confuse=0.3, pred_void="on_gt_void",
        ),
        CaseSpec(
            "track_swapped", seed=303, width=96, height=48, first_video=21, swap_pairs=2,
            min_objects=5, shift=1,
        ),
        CaseSpec(
            "crowd", seed=404, width=128, height=64, first_video=31, crowd=2, n_extra=4, shift=1,
            p_half_above=0.2, pred_void="on_gt_void",
        ),
        CaseSpec(
            "mixed", seed=505, width=128, height=64, first_video=41, n_videos=4, min_objects=5,
            max_objects=8, shift=3, grow=2, p_drop=0.15, p_confuse=0.15, p_switch=0.15,
            p_half_at=0.1, p_half_above=0.1, swap_pairs=1, n_extra=3, crowd=1, stuff_noise=3,
            p_stuff_confuse=0.2, pred_void="on_gt_void",
        ),
        CaseSpec(
            "relabelled", seed=707, width=64, height=64, first_video=61, min_objects=5, shift=1,
            p_switch=0.2, p_relabel=0.5, n_extra=1, crowd=1, pred_void="on_gt_void",
        ),
        CaseSpec(
            "void_pred", seed=606, width=96, height=64, first_video=51, shift=2, p_drop=0.2,
            p_switch=0.2, n_extra=2, crowd=1, stuff_noise=2, pred_void="anywhere",
        ),
    )
}
"""Every case by name. ``void_pred`` is the only one with predicted void on non-void GT pixels;
``relabelled`` is the only one where a predicted segment id changes category within a video."""


# --------------------------------------------------------------------------- scene description


@dataclass
class _Region:
    """A rectangle or ellipse per frame (None where absent) with a category."""

    category: int
    boxes: list[tuple[int, int, int, int] | None]  # (y0, x0, y1, x1), half-open
    ellipse: bool = False


def _draw(keys: np.ndarray, box: tuple[int, int, int, int] | None, value: int, ellipse: bool) -> None:
    """Paint ``value`` into ``keys`` over a box (or the ellipse inscribed in it), clipped."""
    if box is None:
        return
    h, w = keys.shape
    y0, x0, y1, x1 = box
    cy0, cx0, cy1, cx1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
    if cy0 >= cy1 or cx0 >= cx1:
        return
    if not ellipse:
        keys[cy0:cy1, cx0:cx1] = value
        return
    yy = (np.arange(cy0, cy1) + 0.5 - (y0 + y1) / 2) / max((y1 - y0) / 2, 0.5)
    xx = (np.arange(cx0, cx1) + 0.5 - (x0 + x1) / 2) / max((x1 - x0) / 2, 0.5)
    inside = yy[:, None] ** 2 + xx[None, :] ** 2 <= 1.0
    view = keys[cy0:cy1, cx0:cx1]
    view[inside] = value


def _moving_box(rng: np.random.Generator, h: int, w: int, bh: int, bw: int,
                frames: range) -> list[tuple[int, int, int, int] | None]:
    """A box of size (bh, bw) moving at constant speed, present in ``frames``."""
    y = int(rng.integers(-bh // 3, h - bh // 2))
    x = int(rng.integers(-bw // 3, w - bw // 2))
    vy, vx = int(rng.integers(-1, 2)), int(rng.integers(-3, 4))
    return [(y + vy * j, x + vx * j, y + vy * j + bh, x + vx * j + bw) if j in frames else None
            for j in range(FRAMES)]


def _jitter(rng: np.random.Generator, box: tuple[int, int, int, int] | None, shift: int,
            grow: int) -> tuple[int, int, int, int] | None:
    """The box moved by up to ``shift`` and grown or shrunk by up to ``grow`` pixels per side."""
    if box is None:
        return None
    y0, x0, y1, x1 = box
    dy, dx = (int(v) for v in rng.integers(-shift, shift + 1, size=2)) if shift else (0, 0)
    g = int(rng.integers(-grow, grow + 1)) if grow else 0
    y0, x0, y1, x1 = y0 + dy - g, x0 + dx - g, y1 + dy + g, x1 + dx + g
    if y1 - y0 < 2 or x1 - x0 < 2:
        return (y0, x0, y0 + 2, x0 + 2)
    return (y0, x0, y1, x1)


@dataclass
class _Video:
    """The rendered label maps of one video plus the category of each key."""

    gt: list[np.ndarray]
    pred: list[np.ndarray]
    gt_category: dict[int, int]
    gt_crowd: set[int]
    pred_category: dict[int, int]
    pred_alias: dict[int, int]
    """Prediction keys that reuse the segment id of another key (same id, other category)."""


def _scene(spec: CaseSpec, video: int) -> _Video:
    """Draw one video's scene and render its ground truth and prediction key maps."""
    rng = np.random.default_rng([spec.seed, video])
    h, w = spec.height, spec.width
    all_frames = range(FRAMES)

    # Stuff: four horizontal bands whose borders wobble, then a few patches.
    bands = (10, int(rng.choice([2, 8])), 1, 0)
    borders = np.sort(rng.integers(h // 6, h - h // 6, size=3))
    band_rows = [[0, *(int(b) + int(rng.integers(-1, 2)) for b in borders), h] for _ in all_frames]
    patches: list[_Region] = []
    for cat in rng.choice([3, 4, 5, 6, 7, 8, 9], size=int(rng.integers(2, 5)), replace=False):
        cat = int(cat)
        bh = int(rng.integers(h // 8, h // 3)) if cat != 5 else int(rng.integers(h // 3, h // 2))
        bw = int(rng.integers(w // 10, w // 4)) if cat != 5 else 2
        patches.append(_Region(cat, _moving_box(rng, h, w, bh, bw, all_frames)))

    # Crowd regions (distinct thing categories), drawn under the objects.
    crowds = [
        _Region(int(cat), _moving_box(rng, h, w, int(rng.integers(h // 4, h // 2)),
                                      int(rng.integers(w // 5, w // 3)), all_frames))
        for cat in rng.choice([11, 13, 18], size=spec.crowd, replace=False)
    ]

    # Objects: the first 2*swap_pairs come in same-category pairs.
    n_obj = int(rng.integers(spec.min_objects, spec.max_objects + 1))
    cats: list[int] = []
    for _ in range(spec.swap_pairs):
        c = int(rng.choice([11, 13]))
        cats += [c, c]
    cats += [int(rng.choice([11, 11, 12, 13, 13, 14, 15, 17, 18])) for _ in range(n_obj - len(cats))]
    objects: list[_Region] = []
    for i, cat in enumerate(cats):
        if i < 2 * spec.swap_pairs:
            present = all_frames
        else:
            present = range(int(rng.choice([0, 0, 0, 1, 2])), int(rng.choice([6, 6, 6, 5, 4])))
        bh = int(rng.integers(h // 6, h // 2 + 1))
        bw = int(rng.integers(w // 10, w // 4 + 1))
        objects.append(_Region(cat, _moving_box(rng, h, w, bh, bw, present), bool(rng.random() < 0.4)))

    # Void: an ego-vehicle strip in some videos and a moving rectangle.
    voids: list[list[tuple[int, int, int, int] | None]] = []
    if spec.void:
        if rng.random() < 0.6:
            voids.append([(h - h // 10, 0, h, w)] * FRAMES)
        voids.append(_moving_box(rng, h, w, int(rng.integers(h // 8, h // 4)),
                                 int(rng.integers(w // 8, w // 4)), all_frames))

    gt_category = {_STUFF + c: c for c in STUFF_LIST}
    gt_category.update({_CROWD + r: reg.category for r, reg in enumerate(crowds)})
    gt_category.update({_OBJECT + i: reg.category for i, reg in enumerate(objects)})
    gt_crowd = {_CROWD + r for r in range(len(crowds))}
    gt_maps = []
    for j in all_frames:
        keys = np.zeros((h, w), dtype=np.int32)
        for cat, y0, y1 in zip(bands, band_rows[j][:-1], band_rows[j][1:], strict=True):
            keys[y0:y1] = _STUFF + cat
        for reg in patches:
            _draw(keys, reg.boxes[j], _STUFF + reg.category, reg.ellipse)
        for r, reg in enumerate(crowds):
            _draw(keys, reg.boxes[j], _CROWD + r, reg.ellipse)
        for i, reg in enumerate(objects):
            _draw(keys, reg.boxes[j], _OBJECT + i, reg.ellipse)
        for boxes in voids:
            _draw(keys, boxes[j], _VOID, False)
        gt_maps.append(keys)

    if spec.copy_gt:
        return _Video(gt_maps, [k.copy() for k in gt_maps], gt_category, gt_crowd, dict(gt_category), {})

    # ---- prediction: tracks are keys _OBJECT + t with a category each.
    pred_category = {_STUFF + c: c for c in STUFF_LIST}
    tracks: list[int] = []

    def new_track(category: int) -> int:
        tracks.append(category)
        pred_category[_OBJECT + len(tracks) - 1] = category
        return _OBJECT + len(tracks) - 1

    pred_alias: dict[int, int] = {}  # key -> key whose segment id it reuses
    # Per object and frame: the predicted track key (None = not predicted) and the mode.
    obj_track: list[list[int | None]] = []
    obj_mode: list[str] = []
    for i, reg in enumerate(objects):
        base = new_track(reg.category)
        per_frame: list[int | None] = [base] * FRAMES
        mode = "normal"
        if i >= 2 * spec.swap_pairs:
            u = rng.random()
            edges = np.cumsum([spec.p_drop, spec.p_confuse, spec.p_switch, spec.p_half_at,
                               spec.p_half_above, spec.p_relabel])
            mode = ("drop", "confuse", "switch", "half_at", "half_above", "relabel", "normal")[
                int(np.searchsorted(edges, u, side="right"))]
        start = int(rng.integers(1, FRAMES))
        if mode == "drop":
            per_frame = [None if j >= start or rng.random() < 0.3 else base for j in all_frames]
        elif mode == "confuse":
            other = new_track(int(rng.choice([c for c in THING_LIST if c != reg.category])))
            per_frame = [other if j >= start else base for j in all_frames]
        elif mode == "switch":
            other = new_track(reg.category)
            per_frame = [other if j >= start else base for j in all_frames]
        elif mode == "relabel":
            other = new_track(int(rng.choice([c for c in THING_LIST if c != reg.category])))
            pred_alias[other] = base
            per_frame = [other if j >= start else base for j in all_frames]
        obj_track.append(per_frame)
        obj_mode.append(mode)
    for p in range(spec.swap_pairs):
        a, b = obj_track[2 * p], obj_track[2 * p + 1]
        for j in range(3, FRAMES):
            a[j], b[j] = b[j], a[j]

    stuff_map = {c: c for c in STUFF_LIST}
    if spec.p_stuff_confuse:
        for reg in patches:
            if rng.random() < spec.p_stuff_confuse:
                stuff_map[reg.category] = int(rng.choice([c for c in STUFF_LIST if c != reg.category]))

    crowd_modes = [str(rng.choice(["segment", "stuff", "split"])) for _ in crowds]
    crowd_tracks: list[list[int]] = []
    for r, reg in enumerate(crowds):
        if crowd_modes[r] == "segment":
            crowd_tracks.append([new_track(reg.category)])
        elif crowd_modes[r] == "split":
            crowd_tracks.append([new_track(reg.category), new_track(reg.category)])
        else:
            crowd_tracks.append([])

    extras: list[tuple[int, list[tuple[int, int, int, int] | None]]] = []
    for _ in range(spec.n_extra):
        where = rng.random()
        bh, bw = int(rng.integers(h // 8, h // 4 + 1)), int(rng.integers(w // 10, w // 5 + 1))
        first = int(rng.integers(0, 3))
        if where < 0.35 and voids:
            anchor = voids[-1]
            cat = int(rng.choice(THING_LIST))
        elif where < 0.7 and crowds:
            r = int(rng.integers(len(crowds)))
            anchor = crowds[r].boxes
            cat = crowds[r].category if rng.random() < 0.6 else int(rng.choice(THING_LIST))
        else:
            anchor = None
            cat = int(rng.choice(THING_LIST))
        if anchor is None:
            boxes = _moving_box(rng, h, w, bh, bw, range(first, FRAMES))
        else:
            dy, dx = int(rng.integers(-2, 3)), int(rng.integers(-2, 3))
            boxes = []
            for j in all_frames:
                ab = anchor[j]
                if ab is None or j < first:
                    boxes.append(None)
                    continue
                cy, cx = (ab[0] + ab[2]) // 2 + dy, (ab[1] + ab[3]) // 2 + dx
                boxes.append((cy - bh // 2, cx - bw // 2, cy - bh // 2 + bh, cx - bw // 2 + bw))
        extras.append((new_track(cat), boxes))

    holes = [_moving_box(rng, h, w, int(rng.integers(h // 8, h // 3)),
                         int(rng.integers(w // 8, w // 3)), all_frames) for _ in range(2)]

    pred_maps = []
    for j in all_frames:
        keys = np.zeros((h, w), dtype=np.int32)
        noise = [int(v) for v in rng.integers(-spec.stuff_noise, spec.stuff_noise + 1, size=3)]
        rows = [0, *(min(max(b + d, 0), h) for b, d in zip(band_rows[j][1:-1], noise, strict=True)), h]
        for cat, y0, y1 in zip(bands, rows[:-1], rows[1:], strict=True):
            keys[y0:y1] = _STUFF + stuff_map[cat]
        for reg in patches:
            box = _jitter(rng, reg.boxes[j], spec.stuff_noise, 0)
            _draw(keys, box, _STUFF + stuff_map[reg.category], reg.ellipse)
        for r, reg in enumerate(crowds):
            box = _jitter(rng, reg.boxes[j], spec.shift, 0)
            if box is None or not crowd_tracks[r]:
                continue
            if len(crowd_tracks[r]) == 1:
                _draw(keys, box, crowd_tracks[r][0], reg.ellipse)
            else:
                y0, x0, y1, x1 = box
                xm = (x0 + x1) // 2
                _draw(keys, (y0, x0, y1, xm), crowd_tracks[r][0], False)
                _draw(keys, (y0, xm, y1, x1), crowd_tracks[r][1], False)
        for i, reg in enumerate(objects):
            track = obj_track[i][j]
            if track is None or obj_mode[i] in ("half_at", "half_above"):
                continue
            _draw(keys, _jitter(rng, reg.boxes[j], spec.shift, spec.grow), track, reg.ellipse)
        for track, boxes in extras:
            _draw(keys, boxes[j], track, False)
        # Exactly half (or half plus one pixel) of the object's GT pixels, leftmost first.
        for i, mode in enumerate(obj_mode):
            if mode not in ("half_at", "half_above"):
                continue
            ys, xs = np.nonzero(gt_maps[j] == _OBJECT + i)
            if ys.size == 0:
                continue
            order = np.lexsort((ys, xs))
            m = ys.size // 2 + (1 if mode == "half_above" else 0)
            keys[ys[order[:m]], xs[order[:m]]] = obj_track[i][j]
        if spec.pred_void != "none":
            hole = np.zeros((h, w), dtype=np.int32)
            for boxes in holes:
                _draw(hole, boxes[j], 1, False)
            if spec.pred_void == "on_gt_void":
                hole[gt_maps[j] != _VOID] = 0
            keys[hole == 1] = _VOID
        pred_maps.append(keys)

    return _Video(gt_maps, pred_maps, gt_category, gt_crowd, pred_category, pred_alias)


# --------------------------------------------------------------------------- writing


def _thing_color(rng: np.random.Generator, category: int, used: set[int]) -> int:
    """A packed color within ±30 of the category color, not black, stuff or already used."""
    base = np.array(CATEGORY_BY_ID[category].color)
    forbidden = {0} | {pack_color(CATEGORY_BY_ID[c].color) for c in STUFF_LIST}
    while True:
        rgb = np.clip(base + rng.integers(-30, 31, size=3), 0, 255)
        packed = pack_color(rgb.tolist())
        if packed not in forbidden and packed not in used:
            used.add(packed)
            return packed


def image_ids(spec: CaseSpec) -> list[naming.ImageId]:
    """The image ids of every annotated frame of the case, in image-id order."""
    out = []
    for v in range(spec.first_video, spec.first_video + spec.n_videos):
        city = CITIES[v % len(CITIES)]
        seq, first = (7 * v) % 200, 30 * (v % 11)
        for j in range(FRAMES):
            key = naming.FrameKey(city, seq, first + naming.ANNOTATED_OFFSETS[j])
            out.append(naming.make_image_id(v, j, key))
    return sorted(out, key=str)


def write_case(spec: CaseSpec | str, root: str | Path) -> Path:
    """Write the ground truth and the prediction of a case into ``root``; return ``root``."""
    if isinstance(spec, str):
        spec = CASES[spec]
    ids = image_ids(spec)
    color_rng = np.random.default_rng([spec.seed, 0])
    used_colors: set[int] = set()
    frames: list[Frame] = []
    for v in range(spec.first_video, spec.first_video + spec.n_videos):
        video = _scene(spec, v)
        frame_ids = [iid for iid in ids if iid.video == v]
        gt_lut = {k: pack_color(CATEGORY_BY_ID[c].color) for k, c in video.gt_category.items()
                  if k < _CROWD}
        for k in sorted(video.gt_category):
            if k >= _CROWD:
                gt_lut[k] = _thing_color(color_rng, video.gt_category[k], used_colors)
        pred_rng = np.random.default_rng([spec.seed, v, 1])
        pred_keys = sorted(video.pred_category)
        pred_ids = pred_rng.choice((1 << 24) - 1, size=len(pred_keys), replace=False) + 1
        pred_lut = {k: int(i) for k, i in zip(pred_keys, pred_ids, strict=True)}
        for k, base in video.pred_alias.items():
            pred_lut[k] = pred_lut[base]
        for iid, gt_keys, pr_keys in zip(frame_ids, video.gt, video.pred, strict=True):
            gt_ids, gt_info = _segments(gt_keys, gt_lut, video.gt_category, video.gt_crowd)
            pr_ids, pr_info = _segments(pr_keys, pred_lut, video.pred_category, None)
            frames.append(Frame(iid, gt_ids, gt_info, pr_ids, pr_info))
    return write_frames(frames, root)


@dataclass
class Frame:
    """One annotated frame: GT and predicted segment-id maps with their segments_info."""

    image_id: naming.ImageId
    gt_ids: np.ndarray
    gt_segments: list[dict]
    """GT segments_info entries: id, category_id, iscrowd, area."""
    pred_ids: np.ndarray
    pred_segments: list[dict]
    """Prediction segments_info entries: id, category_id."""


def write_frames(frames: list[Frame], root: str | Path) -> Path:
    """Write frames (any order) as a GT split plus a prediction into ``root``; return ``root``."""
    root = Path(root)
    images, gt_annotations, pred_annotations = [], [], []
    for fr in sorted(frames, key=lambda f: str(f.image_id)):
        iid = fr.image_id
        height, width = fr.gt_ids.shape
        gt_file = naming.cls_file(iid)
        pngio.write_png(root / GT_DIR / gt_file, pngio.id2rgb(fr.gt_ids))
        pngio.write_png(root / PRED_DIR / PAN_PRED_DIR / naming.pan_pred_file(iid),
                        pngio.id2rgb(fr.pred_ids))
        images.append({"id": str(iid), "file_name": naming.image_file(iid),
                       "width": width, "height": height})
        gt_annotations.append({"image_id": str(iid), "file_name": gt_file,
                               "segments_info": fr.gt_segments})
        pred_annotations.append({"image_id": str(iid), "file_name": naming.pan_pred_file(iid),
                                 "segments_info": fr.pred_segments})
    gt_json = {"images": images, "annotations": gt_annotations, "categories": categories_json()}
    pngio.atomic_write_bytes(root / GT_JSON, json.dumps(gt_json, indent=1).encode())
    pngio.atomic_write_bytes(root / PRED_DIR / PRED_JSON,
                             json.dumps({"annotations": pred_annotations}, indent=1).encode())
    return root


def _segments(keys: np.ndarray, lut: dict[int, int], category: dict[int, int],
              crowd: set[int] | None) -> tuple[np.ndarray, list[dict]]:
    """Segment-id map and segments_info (sorted by id) of one frame's key map."""
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    seg = np.array([0 if k == _VOID else lut[int(k)] for k in uniq], dtype=np.uint32)
    ids = seg[inverse.reshape(keys.shape)]
    info = []
    for k, sid, n in sorted(zip(uniq.tolist(), seg.tolist(), counts.tolist(), strict=True), key=lambda t: t[1]):
        if k == _VOID:
            continue
        rec = {"id": sid, "category_id": category[k]}
        if crowd is not None:
            rec["iscrowd"] = int(k in crowd)
            rec["area"] = n
        info.append(rec)
    return ids, info


def case_digest(root: str | Path) -> str:
    """SHA-256 of a written case's content: decoded pixels of every PNG and every JSON's data.

    Independent of PNG encoder details, so it changes only when the generated data changes.
    """
    root = Path(root)
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        h.update(rel.encode() + b"\0")
        if path.suffix == ".png":
            arr = pngio.read_png(path)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        else:
            h.update(json.dumps(json.loads(path.read_text()), sort_keys=True).encode())
    return h.hexdigest()
