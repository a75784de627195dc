"""One frame of a prepared split read into a training item: a dict of numpy arrays and plain
values (see :class:`vpskit.data.VideoPanopticDataset` for its keys)."""

from __future__ import annotations

import numpy as np

from ..errors import VpsError
from ..formats.tracks import Runs, find_sorted
from ..pngio import decode_ids, decode_png, png_limit
from ..prepared import PreparedRoot
from .split import FrameEntry, SegmentTable

ARRAY_KEYS = ("image", "semantic", "panoptic")
"""The per-pixel arrays of an item (a clip stacks them)."""


def _image(root: PreparedRoot, entry: FrameEntry) -> np.ndarray:
    where = root.describe(entry.image)
    size = (entry.width, entry.height) if entry.width and entry.height else None
    data = root.read(entry.image, png_limit(*size) if size else png_limit())
    image = decode_png(data, where, size, "the JSON's")
    if image.ndim != 3 or image.dtype != np.uint8:
        raise VpsError(where, "not an 8-bit RGB image")
    return image[..., :3] if image.shape[2] == 4 else image


def _segments(table: SegmentTable, panoptic: np.ndarray, where: str) -> dict[str, np.ndarray]:
    """The frame's segments with their boxes; ``VpsError`` for a pixel of an unlisted segment."""
    runs = Runs(panoptic)
    run_ids = runs.values(panoptic).astype(np.int64)
    index, found = find_sorted(table.id, run_ids)
    stray = ~found & (run_ids != 0)
    if stray.any():
        raise VpsError(where, f"segment id {int(run_ids[np.flatnonzero(stray)[0]])} is not in the "
                       "ground-truth JSON")
    return {"id": table.id.copy(), "category_id": table.category_id.copy(), "isthing": table.isthing.copy(),
            "iscrowd": table.iscrowd.copy(), "track_id": table.track_id.copy(), "area": table.area.copy(),
            "bbox": runs.boxes(np.where(found, index, -1), table.id.size)}


def read_frame(root: PreparedRoot, entry: FrameEntry) -> dict:
    """The item of one frame: its image, its labels where it has them, and its ids."""
    image = _image(root, entry)
    item: dict = {"image": image}
    labels = entry.labels
    if labels is not None:
        size = (image.shape[1], image.shape[0])
        limit = png_limit(*size)
        where = root.describe(labels.semantic)
        semantic = decode_png(root.read(labels.semantic, limit), where, size, "its image's")
        if semantic.ndim != 2 or semantic.dtype != np.uint8:
            raise VpsError(where, "not an 8-bit single-channel label map")
        where = root.describe(labels.panoptic)
        panoptic = decode_ids(root.read(labels.panoptic, limit), where, size, "its image's").view(np.int32)
        item.update(semantic=semantic, panoptic=panoptic, segments=_segments(labels.segments, panoptic, where))
    item.update(image_id=entry.image_id, file_name=entry.file_name, video=entry.video, frame=entry.frame)
    if entry.annotated_id is not None and entry.annotated_id != entry.image_id:
        item["annotated_id"] = entry.annotated_id
    return item


def stack_clip(frames: list[dict]) -> dict:
    """One item of a clip's frame items: the per-pixel arrays stacked along a first axis (each
    only when every frame has it), the per-frame values as lists, ``video`` once."""
    item: dict = {}
    for key in ARRAY_KEYS:
        if all(key in f for f in frames):
            shapes = {f[key].shape for f in frames}
            if len(shapes) > 1:
                raise VpsError(f"video {frames[0]['video']}", f"frames of one clip differ in size: "
                               f"{', '.join(str(s) for s in sorted(shapes))}")
            item[key] = np.stack([f[key] for f in frames])
    keys = [k for k in frames[0] if k not in ARRAY_KEYS and k != "video"]
    for key in ("segments", "annotated_id"):
        if any(key in f for f in frames) and key not in keys:
            keys.append(key)
    for key in keys:
        item[key] = [f.get(key) for f in frames]
    item["video"] = frames[0]["video"]
    return item
