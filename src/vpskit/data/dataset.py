"""A map-style dataset of a prepared split for training loops, free of any framework."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..errors import VpsError
from ..prepared import PreparedRoot
from .items import read_frame, stack_clip
from .split import FrameEntry, load_videos


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise VpsError(name, f"must be a positive integer, got {value!r}")
    return int(value)


def _offsets(reference: object) -> tuple[int, int] | None:
    if reference is None:
        return None
    if (not isinstance(reference, tuple | list) or len(reference) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in reference)
            or reference[0] > reference[1]):
        raise VpsError("reference", f"must be a range (low, high) of integer offsets with low <= high, "
                       f"got {reference!r}")
    if reference[0] == reference[1] == 0:
        raise VpsError("reference", "(0, 0) holds no offset but 0, the frame itself")
    return int(reference[0]), int(reference[1])


class VideoPanopticDataset:
    """The frames of one split of a prepared Cityscapes-VPS root (a folder, or a zip of one read
    in place), one item per frame or clip, for any training loop.

    Map-style (``len(ds)``, ``ds[i]``) and picklable: ``torch.utils.data.DataLoader(ds,
    num_workers=N)`` takes it as it is. Each process opens its own zip handle on its first item,
    and only the JSON files are held in memory.

    An item is a dict of numpy arrays and plain values:

    - ``image`` (H, W, 3) uint8;
    - ``semantic`` (H, W) uint8: the category (Cityscapes train id 0 … 18), 255 void (from
      ``labelmap/``);
    - ``panoptic`` (H, W) int32: segment ids, 0 void (from ``panoptic_video/``: id = R + 256 G +
      256² B);
    - ``segments``: the frame's segments sorted by id, as aligned arrays ``id``,
      ``category_id``, ``isthing``, ``iscrowd``, ``track_id``, ``area`` (pixels) and ``bbox``
      (N, 4: x, y, width, height; zeros for a segment with no pixel). ``track_id`` numbers the
      objects of the video 1, 2, … in increasing segment id over its annotated frames, as
      ``vpskit show --labels`` numbers them ("car 3"): the same object has the same ``track_id``
      in every frame of its video; stuff and crowd segments have 0. A segment id too is one segment for a whole video;
    - ``image_id`` (the id its JSON gives), ``file_name``, ``video`` (number) and ``frame`` (the
      0-based position in the video's 30-frame snippet; the annotated frames are 4, 9, … 29).

    The label keys are absent where a frame has no labels (the test split; the frames of
    ``img_all`` that are not annotated).

    ``frames="all"`` iterates every frame of ``img_all`` (val and test) with the ids of
    ``im_all_info_{split}_city_vps.json``, for inference; an annotated frame among them has
    its labels, and ``annotated_id`` (its Cityscapes-VPS image id).

    ``clip=T``: an item is T frames of one video, ``clip_stride`` frames apart (of the frames
    iterated): the arrays stacked along a first axis (``image`` (T, H, W, 3), …; a label key
    only when every frame of the clip has it), ``segments``, ``image_id``, ``file_name`` and
    ``frame`` lists, ``video`` once. Items enumerate every such clip of every video, in order;
    a clip never crosses videos.

    ``reference=(lo, hi)`` (with ``clip=1`` and annotated frames): the item also holds
    ``reference``, the item of another annotated frame of the same video at an offset drawn from
    ``lo … hi`` (0 excluded; only offsets that stay inside the video), and that offset as
    ``reference_offset``, as VPSNet trains with ``(-1, 1)``. The draw depends only on ``seed``,
    the epoch (:meth:`set_epoch`) and the item's index, so it is the same in any worker and
    reproducible per epoch. A frame with no frame at any such offset is left out.

    ``transform``, if given, is called on the whole item (image and label maps together) and
    its result returned instead; with worker processes it must be picklable.
    """

    def __init__(self, root: str | os.PathLike, split: str, *, frames: str = "annotated", clip: int = 1,
                 clip_stride: int = 1, reference: tuple[int, int] | None = None,
                 transform: Callable[[dict], object] | None = None, seed: int = 0) -> None:
        self.root = PreparedRoot(root, split)
        self.split = split
        self.frames = frames
        self.clip = _positive(clip, "clip")
        self.clip_stride = _positive(clip_stride, "clip_stride")
        self.reference = _offsets(reference)
        if self.reference is not None and (self.clip != 1 or frames != "annotated"):
            raise VpsError("reference", "needs clip=1 and frames='annotated' (a reference frame is drawn "
                           "for one annotated frame)")
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0
        self.videos: list[list[FrameEntry]] = load_videos(self.root, frames)
        span = (self.clip - 1) * self.clip_stride
        self._index: list[tuple[int, int]] = [
            (v, start) for v, entries in enumerate(self.videos) for start in range(len(entries) - span)
            if self.reference is None or self._candidates(v, start)]

    def _candidates(self, video: int, position: int) -> list[int]:
        assert self.reference is not None
        lo, hi = self.reference
        n = len(self.videos[video])
        return [o for o in range(lo, hi + 1) if o != 0 and 0 <= position + o < n]

    def set_epoch(self, epoch: int) -> None:
        """Draw the reference frames of epoch ``epoch`` (call it in the main process before each
        epoch; a DataLoader's workers receive it when they start, unless they persist)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._index)

    def entries(self, index: int) -> list[FrameEntry]:
        """The frames item ``index`` is made of, in order."""
        video, start = self._index[index]
        return [self.videos[video][start + j * self.clip_stride] for j in range(self.clip)]

    def reference_offset(self, index: int) -> int:
        """The offset of item ``index``'s reference frame in this epoch."""
        video, start = self._index[index]
        choices = self._candidates(video, start)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return choices[int(rng.integers(len(choices)))]

    def __getitem__(self, index: int) -> object:
        if not -len(self) <= index < len(self):
            raise IndexError(f"item {index} of a dataset of {len(self)}")
        index %= len(self)
        frames = [read_frame(self.root, e) for e in self.entries(index)]
        item = frames[0] if self.clip == 1 else stack_clip(frames)
        if self.reference is not None:
            video, start = self._index[index]
            offset = self.reference_offset(index)
            item["reference"] = read_frame(self.root, self.videos[video][start + offset])
            item["reference_offset"] = offset
        return item if self.transform is None else self.transform(item)

    def __repr__(self) -> str:
        return (f"VideoPanopticDataset({str(self.root.path)!r}, {self.split!r}, frames={self.frames!r}, "
                f"clip={self.clip}, items={len(self)})")
