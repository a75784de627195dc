"""What ``vpskit convert`` writes for each benchmark: the frames of a split (how a source file
names one, its size) and the layout of the prediction (where each frame's PNG goes, how it is
encoded, the JSON that describes the frames).

One :class:`Target` per output layout, chosen by the profile's ``layout``
(:data:`TARGETS`):

- ``panoptic-json`` (Cityscapes-VPS): the annotated frames of
  ``ROOT/panoptic_im_{split}_city_vps.json``; ``pan_pred/{image_id}.png`` and
  ``pred.json`` ``{"annotations": [{image_id, file_name, segments_info}, …]}``;
- ``video-json`` (VIPSeg): the frames of ``ROOT/panoptic_gt_VIPSeg_{split}.json``, named
  ``{video}/{frame}``; ``pan_pred/{video}/{frame}.png`` and ``pred.json`` ``{"annotations":
  [{video_id, annotations: [{image_id, file_name, segments_info}, …]}, …]}`` (frames in the
  ground truth's order, as DVIS and the VIPSeg scripts write it);
- ``category-instance`` (KITTI-STEP): the frames of ``ROOT/panoptic_maps/{split}/{seq}/``;
  ``{seq:04d}/{frame:06d}.png`` with R = category and G·256 + B = instance (the object's number
  ``k`` of its segment id ``c + 1 + 256·k``, 0 for stuff, crowd regions and void, whose R is
  255), as deeplab2 writes it; no JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from . import naming
from .errors import VpsError
from .formats import kitti_step
from .formats.tracks import PanopticFrame
from .jsonfields import label, need_list, need_object, read_json, str_field
from .pngio import encode_png, png_header, png_limit
from .preparation.common import AnnotatedFrame, annotated_frames
from .profiles import Profile
from .sources import Source


@dataclass(frozen=True)
class TargetFrame:
    """One frame to write: ``key`` names it in messages, ``video`` groups it (frames of one
    video are converted in order, sharing object ids), ``size`` (width, height) is what its maps
    must measure (None: taken from ``size_file`` of the ground truth when converting), ``out`` is
    its PNG below the layout's folder, ``record`` the fields of its JSON annotation."""

    key: str
    video: str | int
    size: tuple[int, int] | None
    out: str
    record: dict
    size_file: str = ""


class Target:
    """The frames of a split and the layout of the prediction written for them (see the module)."""

    png_dir = "pan_pred"
    """Folder of OUT the PNGs go to ("" for OUT itself)."""
    json_name: str | None = "pred.json"
    """The JSON written last, or None."""
    gt_source: Source | None = None
    """Where :attr:`TargetFrame.size_file` is read."""
    coco_folder_key: str | None = "video_id"
    """The key of a coco-panoptic annotation naming the folder of a bare ``file_name``."""

    def __init__(self, frames: Iterable[TargetFrame], where: object, empty: str = "lists no frames") -> None:
        self.frames = list(frames)
        if not self.frames:
            raise VpsError(where, empty)
        self._by_key = {f.key: f for f in self.frames}

    def name_of(self, stem: str) -> str:
        """The frame key a file names (``stem``: its path in SRC without the format's ending);
        ``VpsError`` when no rule applies."""
        raise NotImplementedError

    def find(self, stem: str) -> tuple[TargetFrame | None, str]:
        """The frame a file names (None: not a frame of the split) and that name."""
        key = self.name_of(stem)
        return self._by_key.get(key), key

    def find_coco(self, ann: dict, file_name: str, at: str) -> tuple[TargetFrame | None, str]:
        """The frame a coco-panoptic annotation names: by its ``image_id`` when that names a frame,
        else by its ``file_name`` (with its :attr:`coco_folder_key` as the folder when it has none)."""
        image_id = ann.get("image_id")
        if isinstance(image_id, str):
            try:
                return self.find(image_id)
            except VpsError:
                pass
        stem = file_name[: -len(".png")] if file_name.lower().endswith(".png") else file_name
        folder = self._coco_folder(ann, file_name)
        if folder is not None:
            stem = f"{folder}/{stem}"
        try:
            return self.find(stem)
        except VpsError as exc:
            raise VpsError(at, f"cannot tell which frame this is (image_id {label(str(image_id))}, "
                           f"file_name {file_name}): {exc.problem}") from None

    def _coco_folder(self, ann: dict, file_name: str) -> str | None:
        """The folder a bare ``file_name`` is in, from the annotation's :attr:`coco_folder_key`."""
        video = ann.get(self.coco_folder_key) if self.coco_folder_key else None
        if "/" in file_name or isinstance(video, bool) or not isinstance(video, (str, int)):
            return None
        return naming.safe_relpath(str(video), f"{self.coco_folder_key} {label(str(video))}")

    def coco_png_names(self, ann: dict, file_name: str) -> list[str]:
        """Where a coco-panoptic annotation's PNG may be, relative to the JSON's folder(s): its
        ``file_name``, then in the folder its :attr:`coco_folder_key` names."""
        folder = self._coco_folder(ann, file_name)
        return [file_name] if folder is None else [file_name, f"{folder}/{file_name}"]

    def size(self, frame: TargetFrame) -> tuple[int, int] | None:
        """(width, height) the frame's maps must measure."""
        if frame.size is not None or not frame.size_file or self.gt_source is None:
            return frame.size
        data = self.gt_source.read(frame.size_file, limit=png_limit())
        header = png_header(data, self.gt_source.describe(frame.size_file))
        return header.width, header.height

    def encode(self, frame: PanopticFrame) -> bytes:
        """The PNG bytes of a converted frame."""
        return frame.png()

    def document(self, anns: list[tuple[TargetFrame, dict]]) -> dict | None:
        """The JSON written last, from each frame's annotation (in :attr:`frames` order)."""
        return {"annotations": [ann for _, ann in anns]}


class CityscapesTarget(Target):
    """The annotated frames of a Cityscapes-VPS split (frames found by image id, raw name or
    video folder and snippet offset: :func:`vpskit.naming.parse_output_name`)."""

    coco_folder_key = None

    def __init__(self, root: str | os.PathLike, split: str, profile: Profile) -> None:
        naming.check_split(split)
        path = Path(root) / naming.panoptic_im_json(split)
        frames = annotated_frames(path)
        self._by_id = {f.image_id: f for f in frames}
        self._by_raw = {f.iid.key: f.image_id for f in frames}
        self._by_offset = {(f.iid.video, naming.ANNOTATED_OFFSETS[f.iid.position]): f.image_id for f in frames}
        super().__init__((self._frame(f) for f in frames), path, "lists no images")

    @staticmethod
    def _frame(f: AnnotatedFrame) -> TargetFrame:
        size = (f.width, f.height) if f.width is not None and f.height is not None else None
        out = naming.pan_pred_file(f.image_id)
        return TargetFrame(f.image_id, f.iid.video, size, out, {"image_id": f.image_id, "file_name": out})

    def _key(self, ref: naming.OutputName) -> str:
        if ref.image_id is not None:
            return str(ref.image_id)
        if ref.key is not None:
            return self._by_raw.get(ref.key, str(ref))
        return self._by_offset.get((ref.video, ref.offset), str(ref))

    def name_of(self, stem: str) -> str:  # noqa: D102
        return self._key(naming.parse_output_name(stem))

def _video_and_frame(stem: str, what: str) -> tuple[str, str]:
    parts = PurePosixPath(stem).parts
    if len(parts) < 2:
        raise VpsError(stem, f"not in a folder named by its {what} (expected {{{what}}}/{{frame}})")
    return parts[-2], parts[-1]


class VideoJsonTarget(Target):
    """The frames of a VIPSeg split, ``{video}/{frame}`` as its ground-truth JSON lists them; a
    source file names one by its folder (the video) and its name (the frame's, without ending).
    A frame's size is the JSON's, else its ground-truth PNG's."""

    def __init__(self, root: str | os.PathLike, split: str, profile: Profile) -> None:
        path = Path(root) / profile.gt_json.format(split=split)
        where = str(path)
        if not path.is_file():
            raise VpsError(path, f"not found: no {profile.title} ground truth of split {split!r}")
        doc = need_object(read_json(path), where, "the file")
        self.gt_source = Source(root, "", prefix="")
        frames = []
        for pos, video in enumerate(need_list(doc, "videos", where) or []):
            at = f"{where}: videos[{pos}]"
            video = need_object(video, where, f"videos[{pos}]")
            name = naming.safe_relpath(str_field(video, "video_id", at), at)
            if "/" in name:
                raise VpsError(at, f"video_id {name!r} is not a folder name")
            for i, image in enumerate(need_list(video, "images", at) or []):
                image = need_object(image, at, f"images[{i}]")
                file_name = naming.safe_relpath(str_field(image, "file_name", f"{at}: images[{i}]"), at)
                size = (image.get("width"), image.get("height"))
                ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
                image_id = image.get("id", PurePosixPath(file_name).stem)
                frames.append(TargetFrame(f"{name}/{PurePosixPath(file_name).stem}", name,
                                          size if ok else None, f"{name}/{file_name}",  # type: ignore[arg-type]
                                          {"image_id": image_id, "file_name": file_name},
                                          f"{profile.gt_png_dir}/{name}/{file_name}"))
        super().__init__(frames, where)

    def name_of(self, stem: str) -> str:  # noqa: D102
        video, frame = _video_and_frame(stem, "video")
        return f"{video}/{frame}"

    def document(self, anns: list[tuple[TargetFrame, dict]]) -> dict | None:  # noqa: D102
        videos: dict[str | int, list[dict]] = {}
        for frame, ann in anns:
            videos.setdefault(frame.video, []).append(ann)
        return {"annotations": [{"video_id": v, "annotations": a} for v, a in videos.items()]}


class MapsTarget(Target):
    """The frames of a KITTI-STEP split, ``{seq:04d}/{frame:06d}``; a source file names one by its
    folder (the sequence number) and its name (the frame number), with or without leading zeros."""

    png_dir = ""
    json_name = None

    def __init__(self, root: str | os.PathLike, split: str, profile: Profile) -> None:
        from .evaluation.category_instance import open_maps_ground_truth

        gt = open_maps_ground_truth(root, split, profile)
        self.gt_source = gt.source
        frames = [TargetFrame(f"{seq}/{name[:-4]}", seq, None, f"{seq}/{name}", {}, f"{seq}/{name}")
                  for seq, names in gt.videos.items() for name in names]
        super().__init__(frames, gt.source.describe(""))

    def name_of(self, stem: str) -> str:  # noqa: D102
        seq, frame = _video_and_frame(stem, "sequence")
        if not (seq.isdigit() and frame.isdigit()):
            raise VpsError(stem, "expected {sequence}/{frame} numbers, e.g. 0002/000013")
        return f"{int(seq):04d}/{int(frame):06d}"

    def encode(self, frame: PanopticFrame) -> bytes:  # noqa: D102
        ids = frame.ids
        category = np.where(ids == 0, 255, (ids & 0xFF).astype(np.int64) - 1)
        return encode_png(kitti_step.encode(category, ids >> 8))

    def document(self, anns: list[tuple[TargetFrame, dict]]) -> dict | None:  # noqa: D102
        return None


TARGETS: dict[str, type[Target]] = {"panoptic-json": CityscapesTarget, "video-json": VideoJsonTarget,
                                    "category-instance": MapsTarget}
"""Profile ``layout`` → its :class:`Target`."""


def open_target(root: str | os.PathLike, split: str, profile: Profile) -> Target:
    """The frames of ``split`` of the benchmark of ``profile`` in ``root`` and how to write them."""
    cls = TARGETS.get(profile.layout)
    if cls is None:
        raise VpsError("--benchmark", f"convert does not write {profile.title} predictions "
                       f"(layouts: {', '.join(TARGETS)})")
    return cls(root, split, profile)
