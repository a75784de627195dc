"""Which videos a synthetic Cityscapes-VPS download holds: the split, city, sequence and first
raw frame of each (:func:`plan_videos`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .. import naming
from ..errors import VpsError
from ..naming import ANNOTATED_OFFSETS, FrameKey, ImageId

CITIES = ("frankfurt", "lindau", "munster")
"""Cities of the Cityscapes validation set, the source of every Cityscapes-VPS video."""


@dataclass(frozen=True)
class VideoPlan:
    """One video: its number, split and the raw Cityscapes frames it covers."""

    video: int
    split: str
    city: str
    seq: int
    first_frame: int

    def frame_key(self, offset: int) -> FrameKey:
        """The raw frame at ``offset`` (0…29) of the snippet."""
        return FrameKey(self.city, self.seq, self.first_frame + offset)

    def image_ids(self) -> list[ImageId]:
        """The six annotated frames' image ids, in order."""
        return [naming.make_image_id(self.video, j, self.frame_key(off))
                for j, off in enumerate(ANNOTATED_OFFSETS)]


SPLIT_RATIO = {"train": 8, "val": 1, "test": 1}
"""Share of each split in the real Cityscapes-VPS: 400 / 50 / 50 videos."""


def split_counts(videos: int) -> dict[str, int]:
    """How many of ``videos`` videos go to train, val and test: 8:1:1 as in the real benchmark.

    Val and test get ``videos / 10`` rounded half up, at least one each (so none is empty for
    N >= 3); train gets the rest. One video is val; two are train and val.
    """
    if videos <= 0:
        return dict.fromkeys(naming.SPLITS, 0)
    if videos == 1:
        return {"train": 0, "val": 1, "test": 0}
    if videos == 2:
        return {"train": 1, "val": 1, "test": 0}
    total = sum(SPLIT_RATIO.values())
    small = {s: max(1, (2 * videos * SPLIT_RATIO[s] + total) // (2 * total)) for s in ("val", "test")}
    return {"train": videos - small["val"] - small["test"], **small}


def split_assignment(videos: int, counts: Mapping[str, int] | None = None) -> list[str]:
    """Split of each video 1…N, interleaved over the numbers.

    ``counts`` (train, val, test → number of videos, summing to ``videos``) states the split
    explicitly; by default it is :func:`split_counts`.
    """
    target = split_counts(videos) if counts is None else _checked_counts(videos, counts)
    given = dict.fromkeys(target, 0)
    out = []
    for i in range(videos):
        # Largest deficit against the even spread; ties go to train, then val, then test.
        best = max(target, key=lambda s: (target[s] * (i + 1) / videos - given[s],
                                          -naming.SPLITS.index(s)))
        given[best] += 1
        out.append(best)
    return out


def _checked_counts(videos: int, counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` as a dict over every split, or ``VpsError`` if it does not split ``videos``."""
    unknown = sorted(set(counts) - set(naming.SPLITS))
    if unknown:
        raise VpsError("split counts", f"unknown split {unknown[0]!r} "
                       f"(use {', '.join(naming.SPLITS)})")
    out = {s: counts.get(s, 0) for s in naming.SPLITS}
    if any(not isinstance(n, int) or n < 0 for n in out.values()):
        raise VpsError("split counts", f"must be non-negative integers, got {dict(counts)}")
    if sum(out.values()) != videos:
        raise VpsError("split counts", f"{dict(counts)} add up to {sum(out.values())}, "
                       f"not to the {videos} videos")
    return out


def plan_videos(videos: int, seed: int,
                counts: Mapping[str, int] | None = None) -> list[VideoPlan]:
    """The videos of a synthetic dataset: split, city, sequence and first frame of each.

    ``counts`` states how many videos each split gets (default :func:`split_counts`).
    """
    plans = []
    for video, split in enumerate(split_assignment(videos, counts), start=1):
        rng = np.random.default_rng([seed, video, 0])
        first = int(rng.integers(0, 3000))
        plans.append(VideoPlan(video, split, CITIES[(video - 1) % len(CITIES)],
                               (video - 1) // len(CITIES), first))
    return plans
