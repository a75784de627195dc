"""``cat-ins``: two single-channel PNGs per frame, ``*_cat.png`` (category) and ``*_ins.png``
(instance or track id), 8- or 16-bit (what Video K-Net's test scripts write)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import Format, FormatOptions, fit, plane, same_shape, unsigned

CAT, INS = "_cat.png", "_ins.png"


def decode(cat: np.ndarray, ins: np.ndarray, where: str = "cat-ins") -> tuple[np.ndarray, np.ndarray]:
    """Category and instance maps of a frame's two PNGs (already decoded)."""
    cat, ins = plane(cat, where, "categories"), plane(ins, where, "instance ids")
    same_shape(where, cat, ins)
    return cat, ins


def encode(category: np.ndarray, instance: np.ndarray, where: str = "cat-ins") -> tuple[np.ndarray, np.ndarray]:
    """The two single-channel images: categories 8-bit (16-bit past 255), instances 16-bit."""
    fit(category, 0xFFFF, where, "category value")
    fit(instance, 0xFFFF, where, "instance id")
    top = int(category.max()) if category.size else 0
    return unsigned(category, top), instance.astype(np.uint16)


def _decode(arrays: Mapping[str, np.ndarray], options: FormatOptions, where: str) -> tuple[np.ndarray, np.ndarray]:
    return decode(arrays["cat"], arrays["ins"], where)


def _encode(category: np.ndarray, instance: np.ndarray, options: FormatOptions, where: str) -> dict[str, np.ndarray]:
    cat, ins = encode(category, instance, where)
    return {"cat": cat, "ins": ins}


FORMAT = Format("cat-ins", (("cat", (CAT,)), ("ins", (INS,))), _decode, _encode,
                "two 8- or 16-bit single-channel PNGs per frame, *_cat.png (category) and *_ins.png (instance)")
