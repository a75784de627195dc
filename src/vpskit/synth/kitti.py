"""A synthetic KITTI-STEP dataset in the exact layout and encoding deeplab2 documents.

``OUT/images/{split}/{sequence:04d}/{frame:06d}.png`` (8-bit RGB frames, every split) and
``OUT/panoptic_maps/{split}/{sequence:04d}/{frame:06d}.png`` (train and val): 8-bit RGB,
R = category (Cityscapes train id 0-18, 255 void), G*256 + B = instance. Person and car objects
carry an instance id >= 1, the same in every frame of a sequence; their crowd regions, every
other category and void have instance 0. The scenes are those of :mod:`vpskit.synth.scene` (moving
objects entering, leaving and occluding each other, crowd regions, void).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import pngio
from ..categories import LABELS, VOID
from ..errors import VpsError
from ..formats.kitti_step import encode
from ..parallel import map_videos
from ..profiles.kitti_step import IMAGES_DIR, LABELLED_SPLITS, MAPS_DIR, SPLITS, TRACKED
from .output import FRAME_COMPRESS_LEVEL, Context, clear_previous, parse_size, write_json
from .scene import build_scene, frame_polygons, rasterize

DEFAULT_SIZE = (1242, 375)
"""The KITTI frame size."""
DEFAULT_SPLITS = {"train": 2, "val": 2, "test": 1}
MARKER = ".vpskit-synth-kitti-step.json"
_OUTPUT_NAMES = (IMAGES_DIR, MAPS_DIR)
_TRAIN_ID = np.full(256, VOID, dtype=np.uint8)
for _lab in LABELS:
    if _lab.id >= 0:
        _TRAIN_ID[_lab.id] = _lab.train_id


@dataclass(frozen=True)
class SequencePlan:
    """One synthetic sequence: split, number within the split's folder, frame count, scene seed."""

    split: str
    sequence: int
    frames: int
    scene: int

    @property
    def name(self) -> str:
        """The 4-digit folder name."""
        return f"{self.sequence:04d}"


@dataclass(frozen=True)
class KittiSynthResult:
    """What :func:`synthesize_kitti_step` wrote."""

    out: Path
    size: tuple[int, int]
    sequences: dict[str, list[str]]
    frames: int
    labelled_frames: int

    def summary(self) -> str:
        """A few lines for the command line."""
        parts = ", ".join(f"{s} {len(v)}" for s, v in self.sequences.items())
        w, h = self.size
        return (f"wrote a synthetic KITTI-STEP dataset into {self.out}: sequences {parts}; {self.frames} "
                f"frames of {w}x{h}, {self.labelled_frames} of them with panoptic maps")


def plan_sequences(splits: Mapping[str, int], frames: int) -> list[SequencePlan]:
    """The sequences of each split: train and val share one numbering (as KITTI's training
    sequences do), test has its own; sequence i has ``frames + i % 3`` frames."""
    plans: list[SequencePlan] = []
    order = [("val" if i % 2 and i // 2 < splits.get("val", 0) else "train") for i in range(
        splits.get("train", 0) + splits.get("val", 0))]
    shortfall = splits.get("val", 0) - order.count("val")
    for i in range(len(order) - 1, -1, -1):  # more val than train: the last ones too
        if shortfall <= 0:
            break
        if order[i] == "train":
            order[i] = "val"
            shortfall -= 1
    for i, split in enumerate(order):
        plans.append(SequencePlan(split, i, frames + i % 3, i + 1))
    for i in range(splits.get("test", 0)):
        plans.append(SequencePlan("test", i, frames + i % 3, len(order) + i + 1))
    return plans


def frame_labels(keys: list, keymap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KITTI-STEP category and instance maps of a drawn frame (``keys`` from the scene)."""
    label = np.array([k.label for k in keys], dtype=np.uint8)
    category = _TRAIN_ID[label]
    inst = np.array([k.inst for k in keys], dtype=np.int64)
    tracked = np.isin(category, TRACKED) & (inst >= 1000)
    instance = np.where(tracked, inst % 1000 + 1, 0).astype(np.uint16)
    return category[keymap], instance[keymap]


def _make_sequence(ctx: Context, plan: SequencePlan) -> int:
    root = Path(ctx.root)
    rng = np.random.default_rng([ctx.seed, plan.scene])
    scene = build_scene(ctx.width, ctx.height, rng, plan.scene)
    reps = (-(-ctx.height // scene.texture.shape[0]), -(-ctx.width // scene.texture.shape[1]), 1)
    texture = np.tile(scene.texture, reps)[:ctx.height, :ctx.width]
    files = 0
    for t in range(plan.frames):
        keymap = rasterize(scene, frame_polygons(scene, t))
        rel = Path(plan.split) / plan.name / f"{t:06d}.png"
        frame = scene.appearance[keymap]
        frame += texture
        pngio.atomic_write_bytes(root / IMAGES_DIR / rel, pngio.encode_png(frame, compress_level=FRAME_COMPRESS_LEVEL))
        files += 1
        if plan.split in LABELLED_SPLITS:
            category, instance = frame_labels(scene.keys, keymap)
            pngio.write_png(root / MAPS_DIR / rel, encode(category, instance))
            files += 1
    return files


def synthesize_kitti_step(out: str | os.PathLike, splits: Mapping[str, int] | None = None, frames: int = 8,
                          size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0, jobs: int | None = None,
                          progress: bool | None = None) -> KittiSynthResult:
    """Write a synthetic KITTI-STEP dataset into ``out`` (see the module docstring).

    ``splits``: sequences per split (default train 2, val 2, test 1); ``frames``: frames of the
    shortest sequence (sequence i has ``frames + i % 3``). The same arguments give byte-identical
    files, whatever ``jobs``. An earlier run's output in ``out`` is replaced; a folder holding
    ``images/`` or ``panoptic_maps/`` not written by this function is refused (``VpsError``).
    """
    counts = dict(DEFAULT_SPLITS if splits is None else splits)
    bad = [s for s in counts if s not in SPLITS]
    if bad or any(not isinstance(n, int) or n < 0 for n in counts.values()) or not any(counts.values()):
        raise VpsError("--splits", f"expected sequence counts of {', '.join(SPLITS)} (not all 0), got {counts}")
    if not 1 <= frames <= 1000:
        raise VpsError("--frames", f"must be between 1 and 1000, got {frames}")
    if not isinstance(seed, int) or seed < 0:
        raise VpsError("seed", f"must be a non-negative integer, got {seed!r}")
    width, height = parse_size(size)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise VpsError(out, "exists and is not a folder")
    plans = plan_sequences(counts, frames)
    clear_previous(out, _OUTPUT_NAMES, MARKER)
    write_json(out / MARKER, {"splits": counts, "frames": frames, "size": [width, height], "seed": seed})
    written = map_videos(_make_sequence, plans, context=Context(str(out), width, height, seed), jobs=jobs,
                         desc="synth", progress=progress)
    del written
    return KittiSynthResult(out, (width, height), {s: [p.name for p in plans if p.split == s] for s in SPLITS},
                            sum(p.frames for p in plans),
                            sum(p.frames for p in plans if p.split in LABELLED_SPLITS))
