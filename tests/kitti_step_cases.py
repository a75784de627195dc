"""Predictions made from a KITTI-STEP ground truth with known kinds of errors (for the STQ
reference agreement): each case maps one frame's (category, instance) maps to predicted ones,
deterministically from (case, sequence, frame)."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vpskit.formats.kitti_step import decode, encode
from vpskit.pngio import read_png, write_png

Maps = tuple[np.ndarray, np.ndarray]
SYNTH_ARGS = ["--benchmark", "kitti-step", "--size", "200x80", "--splits", "1,3,0", "--frames", "6", "--seed", "3"]
"""``vpskit synth`` arguments of the ground truth the reference numbers were computed on."""


def _rng(case: str, seq: str, t: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(case.encode()), int(seq), t])


def _perfect(cat: np.ndarray, inst: np.ndarray, rng: np.random.Generator, t: int) -> Maps:
    return cat, inst


def _boxes(shape: tuple[int, ...], rng: np.random.Generator, n: int) -> list[tuple[slice, slice]]:
    h, w = shape
    out = []
    for _ in range(n):
        y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
        out.append((slice(y, y + int(rng.integers(3, h // 3))), slice(x, x + int(rng.integers(3, w // 3)))))
    return out


def _noisy(cat: np.ndarray, inst: np.ndarray, rng: np.random.Generator, t: int) -> Maps:
    """Random categories in boxes, a few scattered pixels given to other tracks / categories."""
    cat, inst = cat.copy(), inst.copy()
    for box in _boxes(cat.shape, rng, 3):
        cat[box] = rng.integers(0, 19)
        inst[box] = 0 if cat[box].flat[0] not in (11, 13) else int(rng.integers(1, 4))
    flip = rng.random(cat.shape) < 0.05
    cat[flip] = rng.integers(0, 19, size=int(flip.sum()))
    inst[flip] = np.where(np.isin(cat[flip], (11, 13)), rng.integers(0, 6, size=int(flip.sum())), 0)
    return cat, inst


def _switched(cat: np.ndarray, inst: np.ndarray, rng: np.random.Generator, t: int) -> Maps:
    """From the third frame on, tracks 1 and 3 swap ids and track 2 takes a new id (40 + t//2)."""
    inst = inst.copy()
    if t >= 2:
        one, three, two = inst == 1, inst == 3, inst == 2
        inst[one], inst[three], inst[two] = 3, 1, 40 + t // 2
    return cat, inst


def _void(cat: np.ndarray, inst: np.ndarray, rng: np.random.Generator, t: int) -> Maps:
    """Boxes predicted void (255), some covering people and cars."""
    cat, inst = cat.copy(), inst.copy()
    for box in _boxes(cat.shape, rng, 4):
        cat[box], inst[box] = 255, 0
    return cat, inst


def _crowd(cat: np.ndarray, inst: np.ndarray, rng: np.random.Generator, t: int) -> Maps:
    """GT crowd regions predicted as a track (id 9) of their category; every car predicted as
    instance 0 on even frames (one track); some people predicted as rider (not tracked)."""
    cat, inst = cat.copy(), inst.copy()
    tracked = np.isin(cat, (11, 13))
    inst[tracked & (inst == 0)] = 9
    if t % 2 == 0:
        inst[cat == 13] = 0
    rider = (cat == 11) & (inst == 2)
    cat[rider], inst[rider] = 12, 0
    return cat, inst


def _stuff_ids(cat: np.ndarray, inst: np.ndarray, rng: np.random.Generator, t: int) -> Maps:
    """Instance ids on stuff pixels (no part in STQ) and a car half predicted as truck."""
    cat, inst = cat.copy(), inst.copy()
    stuff = ~np.isin(cat, (11, 13, 255))
    inst[stuff] = (cat[stuff].astype(np.uint16) * 7 + 1) % 300
    half = (cat == 13) & (inst == 1) & (np.arange(cat.shape[1])[None, :] % 2 == 0)
    cat[half], inst[half] = 14, 0
    return cat, inst


CASES: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator, int], Maps]] = {
    "perfect": _perfect, "noisy": _noisy, "switched": _switched, "void": _void, "crowd": _crowd,
    "stuff_ids": _stuff_ids,
}


def write_prediction(gt_folder: Path, out: Path, case: str) -> None:
    """Write ``case``'s prediction of every frame of ``gt_folder`` (panoptic_maps/{split}) as
    ``out/{sequence}/{frame}.png``."""
    fn = CASES[case]
    for seq_dir in sorted(p for p in gt_folder.iterdir() if p.is_dir()):
        for t, png in enumerate(sorted(seq_dir.glob("*.png"))):
            cat, inst = decode(read_png(png))
            pc, pi = fn(cat, inst.astype(np.uint16), _rng(case, seq_dir.name, t), t)
            write_png(out / seq_dir.name / png.name, encode(pc.astype(np.uint8), pi.astype(np.uint16)))


def zip_folder(folder: Path, out: Path, arc: str, extra: dict[str, bytes] | None = None,
               method: int = zipfile.ZIP_DEFLATED) -> Path:
    """Zip every file of ``folder`` under the member folder ``arc`` (plus ``extra`` members)."""
    with zipfile.ZipFile(out, "w", method) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{arc}{path.relative_to(folder).as_posix()}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out
