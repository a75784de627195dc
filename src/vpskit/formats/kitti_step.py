"""``kitti-step``: an 8-bit RGB PNG per frame, R = category, G·256 + B = instance (KITTI-STEP,
deeplab2)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import VpsError
from .base import Format, FormatOptions, fit, integers


def decode(rgb: np.ndarray, where: str = "kitti-step") -> tuple[np.ndarray, np.ndarray]:
    """Category and instance maps of an (H, W, 3|4) 8-bit image."""
    rgb = integers(np.asarray(rgb), where)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
        raise VpsError(where, f"expected an 8-bit RGB image, found an array of shape {rgb.shape} "
                       f"and type {rgb.dtype}")
    instance = (rgb[..., 1].astype(np.uint16) << 8) | rgb[..., 2]
    return rgb[..., 0], instance


def encode(category: np.ndarray, instance: np.ndarray, where: str = "kitti-step") -> np.ndarray:
    """The (H, W, 3) uint8 image."""
    fit(category, 0xFF, where, "category value")
    fit(instance, 0xFFFF, where, "instance id")
    out = np.empty((*category.shape, 3), dtype=np.uint8)
    out[..., 0] = category
    out[..., 1] = instance >> 8
    out[..., 2] = instance & 0xFF
    return out


def _decode(arrays: Mapping[str, np.ndarray], options: FormatOptions, where: str) -> tuple[np.ndarray, np.ndarray]:
    return decode(arrays[""], where)


def _encode(category: np.ndarray, instance: np.ndarray, options: FormatOptions, where: str) -> dict[str, np.ndarray]:
    return {"": encode(category, instance, where)}


FORMAT = Format("kitti-step", (("", (".png",)),), _decode, _encode,
                "one 8-bit RGB PNG per frame, R = category, G*256 + B = instance")
