"""vpskit: prepare, verify and evaluate the Cityscapes-VPS video panoptic segmentation benchmark.

Public API:

- :func:`synthesize` — write a synthetic Cityscapes-VPS download.
- :func:`prepare` — build Cityscapes-VPS from the downloads.
- :func:`verify` — check a prepared dataset.
- :func:`evaluate` — score a video panoptic prediction with VPQ and STQ.
- :func:`make_submission` — check a test-split prediction and pack the test server's zip.
- :class:`VpsError` — the one exception type for user-facing failures.
- :func:`rgb2id`, :func:`id2rgb` — panoptic PNG colours <-> segment ids.

The packages behind them are :mod:`vpskit.preparation`, :mod:`vpskit.evaluation` and
:mod:`vpskit.verification`.
"""

from __future__ import annotations

from ._version import __version__
from .errors import VpsError
from .evaluation import evaluate
from .pngio import id2rgb, rgb2id
from .preparation import prepare
from .submission import make_submission
from .synth import synthesize
from .verification import verify

__all__ = ["VpsError", "__version__", "evaluate", "id2rgb", "make_submission", "prepare", "rgb2id",
           "synthesize", "verify"]
