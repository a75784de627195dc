"""``divisor``: one map per frame holding ``category · divisor + instance`` (deeplab2 and
Cityscapes-DVPS use divisor 1000): a 16-bit (or 8-bit) gray PNG, a 24- or 32-bit PNG packing
the value as ``R + 256·G + 256²·B (+ 256³·A)``, or a ``.npy`` array of integers."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import VpsError
from .base import Format, FormatOptions, fit, integers

_GRAY_MAX = 0xFFFF


def decode(values: np.ndarray, divisor: int = 1000, where: str = "divisor") -> tuple[np.ndarray, np.ndarray]:
    """Category and instance maps of an (H, W) map of values, or of an (H, W, 3|4) packed image."""
    values = integers(np.asarray(values), where)
    if values.ndim == 3 and values.shape[2] == 4 and values.dtype == np.uint8:
        values = np.ascontiguousarray(values).view("<u4")[..., 0]
    elif values.ndim == 3 and values.shape[2] == 3 and values.dtype == np.uint8:
        values = values[..., 0] | (values[..., 1].astype(np.uint32) << 8) | (values[..., 2].astype(np.uint32) << 16)
    elif values.ndim != 2:
        raise VpsError(where, f"expected one map of category·{divisor} + instance values, found an "
                       f"array of shape {values.shape}")
    if values.dtype.kind == "u" and values.dtype.itemsize <= 4 and divisor <= np.iinfo(values.dtype).max:
        return np.divmod(values, values.dtype.type(divisor))  # unsigned division: the fastest
    if values.dtype == np.uint64 and values.size and int(values.max()) > np.iinfo(np.int64).max:
        raise VpsError(where, f"value {int(values.max())} is past what vpskit reads (2**63 - 1)")
    return np.divmod(values.astype(np.int64, copy=False), divisor)


def encode(category: np.ndarray, instance: np.ndarray, divisor: int = 1000,
           where: str = "divisor") -> np.ndarray:
    """``category · divisor + instance``: a 16-bit map when every value fits in 16 bits, else an
    RGBA image of the 32-bit value."""
    fit(instance, divisor - 1, where, "instance id", f" with --divisor {divisor}")
    fit(category, (1 << 32) // divisor - 1, where, "category value")
    values = category.astype(np.int64) * divisor + instance
    if int(values.max(initial=0)) <= _GRAY_MAX:
        return values.astype(np.uint16)
    return np.ascontiguousarray(values.astype("<u4").view(np.uint8).reshape(*values.shape, 4))


def _decode(arrays: Mapping[str, np.ndarray], options: FormatOptions, where: str) -> tuple[np.ndarray, np.ndarray]:
    return decode(arrays[""], options.divisor, where)


def _encode(category: np.ndarray, instance: np.ndarray, options: FormatOptions, where: str) -> dict[str, np.ndarray]:
    return {"": encode(category, instance, options.divisor, where)}


FORMAT = Format("divisor", (("", (".png", ".npy")),), _decode, _encode,
                "one map per frame of category*D + instance (--divisor D, default 1000): 16-bit PNG, "
                "32-bit RGBA PNG or .npy")
