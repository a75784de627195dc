"""What every outside format module shares: its description (:class:`Format`), its options, and
the checks of the arrays it decodes and encodes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import VpsError


@dataclass(frozen=True)
class FormatOptions:
    """Options of some formats: ``instance_channel`` (``2ch``: the channel holding the instance
    id, 1 … 3; the category is channel 0) and ``divisor`` (``divisor``: value = category ·
    divisor + instance)."""

    instance_channel: int = 1
    divisor: int = 1000

    def __post_init__(self) -> None:
        if not (isinstance(self.instance_channel, int) and 1 <= self.instance_channel <= 3):
            raise VpsError("--instance-channel", f"{self.instance_channel!r} is not a channel 1 … 3 "
                           "(channel 0 holds the category)")
        if not (isinstance(self.divisor, int) and 2 <= self.divisor <= 1 << 31):
            raise VpsError("--divisor", f"{self.divisor!r} is not an integer 2 … 2**31")


Decode = Callable[[Mapping[str, np.ndarray], FormatOptions, str], "tuple[np.ndarray, np.ndarray]"]
Encode = Callable[[np.ndarray, np.ndarray, FormatOptions, str], "dict[str, np.ndarray]"]


@dataclass(frozen=True)
class Format:
    """An outside format of per-frame category and instance maps.

    ``files``: the files of one frame, as (role, endings accepted) pairs; ``encode`` writes the
    first ending. ``decode`` takes the decoded arrays by role and gives ``(category values,
    instance values)``; ``encode`` is its inverse. Both name ``where`` in their errors.
    """

    name: str
    files: tuple[tuple[str, tuple[str, ...]], ...]
    decode: Decode
    encode: Encode
    summary: str


def plane(arr: np.ndarray, where: str, what: str = "values") -> np.ndarray:
    """``arr`` if it is a 2-D array of integers, else ``VpsError`` naming ``where``."""
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise VpsError(where, f"expected one channel of {what}, found an array of shape {arr.shape}")
    return integers(arr, where)


def integers(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` if its values are integers (bool refused), else ``VpsError``."""
    if arr.dtype.kind not in "iu":
        raise VpsError(where, f"values of type {arr.dtype} are not integers")
    return arr


def same_shape(where: str, *arrays: np.ndarray) -> None:
    """``VpsError`` unless the arrays have one height and width."""
    shapes = {a.shape[:2] for a in arrays}
    if len(shapes) > 1:
        sizes = " and ".join(f"{s[1]}x{s[0]}" for s in sorted(shapes))
        raise VpsError(where, f"the maps of one frame differ in size ({sizes})")


def fit(arr: np.ndarray, most: int, where: str, what: str, because: str = "") -> None:
    """``VpsError`` when ``arr`` holds a value outside 0 … ``most`` (``what``: the values' name;
    ``because``: why that is the range, e.g. `` with --divisor 1000``)."""
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > most:
            bad = lo if lo < 0 else hi
            raise VpsError(where, f"{what} {bad} is past what the format holds (0 … {most}{because})")


def unsigned(arr: np.ndarray, most: int) -> np.ndarray:
    """``arr`` as the smallest of uint8 / uint16 holding 0 … ``most``."""
    return arr.astype(np.uint8 if most <= 0xFF else np.uint16)
