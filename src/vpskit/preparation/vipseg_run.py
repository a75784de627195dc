"""VIPSeg preparation of a whole download (a folder or a zip), per video on ``jobs`` processes,
resumable: what ``change2_720p.py``, ``create_panoptic_video_labels.py`` and ``splitjson.py``
make, written under ``out`` as the VIPSeg README lays it out (``images/``, ``panomasks/``,
``panomasksRGB/``, ``panoVIPSeg_categories.json``, ``panoptic_gt_VIPSeg{,_train,_val}.json``).

A video is done when its record ``.vpskit/vipseg/{video}.json`` (its JSON entries and file list,
written after its files) exists and every file it lists is there; a video that is not done is
prepared again whole, since its segment ids depend on all its frames.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VpsError
from ..parallel import map_videos
from ..pngio import atomic_write_bytes, write_png
from ..profiles.vipseg import SPLITS, categories_json
from ..sources import Source
from .vipseg import (
    VideoSegments,
    convert_frame,
    panoptic_document,
    resize_image,
    resize_mask,
    split_document,
    video_entries,
)

__all__ = ["VipsegDownload", "VipsegSummary", "prepare_vipseg"]

RECORD_DIR = ".vpskit/vipseg"


def _by_video(names: list[str]) -> dict[str, list[str]]:
    """``{video}/{file}`` names grouped by video, files in name order; hidden ones skipped."""
    out: dict[str, list[str]] = {}
    for name in names:
        video, _, file = name.partition("/")
        if file and "/" not in file and not video.startswith(".") and not file.startswith("."):
            out.setdefault(video, []).append(file)
    return {video: sorted(files) for video, files in out.items()}


class VipsegDownload:
    """The raw VIPSeg download: ``imgs/``, ``panomasks/`` and the split lists, found at any depth
    of a folder or a zip."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.images = Source(path, "imgs")
        if self.images.is_zip:
            root = self.images._zip_prefix[: -len("imgs/")]
        else:
            assert self.images._base is not None
            root = os.path.relpath(self.images._base.parent, self.images.path) if self.images.path.is_dir() else ""
        self.root = Source(path, "", prefix=root, label=self.images.label)
        masks = root + "panomasks/" if self.images.is_zip else os.path.join(root, "panomasks")
        self.masks = Source(path, "panomasks", prefix=masks, label=self.images.label)
        self._frames = _by_video(self.images.names())
        self._masked = set(_by_video(self.masks.names()))

    def videos(self) -> list[str]:
        """Every video folder of ``imgs/``, in name order."""
        return sorted(self._frames)

    def frames(self, video: str) -> list[str]:
        """The image files of ``video``, in name order (hidden files skipped, as the scripts do)."""
        return self._frames[video]

    def has_masks(self, video: str) -> bool:
        """Whether ``panomasks/{video}/`` holds any mask (the test videos hold none)."""
        return video in self._masked

    def split(self, split: str) -> list[str]:
        """The videos of ``{split}.txt``."""
        text = self.root.read(f"{split}.txt", missing="split list missing").decode()
        return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class VipsegSummary:
    """What :func:`prepare_vipseg` did: videos prepared and skipped (already done), frames
    (images and masks) of the whole download."""

    prepared: int = 0
    skipped: int = 0
    images: int = 0
    masks: int = 0
    videos_per_split: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        """One line for the terminal."""
        splits = ", ".join(f"{k} {v}" for k, v in self.videos_per_split.items())
        return (f"VIPSeg: {self.prepared} videos prepared, {self.skipped} already done; "
                f"{self.images} frames, {self.masks} masks ({splits})")


@dataclass(frozen=True)
class _Context:
    download: VipsegDownload
    out: Path


def _record_path(out: Path, video: str) -> Path:
    return out / RECORD_DIR / f"{video}.json"


def _done(out: Path, video: str) -> dict | None:
    path = _record_path(out, video)
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not all((out / f).is_file() for f in record.get("files", [None])):
        return None
    return record


def _prepare_video(ctx: _Context, video: str) -> dict:
    """Prepare one video (see :func:`prepare_vipseg`) unless done; its record."""
    record = _done(ctx.out, video)
    if record is not None:
        return record | {"skipped": True}
    dl, out = ctx.download, ctx.out
    with_masks = dl.has_masks(video)
    segments = VideoSegments()
    files, frames = [], []
    for image in dl.frames(video):
        stem = image.split(".")[0]
        rel = f"{video}/{image}"
        jpeg, size = resize_image(dl.images.read(rel), dl.images.describe(rel))
        files.append(f"images/{rel}")
        atomic_write_bytes(_mkdir(out / "images" / video) / image, jpeg)
        if not with_masks:
            continue
        mask_rel = f"{video}/{stem}.png"
        where = dl.masks.describe(mask_rel)
        mask = resize_mask(dl.masks.read(mask_rel, missing="mask missing (every frame of a labelled video has one)"),
                           size, where)
        rgb, info = convert_frame(mask, segments, where)
        write_png(_mkdir(out / "panomasks" / video) / f"{stem}.png", mask)
        write_png(_mkdir(out / "panomasksRGB" / video) / f"{stem}.png", rgb)
        files += [f"panomasks/{mask_rel}", f"panomasksRGB/{mask_rel}"]
        frames.append((f"{stem}.png", rgb.shape[1], rgb.shape[0], info))
    entries = video_entries(video, frames) if with_masks else None
    record = {"video": video, "images": len(dl.frames(video)), "masks": len(frames), "files": files,
              "entries": entries}
    atomic_write_bytes(_mkdir(out / RECORD_DIR) / f"{video}.json", json.dumps(record).encode())
    return record


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare_vipseg(download: str | os.PathLike, out: str | os.PathLike, *, jobs: int | None = None,
                   progress: bool | None = None) -> VipsegSummary:
    """Prepare a VIPSeg download (folder or zip) into ``out``; see the module docstring. Every
    frame of ``imgs/`` is resized (those of the test videos too, which ``change2_720p.py`` skips);
    every frame of a video with masks must have one."""
    dl, out = VipsegDownload(download), Path(out)
    videos = dl.videos()
    if not videos:
        raise VpsError(dl.images.label, "no video folder in imgs/")
    lists = {split: dl.split(split) for split in SPLITS}
    records = map_videos(_prepare_video, videos, context=_Context(dl, out), jobs=jobs, desc="vipseg",
                         progress=progress, cost=lambda video: len(dl.frames(video)))
    summary = VipsegSummary(videos_per_split={k: len(v) for k, v in lists.items()})
    entries = []
    for record in records:
        summary.skipped += bool(record.get("skipped"))
        summary.prepared += not record.get("skipped")
        summary.images += record["images"]
        summary.masks += record["masks"]
        if record["entries"] is not None:
            entries.append(tuple(record["entries"]))
    doc = panoptic_document(entries, categories_json())
    atomic_write_bytes(out / "panoVIPSeg_categories.json", json.dumps(categories_json()).encode())
    atomic_write_bytes(out / "panoptic_gt_VIPSeg.json", json.dumps(doc).encode())
    for split in ("train", "val"):
        atomic_write_bytes(out / f"panoptic_gt_VIPSeg_{split}.json",
                           json.dumps(split_document(doc, lists[split])).encode())
    return summary
