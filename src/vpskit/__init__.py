"""vpskit: prepare, verify and evaluate the Cityscapes-VPS video panoptic segmentation benchmark.

Public API:

- :func:`synthesize` — write a synthetic Cityscapes-VPS download.
- :func:`prepare` — build Cityscapes-VPS from the downloads.
- :func:`verify` — check a prepared dataset.
- :func:`evaluate` — score a video panoptic prediction with VPQ and STQ.
- :func:`make_submission` — check a test-split prediction and pack the test server's zip.
- :func:`convert` — a model's output in another format → a prediction :func:`evaluate` scores.
- :func:`export` — the ground truth of a prepared split in another format.
- :class:`VideoTracks` — one video's frames, as arrays in memory, → the prediction format.
- :func:`perturb` — a prediction made from the ground truth with chosen, counted errors.
- :func:`show` — the ground truth or a prediction of a video drawn on its frames (.png, .gif, .mp4).
- :func:`report` — one self-contained HTML page on one or more predictions.
- :func:`compare` — is B better than A? Scores side by side with paired-bootstrap intervals.
- :class:`VideoPanopticDataset` — a prepared split as training data (:mod:`vpskit.data`: also
  detectron2 records and torch batches).
- :class:`VpsError` — the one exception type for user-facing failures; :class:`VpsWarning` —
  what a result computed as documented still deserves a word about (the command line prints it).
- :func:`rgb2id`, :func:`id2rgb` — panoptic PNG colours <-> segment ids.

The packages behind them are :mod:`vpskit.preparation`, :mod:`vpskit.evaluation` and
:mod:`vpskit.verification`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import VpsError, VpsWarning

if TYPE_CHECKING:
    from ._version import __version__
    from .comparison import compare
    from .conversion import convert
    from .data import VideoPanopticDataset
    from .evaluation import evaluate
    from .exporting import export
    from .formats import VideoTracks
    from .perturbation import perturb
    from .pngio import id2rgb, rgb2id
    from .preparation import prepare
    from .submission import make_submission
    from .synth import synthesize
    from .verification import verify
    from .visualize.page import report
    from .visualize.showing import show

# Imported on first use, so that ``import vpskit`` (and the command line before its error
# handling is in place, where Ctrl-C must end in one line) does not load numpy and the rest.
_HOMES = {"__version__": "_version", "evaluate": "evaluation", "id2rgb": "pngio", "rgb2id": "pngio",
          "prepare": "preparation", "make_submission": "submission", "synthesize": "synth",
          "verify": "verification",
          "convert": "conversion", "export": "exporting", "VideoTracks": "formats", "perturb": "perturbation",
          "VideoPanopticDataset": "data",
          "report": "visualize.page", "compare": "comparison", "show": "visualize.showing"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

__all__ = ["VideoPanopticDataset", "VideoTracks", "VpsError", "VpsWarning", "__version__", "compare", "convert", "evaluate",
           "export", "id2rgb", "make_submission", "perturb", "prepare", "report", "rgb2id", "show",
           "synthesize", "verify"]
