"""The category list a metric is computed over (from the ground-truth JSON)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...profiles import Profile


@dataclass(frozen=True)
class CategorySet:
    """Category ids in report order with their thing flags; maps ids to positions."""

    ids: tuple[int, ...]
    isthing: tuple[bool, ...]

    def __post_init__(self) -> None:
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("duplicate category ids")

    @classmethod
    def from_json(cls, records: Iterable[dict]) -> CategorySet:
        """From the ``categories`` records of a Cityscapes-VPS JSON (``id``, ``isthing``)."""
        recs = list(records)
        return cls(tuple(int(r["id"]) for r in recs), tuple(bool(int(r.get("isthing", 0))) for r in recs))

    @classmethod
    def default(cls) -> CategorySet:
        """The 19 Cityscapes-VPS categories."""
        from ...profiles.cityscapes_vps import PROFILE

        return cls.of_profile(PROFILE)

    @classmethod
    def of_profile(cls, profile: Profile) -> CategorySet:
        """The categories of a benchmark profile, things as its metrics count them."""
        return cls(profile.category_ids, profile.thing_flags)

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(self.ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        return ids[order], order

    @cached_property
    def _table(self) -> np.ndarray | None:
        """Position by category id (-1: none) for ids 0 … the largest, when that is small."""
        if not self.ids or min(self.ids) < 0 or max(self.ids) >= 1 << 16:
            return None
        table = np.full(max(self.ids) + 2, -1, dtype=np.int64)  # the last entry stands for every larger id
        table[list(self.ids)] = np.arange(len(self.ids))
        return table

    def positions(self, category_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Position of each category id in :attr:`ids`, -1 for ids not in the set."""
        cats = np.asarray(category_ids, dtype=np.int64)
        table = self._table
        if table is not None:
            return table[np.clip(cats, -1, table.size - 1)]  # -1 takes the last entry, -1 too
        sorted_ids, order = self._sorted
        if sorted_ids.size == 0:
            return np.full(cats.shape, -1, dtype=np.int64)
        idx = np.clip(np.searchsorted(sorted_ids, cats), 0, sorted_ids.size - 1)
        found = sorted_ids[idx] == cats
        return np.where(found, order[idx], -1).astype(np.int64)

    @property
    def thing_mask(self) -> np.ndarray:
        """Boolean array over positions: thing categories."""
        return np.asarray(self.isthing, dtype=bool)
