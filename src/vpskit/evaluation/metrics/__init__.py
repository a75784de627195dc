"""VPQ and STQ as mergeable accumulators over per-frame tables (no file reading here)."""

from __future__ import annotations

from .categories import CategorySet
from .stq import STQAccumulator
from .vpq import SPANS, VPQAccumulator

__all__ = ["SPANS", "CategorySet", "STQAccumulator", "VPQAccumulator"]
