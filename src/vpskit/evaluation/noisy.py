"""A deterministic "noisy model": a prediction derived from the ground truth with typical errors.

Per video (random choices drawn from a generator seeded by ``(seed, video)``):

- boundary shifts: every frame's prediction is the label map moved by up to 2 pixels;
- dropped segments: some objects are missing (void) in some frames;
- confused segments: some objects get another thing category in some frames, and some stuff
  categories are predicted as another stuff category throughout the video;
- track switches: some objects get a new track id from a frame on;
- crowd regions are predicted as one ordinary object of their category.

The same input and seed always give byte-identical files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .. import naming
from ..pngio import atomic_write_bytes, id2rgb, write_png
from .loading import PAN_PRED_DIR, PRED_JSON, decode_ids, load_ground_truth

MAX_SHIFT = 2
P_DROP = 0.15
P_CONFUSE = 0.15
P_SWITCH = 0.2
P_STUFF_CONFUSE = 0.1
_STUFF_BASE = 1
_TRACK_BASE = 1000


def _shift(ids: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``ids`` moved by (dy, dx) pixels, the uncovered border repeating the edge."""
    h, w = ids.shape
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    return ids[ys[:, None], xs[None, :]]


def write_noisy_prediction(gt_json: str | os.PathLike, gt_dir: str | os.PathLike,
                           out_dir: str | os.PathLike, seed: int = 0) -> Path:
    """Write ``out_dir/pred.json`` and ``out_dir/pan_pred/{image_id}.png``; return ``out_dir``."""
    gt = load_ground_truth(Path(gt_json), Path(gt_dir))
    out = Path(out_dir)
    cats = gt.categories
    thing_ids = [c for c, t in zip(cats.ids, cats.isthing, strict=True) if t]
    stuff_ids = [c for c, t in zip(cats.ids, cats.isthing, strict=True) if not t]
    annotations = []
    for video in sorted(gt.videos):
        frames = gt.videos[video]
        rng = np.random.default_rng([seed, int(video)])
        n = len(frames)
        # Stuff: one predicted segment per (possibly confused) category.
        stuff_as = {c: c for c in stuff_ids}
        for c in stuff_ids:
            if len(stuff_ids) > 1 and rng.random() < P_STUFF_CONFUSE:
                stuff_as[c] = int(rng.choice([s for s in stuff_ids if s != c]))
        # Things: per GT segment id, per frame: (track id or 0, category).
        seg_ids = sorted({int(i) for f in frames for i, c in zip(f.segments.ids, f.segments.category, strict=True)
                          if c in thing_ids})
        next_track = _TRACK_BASE
        plan: dict[int, list[tuple[int, int | None]]] = {}
        for sid in seg_ids:
            track = next_track
            next_track += 1
            dropped = rng.random(n) < 0.5 if rng.random() < P_DROP else np.zeros(n, bool)
            confused = rng.random(n) < 0.5 if rng.random() < P_CONFUSE else np.zeros(n, bool)
            switch_at = int(rng.integers(1, n)) if n > 1 and rng.random() < P_SWITCH else n
            other = int(rng.choice(thing_ids)) if thing_ids else None
            steps: list[tuple[int, int | None]] = []
            for j in range(n):
                if j == switch_at:
                    track = next_track
                    next_track += 1
                if dropped[j]:
                    steps.append((0, None))
                else:
                    steps.append((track, other if confused[j] else None))
            plan[sid] = steps
        shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(n, 2))
        for j, frame in enumerate(frames):
            gt_ids = decode_ids(gt.read_png(frame), gt.describe(frame))
            uniq, inverse = np.unique(gt_ids, return_inverse=True)
            info = {int(i): (int(c), bool(k)) for i, c, k in zip(frame.segments.ids, frame.segments.category,
                                                                  frame.segments.crowd, strict=True)}
            pred_of = np.zeros(uniq.size, dtype=np.uint32)
            category: dict[int, int] = {}
            for u, gid in enumerate(uniq.tolist()):
                if gid == 0 or gid not in info:
                    continue
                cat, _ = info[gid]
                if cat in stuff_as:
                    pid, pcat = _STUFF_BASE + stuff_as[cat], stuff_as[cat]
                else:
                    pid, confused_cat = plan[gid][j]
                    pcat = confused_cat if confused_cat is not None else cat
                if pid:
                    pred_of[u] = pid
                    category[pid] = pcat
            pred = _shift(pred_of[inverse.reshape(gt_ids.shape)], int(shifts[j, 0]), int(shifts[j, 1]))
            present = np.unique(pred)
            segments = [{"id": int(p), "category_id": category[int(p)]} for p in present.tolist() if p != 0]
            name = naming.pan_pred_file(frame.image_id)
            write_png(out / PAN_PRED_DIR / name, id2rgb(pred))
            annotations.append({"image_id": frame.image_id, "file_name": name, "segments_info": segments})
    atomic_write_bytes(out / PRED_JSON, (json.dumps({"annotations": annotations}, indent=1) + "\n").encode())
    return out
