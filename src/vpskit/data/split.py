"""The frames of one split of a prepared root, grouped by video, with where their files are and,
where the split has labels, their segments: what the dataset and the records are built from.

Only the JSON files are read here; no image is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import naming
from ..errors import VpsError
from ..jsonfields import label
from ..preparation.common import AnnotatedFrame
from ..prepared import PreparedRoot, frame_offset

FRAMES = ("annotated", "all")
"""What a dataset iterates: the annotated frames (``img/``) or every frame (``img_all/``)."""


@dataclass(frozen=True)
class SegmentTable:
    """The segments of one labelled frame, sorted by id, as aligned arrays."""

    id: np.ndarray
    category_id: np.ndarray
    isthing: np.ndarray
    iscrowd: np.ndarray
    track_id: np.ndarray
    """1, 2, … for the objects (non-crowd thing segments) of the video in the order they first
    appear (objects new in one frame by increasing segment id); 0 for stuff and crowd."""
    area: np.ndarray


@dataclass(frozen=True)
class Labels:
    """Where a frame's label maps are (relative to the root) and its segments."""

    semantic: str
    panoptic: str
    panoptic_name: str
    """The annotation's ``file_name`` (in ``panoptic_video/``)."""
    segments: SegmentTable
    records: tuple[dict, ...]
    """The annotation's ``segments_info`` records, as the JSON gives them."""


@dataclass(frozen=True)
class FrameEntry:
    """One frame of the split: its ids, its image and its labels (None where there are none)."""

    image_id: str | int
    """The id its JSON gives: the image id of ``panoptic_im`` (annotated frames), or the ``id`` of
    ``im_all_info`` (all frames)."""
    file_name: str
    image: str
    """The image's path relative to the root."""
    width: int | None
    height: int | None
    video: int
    frame: int
    """0-based position in the video's 30-frame snippet (the annotated frames are 4, 9, … 29)."""
    annotated_id: str | None
    """The Cityscapes-VPS image id, when this is an annotated frame."""
    labels: Labels | None


def _segment_table(records: list, isthing: dict[int, bool], where: str,
                   tracks: dict[int, int]) -> SegmentTable:
    """The segments of ``records`` (checked by the GT JSON's checker); ``tracks`` (segment id ->
    track id of the video so far) gains the frame's new objects."""
    recs = sorted(records, key=lambda r: r["id"])
    ids = np.array([r["id"] for r in recs], dtype=np.int64)
    cats = np.array([r["category_id"] for r in recs], dtype=np.int64)
    unknown = [int(c) for c in cats if int(c) not in isthing]
    if unknown:
        raise VpsError(where, f"category_id {unknown[0]} is not in the JSON's categories")
    thing = np.array([isthing[int(c)] for c in cats], dtype=bool)
    crowd = np.array([bool(r.get("iscrowd", 0)) for r in recs], dtype=bool)
    track = np.zeros(ids.size, dtype=np.int64)
    for i in np.flatnonzero(thing & ~crowd).tolist():
        track[i] = tracks.setdefault(int(ids[i]), len(tracks) + 1)
    area = np.array([r.get("area", 0) for r in recs], dtype=np.int64)
    return SegmentTable(ids, cats, thing, crowd, track, area)


def _annotations(root: PreparedRoot) -> tuple[dict[str, dict], dict[int, bool], str] | None:
    """The GT annotations by image id, ``isthing`` by category id, and where the JSON is."""
    gt = root.ground_truth()
    if gt is None:
        return None
    where = root.describe(naming.panoptic_gt_json(root.split))
    isthing = {int(c["id"]): bool(c.get("isthing", 0)) for c in gt["categories"]}
    return {a["image_id"]: a for a in gt["annotations"]}, isthing, where


def _labels_of(root: PreparedRoot, frames: list[AnnotatedFrame],
               gt: tuple[dict[str, dict], dict[int, bool], str] | None) -> dict[str, Labels]:
    """The labels of the annotated ``frames`` of one video, in image-id order (none without GT)."""
    if gt is None:
        return {}
    anns, isthing, where = gt
    # the video's objects numbered 1, 2, ... in increasing segment id, as `vpskit show --labels`
    # and the report page number them ("car 3")
    objects: set[int] = set()
    for f in frames:
        for r in anns.get(f.image_id, {}).get("segments_info", ()):
            if isinstance(r, dict) and isthing.get(r.get("category_id")) and not r.get("iscrowd", 0):
                objects.add(int(r["id"]))
    tracks = {sid: n for n, sid in enumerate(sorted(objects), start=1)}
    out = {}
    for f in frames:
        ann = anns.get(f.image_id)
        if ann is None:
            raise VpsError(where, f"no annotation for image {f.image_id}")
        at = f"{where}: {label(f.image_id)}"
        name = naming.safe_relpath(ann["file_name"], at)
        table = _segment_table(ann["segments_info"], isthing, at, tracks)
        split = root.split
        out[f.image_id] = Labels(f"{split}/labelmap/{name}", f"{split}/panoptic_video/{name}", name, table,
                                 tuple(ann["segments_info"]))
    return out


def load_videos(root: PreparedRoot, frames: str = "annotated") -> list[list[FrameEntry]]:
    """The frames of the root's split grouped by video (videos in order, frames in snippet
    order): its annotated frames, or with ``frames="all"`` every frame of ``img_all`` (val and
    test), the annotated ones among them with their labels."""
    if frames not in FRAMES:
        raise VpsError("frames", f"{frames!r} is not one of {', '.join(map(repr, FRAMES))}")
    annotated = root.annotated_frames()
    gt = _annotations(root)
    by_video: dict[int, list[AnnotatedFrame]] = {}
    for f in annotated:
        by_video.setdefault(f.iid.video, []).append(f)
    labels: dict[str, Labels] = {}
    for group in by_video.values():
        labels.update(_labels_of(root, group, gt))
    split = root.split
    if frames == "annotated":
        return [[FrameEntry(f.image_id, f.file_name, f"{split}/img/{f.file_name}", f.width, f.height,
                            video, frame_offset(f.iid), f.image_id, labels.get(f.image_id))
                 for f in group] for video, group in sorted(by_video.items())]
    annotated_at = {f.iid.key: f for f in annotated}
    videos: dict[int, list[FrameEntry]] = {}
    for r in root.listed_frames(annotated):
        a = annotated_at.get(r.key)
        iid = a.image_id if a is not None else None
        videos.setdefault(r.video, []).append(FrameEntry(
            r.id, r.file_name, f"{split}/img_all/{r.file_name}", r.width, r.height, r.video, r.offset,
            iid, labels.get(iid) if iid is not None else None))
    return [videos[v] for v in sorted(videos)]
