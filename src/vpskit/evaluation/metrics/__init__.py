"""VPQ and STQ as mergeable accumulators over per-frame tables (no file reading here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .categories import CategorySet
from .stq import STQAccumulator, STQVideoState
from .vpq import SPANS, WINDOW_FRAMES, VPQAccumulator, VPQVideoState

__all__ = ["SPANS", "CategorySet", "STQAccumulator", "VPQAccumulator", "accumulators"]


def accumulators(states: Iterable[tuple[str, VPQVideoState | None, STQVideoState | None]],
                 categories: CategorySet, metrics: Sequence[str], stq_void: str,
                 spans: Sequence[int] = SPANS, window_frames: Sequence[int] = WINDOW_FRAMES
                 ) -> tuple[VPQAccumulator | None, STQAccumulator | None]:
    """The accumulators of ``metrics`` (``"vpq"``, ``"stq"``) holding each video's states
    ``(video, VPQ state, STQ state)``; VPQ over windows ``spans``/``window_frames``."""
    vpq = VPQAccumulator(categories, spans, window_frames) if "vpq" in metrics else None
    stq = STQAccumulator(categories, stq_void) if "stq" in metrics else None
    for video, vs, ss in states:
        if vpq is not None and vs is not None:
            vpq.add_state(video, vs)
        if stq is not None and ss is not None:
            stq.add_state(video, ss)
    return vpq, stq
