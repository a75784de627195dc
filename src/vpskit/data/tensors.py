"""Items as torch tensors, and batches of them (torch is imported only when these are called:
install it with vpskit's ``torch`` extra)."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..errors import VpsError
from .items import ARRAY_KEYS


def _torch() -> ModuleType:
    try:
        import torch
    except ImportError:
        raise VpsError("torch", "not installed: install vpskit with its 'torch' extra "
                       "(pip install 'vpskit[torch]'), or torch itself") from None
    return torch


def to_tensors(item: dict) -> dict:
    """``item`` with its numpy arrays as torch tensors of the same dtype (no copy where the array
    allows): ``image`` channels first, (3, H, W) ((T, 3, H, W) for a clip); ``segments`` arrays
    and ``reference`` likewise; other values as they are. Usable as a dataset's ``transform``."""
    torch = _torch()

    def convert(key: str, value: object) -> object:
        if isinstance(value, np.ndarray):
            tensor = torch.from_numpy(np.ascontiguousarray(value))
            return tensor.movedim(-1, -3) if key == "image" else tensor
        if isinstance(value, dict):
            return to_tensors(value) if key == "reference" else {k: convert(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(key, v) for v in value]
        return value

    return {key: convert(key, value) for key, value in item.items()}


def collate(items: list[dict]) -> dict:
    """A batch of items (``collate_fn`` of a DataLoader): ``image``, ``semantic`` and
    ``panoptic`` as tensors stacked along a first axis (all items must be of one size), every
    other key a list of the items' values (``segments`` as tensors), ``reference`` a batch too."""
    torch = _torch()
    items = [item if _converted(item) else to_tensors(item) for item in items]
    batch: dict = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if key in ARRAY_KEYS:
            batch[key] = torch.stack(values)
        elif key == "reference":
            batch[key] = collate(values)
        else:
            batch[key] = values
    return batch


def _converted(item: dict) -> bool:
    return not isinstance(item.get("image"), np.ndarray)
