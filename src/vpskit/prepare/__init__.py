"""The four preparation stages of Cityscapes-VPS (SPEC §2) and :func:`prepare`, which runs them.

- :func:`prepare` — unpack the release (optional), then fetch → merge → panoptic → video.
- :func:`fetch`, :func:`merge`, :func:`panoptic`, :func:`video` — one stage on one split.
- :func:`unpack_release` — the release's JSON files and label folders into ROOT.
- :func:`panoptic_from_labels`, :func:`assign_colors` — the stage rules as pure functions.
"""

from __future__ import annotations

from .panoptic import panoptic_from_labels
from .runner import (
    STAGES,
    PrepareSummary,
    StageReport,
    fetch,
    merge,
    panoptic,
    prepare,
    unpack_release,
    video,
)
from .video import assign_colors, colorize, segments_info

__all__ = [
    "STAGES",
    "PrepareSummary",
    "StageReport",
    "assign_colors",
    "colorize",
    "fetch",
    "merge",
    "panoptic",
    "panoptic_from_labels",
    "prepare",
    "segments_info",
    "unpack_release",
    "video",
]
