"""A small synthetic prepared root (train, val and test) and a zip of it, for the tests of
`vpskit.data` and of the COCO instance annotations."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

import vpskit

SIZE = (128, 64)
SPLITS = {"train": 2, "val": 2, "test": 1}
ZIP_TOP = "datasets/cityscapes_vps"
"""Where the prepared folder sits inside the zip: vpskit finds it by its JSON files."""


def build_root(base: Path) -> Path:
    """``base/down`` (the synthetic download, as folders) and ``base/cityscapes_vps`` prepared from it."""
    vpskit.synthesize(base / "down", videos=sum(SPLITS.values()), size=SIZE, seed=7, progress=False,
                      splits=SPLITS, jobs=1)
    out = base / "cityscapes_vps"
    vpskit.prepare(out, base / "down" / "leftImg8bit_sequence", base / "down" / "gtFine",
                   release=base / "down" / "cityscapes_vps", jobs=1, progress=False)
    return out


def zip_root(folder: Path, dest: Path) -> Path:
    """``folder`` zipped under :data:`ZIP_TOP` (PNGs stored, JSON deflated, as people zip them)."""
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                method = zipfile.ZIP_STORED if p.suffix == ".png" else zipfile.ZIP_DEFLATED
                zf.write(p, f"{ZIP_TOP}/{p.relative_to(folder).as_posix()}", compress_type=method)
    return dest


def pixels(path: Path) -> np.ndarray:
    """A PNG's pixels through Pillow directly (independent of vpskit's decoders)."""
    with Image.open(path) as img:
        return np.array(img)


def ids_of(path: Path) -> np.ndarray:
    """The segment ids R + 256 G + 65536 B of an RGB PNG, computed here."""
    rgb = pixels(path).astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


def same(a: object, b: object) -> bool:
    """Whether two items are equal: dicts and lists element by element, arrays by dtype, shape and values."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b
