"""vpskit: prepare, verify and evaluate the Cityscapes-VPS video panoptic segmentation benchmark.

Public API (imported on first use):

- ``synthesize(out, videos, size, seed, as_zip)`` — write a synthetic Cityscapes-VPS download.
- ``prepare(root, images, gtfine, release=…)`` — build Cityscapes-VPS from the downloads.
- ``verify(root, splits)`` — check a prepared dataset.
- ``evaluate(pred, root=…, split=…)`` — score a video panoptic prediction with VPQ and STQ.
- ``make_submission(pred, root, split="test")`` — check a prediction and pack the test server's zip.
- :class:`VpsError` — the one exception type for user-facing failures.
- :func:`rgb2id`, :func:`id2rgb` — panoptic PNG colours <-> segment ids.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import VpsError
from .pngio import id2rgb, rgb2id

__version__ = "0.1.0"

# name -> (module, attribute); attribute None: the module itself, which is callable.
_LAZY = {
    "synthesize": ("vpskit.synth", "synthesize"),
    "prepare": ("vpskit.prepare", None),
    "verify": ("vpskit.verify", None),
    "evaluate": ("vpskit.evaluate", None),
    "make_submission": ("vpskit.submission", "make_submission"),
}

__all__ = ["VpsError", "evaluate", "id2rgb", "make_submission", "prepare", "rgb2id", "synthesize", "verify"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'vpskit' has no attribute {name!r}")
