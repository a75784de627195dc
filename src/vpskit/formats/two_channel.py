"""``2ch``: one 8-bit PNG per frame with the category in channel 0 and the instance id in
channel 1 (ViP-DeepLab / Cityscapes-DVPS predictions), or in another channel
(``instance_channel``). Gray + alpha, RGB and RGBA PNGs are read."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import VpsError
from .base import Format, FormatOptions, fit, integers


def decode(image: np.ndarray, instance_channel: int = 1, where: str = "2ch") -> tuple[np.ndarray, np.ndarray]:
    """Category (channel 0) and instance (``instance_channel``) maps of an (H, W, C) image."""
    image = integers(np.asarray(image), where)
    if image.ndim != 3 or image.shape[2] <= instance_channel:
        channels = 1 if image.ndim == 2 else (image.shape[2] if image.ndim == 3 else "no")
        raise VpsError(where, f"the instance id is in channel {instance_channel}, but the image has "
                       f"{channels} channel{'s' if channels != 1 else ''}")
    return image[..., 0], image[..., instance_channel]


def encode(category: np.ndarray, instance: np.ndarray, instance_channel: int = 1,
           where: str = "2ch") -> np.ndarray:
    """An 8-bit RGB image (RGBA when ``instance_channel`` is 3) with the category in channel 0
    and the instance id in ``instance_channel``, the other channels 0."""
    fit(category, 0xFF, where, "category value")
    fit(instance, 0xFF, where, "instance id")
    out = np.zeros((*category.shape, 4 if instance_channel == 3 else 3), dtype=np.uint8)
    out[..., 0] = category
    out[..., instance_channel] = instance
    return out


def _decode(arrays: Mapping[str, np.ndarray], options: FormatOptions, where: str) -> tuple[np.ndarray, np.ndarray]:
    return decode(arrays[""], options.instance_channel, where)


def _encode(category: np.ndarray, instance: np.ndarray, options: FormatOptions, where: str) -> dict[str, np.ndarray]:
    return {"": encode(category, instance, options.instance_channel, where)}


FORMAT = Format("2ch", (("", (".png",)),), _decode, _encode,
                "one 8-bit PNG per frame, category in channel 0, instance in channel 1 (--instance-channel)")
