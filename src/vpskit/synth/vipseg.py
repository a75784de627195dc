"""A synthetic VIPSeg download, in the exact raw format of the real one (see
:mod:`vpskit.profiles.vipseg`).

:func:`synthesize_vipseg` writes, under a root folder:

- ``imgs/{video}/{frame}.jpg``: RGB JPEG frames (8-digit frame names, not necessarily consecutive);
- ``panomasks/{video}/{frame}.png``: 16-bit grayscale raw masks (0 void, ``category + 1`` for stuff,
  ``(category + 1) * 100 + instance`` for thing objects), for the train and val videos only;
- ``train.txt``, ``val.txt``, ``test.txt``: the videos of each split, one a line;
- ``label_num_dic_final.json``: category name -> raw value, as the real download has it.

Videos have names shaped like the real ones (``{n}_{11 YouTube characters}``), frames of several
sizes and aspect ratios, stuff bands, void, and thing objects (instance 0 included) that move,
enter and leave; the last val video starts with a frame holding no stuff at all. ``invalid=True`` adds raw
values the real masks are known to hold now and then but that the encoding does not allow (see
:data:`INVALID_VALUES`). Everything comes from a numpy Generator seeded by ``(seed, video)``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .. import pngio
from ..errors import VpsError
from ..profiles.vipseg import CATEGORY_TABLE, RAW_THING_DIVISOR, categories_json, label_numbers
from .output import clear_previous

__all__ = ["INVALID_VALUES", "PREDICTION_KINDS", "VipsegVideo", "categories_json_bytes", "plan_videos",
           "synthesize_vipseg", "write_predictions"]

SIZES: tuple[tuple[int, int], ...] = ((96, 54), (77, 54), (1100, 810), (65, 47))
"""Source frame sizes (width, height), used in turn by the videos (1100x810 shrinks, the others grow); 77x54 and 65x47 give a 720p
width with a fraction above one half (1026.67, 995.74), which the rule truncates, and 1100x810
977.78."""
STUFF = tuple(i for i, _, thing, _ in CATEGORY_TABLE if not thing)
THINGS = tuple(i for i, _, thing, _ in CATEGORY_TABLE if thing)
INVALID_VALUES: tuple[int, ...] = (150, 2205, 12600)
"""Raw values refused by vpskit: 150 (category 0, a stuff category, coded as a thing), 2205
(stuff category 21 with an instance), 12600 (category 125, which does not exist)."""
JPEG_QUALITY = 90
MARKER = ".vpskit-synth-vipseg.json"
OUTPUT_NAMES = ("imgs", "panomasks", "train.txt", "val.txt", "test.txt", "label_num_dic_final.json")
_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class VipsegVideo:
    """One synthetic video: its name, split, frame names (without extension) and source size."""

    name: str
    split: str
    frames: tuple[str, ...]
    size: tuple[int, int]


def categories_json_bytes() -> bytes:
    """``panoVIPSeg_categories.json`` as the VIPSeg repository ships it (one JSON list)."""
    return json.dumps(categories_json()).encode()


def plan_videos(videos: int = 4, frames: int = 6, test_videos: int = 1, seed: int = 0,
                val: int | None = None) -> list[VipsegVideo]:
    """The videos :func:`synthesize_vipseg` writes: ``videos`` with masks (the last ``val`` of
    them in val, by default a third, at least one; the rest in train) and ``test_videos`` without."""
    n_val = max(1, videos // 3) if val is None else val
    if videos < 1 or frames < 1 or test_videos < 0 or not 0 <= n_val <= videos:
        raise VpsError("synth", "videos with masks and frames must be at least 1, test videos at least 0, "
                       "val videos at most the videos with masks")
    plan = []
    for v in range(videos + test_videos):
        rng = np.random.default_rng([seed, v, 0])
        name = f"{int(rng.integers(1, 3600))}_" + "".join(rng.choice(list(_NAME_CHARS), 11))
        split = "train" if v < videos - n_val else ("val" if v < videos else "test")
        start, step = int(rng.integers(0, 40)), int(rng.integers(1, 4))
        names = tuple(f"{start + i * step:08d}" for i in range(frames))
        plan.append(VipsegVideo(name, split, names, SIZES[v % len(SIZES)]))
    return plan


def _video_masks(video: int, spec: VipsegVideo, seed: int, invalid: bool, bare_start: bool) -> list[np.ndarray]:
    """The raw masks of one video (uint16, one per frame); ``bare_start``: no stuff in frame 1."""
    rng = np.random.default_rng([seed, video, 1])
    w, h = spec.size
    n = len(spec.frames)
    yy, xx = np.mgrid[0:h, 0:w]
    bands = sorted(int(b) for b in rng.choice(np.arange(4, h - 4), 2, replace=False))
    stuff = [int(c) + 1 for c in rng.choice(STUFF, 3, replace=False)]
    objects = []
    for k in range(int(rng.integers(3, 6))):
        cat = int(rng.choice(THINGS))
        inst = k if k < 2 else int(rng.integers(0, RAW_THING_DIVISOR))
        x0, x1 = (float(v) for v in rng.uniform(-0.4 * w, 1.4 * w, 2))
        objects.append(((cat + 1) * RAW_THING_DIVISOR + inst, x0, x1, float(rng.uniform(0.2, 0.8) * h),
                        float(rng.uniform(0.08, 0.25) * w), float(rng.uniform(0.1, 0.3) * h)))
    masks = []
    for f in range(n):
        t = f / max(1, n - 1)
        m = np.zeros((h, w), np.uint16)
        if not (bare_start and f == 0):
            m[:bands[0]] = stuff[0]
            m[bands[0]:bands[1]] = stuff[1]
            m[bands[1]:] = stuff[2]
            m[(xx + 2 * f) % 23 < 3] = 0  # void stripes that drift
        for value, x0, x1, cy, rx, ry in objects:
            cx = x0 + (x1 - x0) * t
            m[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1] = value
        if invalid and f == n - 1:
            for i, value in enumerate(INVALID_VALUES):
                m[i, :3] = value
        masks.append(m)
    return masks


def _frame_image(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB picture of a raw mask: a colour per value plus noise."""
    palette = np.random.default_rng(7).integers(0, 256, (1 << 16, 3), dtype=np.uint8)
    noise = rng.integers(-12, 13, mask.shape + (3,))
    return np.clip(palette[mask].astype(np.int16) + noise, 0, 255).astype(np.uint8)


def _jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def synthesize_vipseg(root: str | Path, videos: int = 4, frames: int = 6, test_videos: int = 1,
                      seed: int = 0, invalid: bool = False, val: int | None = None) -> list[VipsegVideo]:
    """Write a synthetic VIPSeg download under ``root`` (see the module docstring and
    :func:`plan_videos`) and return its videos; ``invalid`` puts :data:`INVALID_VALUES` into the
    last mask of every video. The output of an earlier run into ``root`` is replaced; a ``root``
    holding such files not written by this function is refused."""
    root = Path(root)
    plan = plan_videos(videos, frames, test_videos, seed, val)
    clear_previous(root, OUTPUT_NAMES, MARKER)
    root.mkdir(parents=True, exist_ok=True)
    pngio.atomic_write_bytes(root / MARKER, json.dumps({"videos": videos, "frames": frames, "test_videos": test_videos,
                                                        "seed": seed, "invalid": invalid, "val": val}).encode())
    for v, spec in enumerate(plan):
        masks = _video_masks(v, spec, seed, invalid, bare_start=v == videos - 1)
        rng = np.random.default_rng([seed, v, 2])
        for name, mask in zip(spec.frames, masks, strict=True):
            (root / "imgs" / spec.name).mkdir(parents=True, exist_ok=True)
            pngio.atomic_write_bytes(root / "imgs" / spec.name / f"{name}.jpg", _jpeg(_frame_image(mask, rng)))
            if spec.split != "test":
                (root / "panomasks" / spec.name).mkdir(parents=True, exist_ok=True)
                pngio.write_png(root / "panomasks" / spec.name / f"{name}.png", mask)
    for split in ("train", "val", "test"):
        lines = "".join(f"{s.name}\n" for s in plan if s.split == split)
        pngio.atomic_write_bytes(root / f"{split}.txt", lines.encode())
    pngio.atomic_write_bytes(root / "label_num_dic_final.json", (json.dumps(label_numbers()) + "\n").encode())
    return plan


PREDICTION_KINDS: tuple[str, ...] = ("perfect", "noisy", "switched", "void")
"""Predictions :func:`write_predictions` makes from prepared ground truth: the ground truth itself;
shifted by 1-3 pixels, a block of the frame's first segment over the centre and, every other
frame, the first thing object under a new id and the next thing category; every thing track given
a new id from the middle frame on; the top quarter void, the ground truth's void filled with the
frame's first segment and a false thing strip at the left."""


def _fresh_ids(used: set[int]):
    """Segment ids 1, 2, … not in ``used``."""
    i = 0
    while True:
        i += 1
        if i not in used:
            yield i


def _perturbed(pan: np.ndarray, cats: dict[int, int], kind: str, frame: int, frames: int,
               things: list[int], fresh: dict[str, int]) -> tuple[np.ndarray, dict[int, int]]:
    """One frame of a prediction of ``kind`` from its ground-truth ids (see :data:`PREDICTION_KINDS`)."""
    pan, cats = pan.copy(), dict(cats)
    h, w = pan.shape
    listed = list(cats)
    present = [t for t in things if t in cats]
    if kind == "noisy":
        pan = np.roll(pan, frame % 3 + 1, axis=1)
        if listed:
            pan[3 * h // 8:5 * h // 8, 3 * w // 8:5 * w // 8] = listed[0]
        if present and frame % 2:
            new_cat = THINGS[(THINGS.index(cats[present[0]]) + 1) % len(THINGS)]
            pan[pan == present[0]] = fresh["confused"]
            cats[fresh["confused"]] = new_cat
    elif kind == "switched" and frame >= frames // 2:
        for t in present:
            pan[pan == t] = fresh[f"track{t}"]
            cats[fresh[f"track{t}"]] = cats[t]
    elif kind == "void":
        if listed:
            pan[pan == 0] = listed[0]
        pan[: h // 4] = 0
        pan[:, : w // 8] = fresh["strip"]
        cats[fresh["strip"]] = THINGS[0]
    return pan, cats


def write_predictions(prepared: str | Path, split: str, out: str | Path, kind: str) -> None:
    """Write a prediction of ``kind`` (:data:`PREDICTION_KINDS`) for ``split`` of a prepared VIPSeg
    folder as the VIPSeg scripts read one: ``out/pan_pred/{video}/{frame}.png`` and ``out/pred.json``."""
    if kind not in PREDICTION_KINDS:
        raise VpsError("kind", f"unknown prediction kind {kind!r} (known: {', '.join(PREDICTION_KINDS)})")
    prepared, out = Path(prepared), Path(out)
    doc = json.loads(pngio.read_file(prepared / f"panoptic_gt_VIPSeg_{split}.json"))
    thing_cats = {i for i, _, thing, _ in CATEGORY_TABLE if thing}
    videos = []
    for video, ann in zip(doc["videos"], doc["annotations"], strict=True):
        name = video["video_id"]
        listed = {s["id"]: s["category_id"] for a in ann["annotations"] for s in a["segments_info"]}
        things = [i for i, c in listed.items() if c in thing_cats]
        ids = _fresh_ids(set(listed))
        fresh = {"confused": next(ids), "strip": next(ids)} | {f"track{t}": next(ids) for t in things}
        frames = []
        for f, a in enumerate(ann["annotations"]):
            rgb = pngio.read_png(prepared / "panomasksRGB" / name / a["file_name"]).astype(np.uint32)
            pan = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
            cats = {s["id"]: s["category_id"] for s in a["segments_info"]}
            pan, cats = _perturbed(pan, cats, kind, f, len(ann["annotations"]), things, fresh)
            rgb = np.stack([pan & 255, (pan >> 8) & 255, pan >> 16], axis=-1).astype(np.uint8)
            (out / "pan_pred" / name).mkdir(parents=True, exist_ok=True)
            pngio.write_png(out / "pan_pred" / name / a["file_name"], rgb)
            info = [{"id": int(i), "category_id": cats[int(i)]} for i in np.unique(pan).tolist() if i]
            frames.append({"image_id": a["image_id"], "file_name": a["file_name"], "segments_info": info})
        videos.append({"video_id": name, "annotations": frames})
    pngio.atomic_write_bytes(out / "pred.json", json.dumps({"annotations": videos}).encode())
