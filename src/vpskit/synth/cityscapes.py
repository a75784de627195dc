"""The Cityscapes-VPS writer of :mod:`vpskit.synth`: every file of a video (raw frames, gtFine
labels of its 20th frame, the release's ``cls``/``inst`` labels), the release JSON files, and
:func:`synthesize`, which writes them as folders or as the three zips of the real downloads."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import naming, pngio
from ..categories import LABELS, categories_json
from ..coco_instances import image_record, instance_annotations, instances_document
from ..errors import VpsError
from ..naming import ANNOTATED_OFFSETS, FRAMES_PER_SNIPPET, GTFINE_OFFSET
from ..parallel import map_videos
from .output import FRAME_COMPRESS_LEVEL, Context, clear_previous, parse_size, write_json, zip_tree
from .plans import VideoPlan, plan_videos
from .scene import Scene, build_scene, frame_polygons, rasterize

DEFAULT_SIZE = (2048, 1024)
MAX_VIDEOS = 9999 // naming.ANNOTATED_PER_VIDEO
"""Most videos whose image-id index ``(video-1)*6 + j`` still has four digits."""
IMAGES_DIR = "leftImg8bit_sequence/val"
GTFINE_DIR = "gtFine/val"
RELEASE_DIR = "cityscapes_vps"
IMAGES_ZIP = "leftImg8bit_sequence_trainvaltest.zip"
GTFINE_ZIP = "gtFine_trainvaltest.zip"
RELEASE_ZIP = "cityscapes-vps-dataset-1.0.zip"
_STAGING = ".vpskit-synth-staging"
MARKER = ".vpskit-synth.json"
"""Written first into the output folder: a later run may then replace what it finds there."""
_OUTPUT_NAMES = ("leftImg8bit_sequence", "gtFine", RELEASE_DIR, IMAGES_ZIP, GTFINE_ZIP,
                 RELEASE_ZIP, _STAGING)


@dataclass
class SynthResult:
    """What :func:`synthesize` made."""

    out: Path
    as_zip: bool
    size: tuple[int, int]
    paths: list[Path]
    """The three inputs: the three top-level folders, or the three zips."""
    videos: dict[str, list[int]]
    """Video numbers of each split (train, val, test)."""
    frames: int
    """Raw frames written (30 per video)."""
    gtfine_frames: int
    """Frames with gtFine labels (one per video)."""
    vps_labels: int
    """``cls``/``inst`` pairs written in the release (five per train/val video)."""
    instance_annotations: dict[str, int] = field(default_factory=dict)
    """Instance annotations in ``instances_{split}_city_vps_rle.json``."""

    def summary(self) -> str:
        """A few lines describing the output."""
        w, h = self.size
        split_text = ", ".join(f"{s} {len(v)}" for s, v in self.videos.items())
        lines = [
            f"synthetic Cityscapes-VPS in {self.out} ({'zips' if self.as_zip else 'folders'}, {w}x{h})",
            f"  videos: {sum(len(v) for v in self.videos.values())} ({split_text})",
            f"  frames: {self.frames} raw, {self.gtfine_frames} with gtFine labels, "
            f"{self.vps_labels} cls/inst pairs in the release",
            "  instance annotations: "
            + ", ".join(f"{s} {n}" for s, n in self.instance_annotations.items()),
        ]
        lines += [f"  wrote {p}" for p in self.paths]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Label coding
# --------------------------------------------------------------------------------------------
_LABEL_COLOR_LUT = np.zeros((256, 3), dtype=np.uint8)
for _lab in LABELS:
    if _lab.id >= 0:
        _LABEL_COLOR_LUT[_lab.id] = _lab.color


def _rgba(label_ids: np.ndarray) -> np.ndarray:
    """RGBA colour image (alpha 255) of a label-id map."""
    h, w = label_ids.shape
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[..., :3] = _LABEL_COLOR_LUT[label_ids]
    out[..., 3] = 255
    return out


# --------------------------------------------------------------------------------------------
# Per-video work
# --------------------------------------------------------------------------------------------
@dataclass
class _VideoOutput:
    plan: VideoPlan
    annotations: list[tuple[int, list[dict]]]  # (image index, annotations) per labelled frame
    files: int


def _polygons_json(scene: Scene, polys: list[tuple[int, list[tuple[int, int]]]]) -> dict:
    objects: list[dict] = []
    for key, pts in polys:
        if not scene.keys[key].listed:
            continue  # inside a polygon of the same object, which draws the same labels
        objects.append({"date": "01-Jan-2026 00:00:00", "deleted": 0, "draw": True,
                        "id": len(objects), "label": scene.keys[key].name,
                        "polygon": [list(p) for p in pts], "user": "vpskit", "verified": 0})
    return {"imgHeight": scene.height, "imgWidth": scene.width, "objects": objects}


def _make_video(ctx: Context, plan: VideoPlan) -> _VideoOutput:
    """Write every file of one video; return what the release JSON files need."""
    root = Path(ctx.root)
    rng = np.random.default_rng([ctx.seed, plan.video])
    scene = build_scene(ctx.width, ctx.height, rng, plan.video)
    keys = scene.keys
    lut_label = np.array([k.label for k in keys], dtype=np.uint8)
    lut_inst = np.array([k.inst for k in keys], dtype=np.uint16)
    lut_vps_label = np.array([k.vps_label for k in keys], dtype=np.uint8)
    lut_vps_inst = np.array([k.vps_inst for k in keys], dtype=np.uint16)
    reps = (-(-ctx.height // scene.texture.shape[0]), -(-ctx.width // scene.texture.shape[1]), 1)
    texture = np.tile(scene.texture, reps)[:ctx.height, :ctx.width]
    image_ids = {off: iid for off, iid in zip(ANNOTATED_OFFSETS, plan.image_ids(), strict=True)}
    labelled = plan.split in naming.LABELLED_SPLITS
    release = root / RELEASE_DIR / plan.split
    annotations: list[tuple[int, list[dict]]] = []
    files = 0
    for t in range(FRAMES_PER_SNIPPET):
        key = plan.frame_key(t)
        polys = frame_polygons(scene, t)
        keymap = rasterize(scene, polys)
        frame = scene.appearance[keymap]
        frame += texture
        pngio.atomic_write_bytes(root / IMAGES_DIR / naming.frame_relpath(key),
                                 pngio.encode_png(frame, compress_level=FRAME_COMPRESS_LEVEL))
        files += 1
        iid = image_ids.get(t)
        if t == GTFINE_OFFSET:
            label_ids = lut_label[keymap]
            inst = lut_inst[keymap]
            color = _rgba(label_ids)
            base = root / GTFINE_DIR
            pngio.write_png(base / naming.gtfine_relpath(key, "color"), color)
            pngio.write_png(base / naming.gtfine_relpath(key, "labelIds"), label_ids)
            pngio.write_png(base / naming.gtfine_relpath(key, "instanceIds"), inst)
            write_json(base / naming.gtfine_relpath(key, "polygons"),
                       _polygons_json(scene, polys))
            files += 4
        elif iid is not None and labelled:
            color = _rgba(lut_vps_label[keymap])
            inst = lut_vps_inst[keymap]
            pngio.write_png(release / "cls" / naming.cls_file(iid), color)
            pngio.write_png(release / "inst" / naming.inst_file(iid), inst)
            files += 2
        if iid is not None and labelled:
            annotations.append((iid.index, instance_annotations(color, inst)))
    return _VideoOutput(plan, annotations, files)


# --------------------------------------------------------------------------------------------
# Release JSON files
# --------------------------------------------------------------------------------------------
def _release_jsons(outputs: list[_VideoOutput], width: int, height: int) -> dict[str, dict]:
    cats = categories_json()
    by_split: dict[str, list[_VideoOutput]] = {s: [] for s in naming.SPLITS}
    for o in outputs:
        by_split[o.plan.split].append(o)
    files: dict[str, dict] = {}
    for split in naming.SPLITS:
        outs = by_split[split]
        images = [{"id": str(iid), "file_name": naming.image_file(iid), "width": width,
                   "height": height} for o in outs for iid in o.plan.image_ids()]
        files[naming.panoptic_im_json(split)] = {"images": images, "categories": cats}
        if split in ("val", "test"):
            all_images = [{"id": (o.plan.video - 1) * FRAMES_PER_SNIPPET + t + 1,
                           "file_name": naming.frame_file(o.plan.frame_key(t)),
                           "width": width, "height": height}
                          for o in outs for t in range(FRAMES_PER_SNIPPET)]
            files[naming.im_all_info_json(split)] = {"images": all_images, "categories": cats}
        if split in naming.LABELLED_SPLITS:
            inst_images = [image_record(iid, naming.image_file(iid), width, height)
                           for o in outs for iid in o.plan.image_ids()]
            files[naming.instances_json(split)] = instances_document(
                inst_images, (pair for o in outs for pair in o.annotations))
    return files


def synthesize(
    out: str | os.PathLike,
    videos: int = 6,
    size: tuple[int, int] = DEFAULT_SIZE,
    seed: int = 0,
    as_zip: bool = False,
    jobs: int | None = None,
    progress: bool | None = None,
    splits: Mapping[str, int] | None = None,
) -> SynthResult:
    """Write a synthetic Cityscapes-VPS download of ``videos`` videos into ``out``.

    ``size`` is (width, height) of every frame. Videos are split 8:1:1 into train, val and test
    (:func:`vpskit.synth.plans.split_counts`) unless ``splits`` (split → number of videos, adding up to ``videos``)
    says otherwise. The same arguments give byte-identical files,
    whatever ``jobs`` (number of processes; default all cores). With ``as_zip`` the three
    inputs are written as the zips of the real downloads and no folder trees are left.
    The outputs of an earlier run into ``out`` are replaced; a folder that holds inputs not
    written by this function is refused (``VpsError``).
    """
    if not 1 <= videos <= MAX_VIDEOS:
        raise VpsError("videos", f"must be between 1 and {MAX_VIDEOS} (image-id indices have "
                       f"four digits), got {videos}")
    if not isinstance(seed, int) or seed < 0:
        raise VpsError("seed", f"must be a non-negative integer, got {seed!r}")
    width, height = parse_size(size)
    plans = plan_videos(videos, seed, splits)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise VpsError(out, "exists and is not a folder")
    clear_previous(out, _OUTPUT_NAMES, MARKER)
    write_json(out / MARKER, {"videos": videos, "size": [width, height], "seed": seed,
                              "zip": as_zip})
    root = out / _STAGING if as_zip else out
    ctx = Context(str(root), width, height, seed)
    outputs = map_videos(_make_video, plans, context=ctx, jobs=jobs, desc="synth",
                         progress=progress)
    jsons = _release_jsons(outputs, width, height)
    for name in sorted(jsons):
        write_json(root / RELEASE_DIR / name, jsons[name])
    if as_zip:
        paths = [out / IMAGES_ZIP, out / GTFINE_ZIP, out / RELEASE_ZIP]
        zip_tree(root, "leftImg8bit_sequence", paths[0])
        zip_tree(root, "gtFine", paths[1])
        zip_tree(root, RELEASE_DIR, paths[2])
        shutil.rmtree(root)
    else:
        paths = [out / "leftImg8bit_sequence", out / "gtFine", out / RELEASE_DIR]
    split_videos = {s: [p.video for p in plans if p.split == s] for s in naming.SPLITS}
    n_inst = {s: len(jsons[naming.instances_json(s)]["annotations"])
              for s in naming.LABELLED_SPLITS}
    return SynthResult(
        out=out, as_zip=as_zip, size=(width, height), paths=paths, videos=split_videos,
        frames=videos * FRAMES_PER_SNIPPET, gtfine_frames=videos,
        vps_labels=sum(5 for p in plans if p.split in naming.LABELLED_SPLITS),
        instance_annotations=n_inst,
    )
