"""The four preparation stages of Cityscapes-VPS (SPEC §2) and :func:`prepare`, which runs them.

- :func:`prepare` — unpack the release (optional), then fetch → merge → panoptic → video.
- :func:`stage_fetch`, :func:`stage_merge`, :func:`stage_panoptic`, :func:`stage_video` — one
  stage on one split or several (the modules ``fetch``, ``merge``, ``panoptic``, ``video`` hold
  their rules and workers).
- :func:`unpack_release` — the release's JSON files and label folders into ROOT.
- :func:`panoptic_from_labels`, :func:`assign_colors` — the stage rules as pure functions.
"""

from __future__ import annotations

from .panoptic import panoptic_from_labels
from .runner import (
    STAGES,
    PrepareSummary,
    StageReport,
    prepare,
    stage_fetch,
    stage_merge,
    stage_panoptic,
    stage_video,
    unpack_release,
)
from .video import assign_colors, colorize, segments_info

__all__ = [
    "STAGES",
    "PrepareSummary",
    "StageReport",
    "assign_colors",
    "colorize",
    "panoptic_from_labels",
    "prepare",
    "segments_info",
    "stage_fetch",
    "stage_merge",
    "stage_panoptic",
    "stage_video",
    "unpack_release",
]

