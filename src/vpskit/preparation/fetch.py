"""Stage 1 (SPEC §2): copy (or link) the Cityscapes frames of a split into ``img/`` and ``img_all/``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..naming import (
    FRAMES_PER_SNIPPET,
    FrameKey,
    frame_relpath,
    im_all_info_json,
    panoptic_im_json,
)
from ..pngio import png_header, png_limit
from ..sources import Source
from .common import (
    annotated_frames,
    check_size,
    group_by_video,
    output_dir,
    place_file,
    png_size,
    raw_frames,
)
from .panoptic import check_inst_header
from .uptodate import forget_derived, same_as_source

ALL_FRAMES_SPLITS = ("val", "test")
"""Splits that also get every frame of every snippet in ``img_all/``."""


@dataclass(frozen=True)
class CopyTask:
    """One file to place: source member, output folder and file name, expected size (if known)."""

    src: str
    folder: str
    file_name: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class FetchContext:
    """What every stage-1 (and stage-2) worker needs."""

    root: Path
    source: Source
    link: str
    content: bool = False
    """Whether a file already in place must match its source's CRC-32 too, not just its size."""


def plan(root: Path, split: str) -> dict[int, list[CopyTask]]:
    """Every frame of the split to place, grouped per video (video 0: frames of no video).

    Annotated frames come from ``panoptic_im``; for val and test, all frames from
    ``im_all_info``, assigned to the video whose snippet contains them.
    """
    root = Path(root)
    frames = annotated_frames(root / panoptic_im_json(split))
    out: dict[int, list[CopyTask]] = {}
    owner: dict[FrameKey, int] = {}
    for video, group in group_by_video(frames).items():
        for f in group:
            out.setdefault(video, []).append(
                CopyTask(frame_relpath(f.iid.key), "img", f.file_name, f.width, f.height))
            first = f.iid.first_frame
            for n in range(first, first + FRAMES_PER_SNIPPET):
                owner.setdefault(FrameKey(f.iid.city, f.iid.seq, n), video)
    if split in ALL_FRAMES_SPLITS:
        for r in raw_frames(root / im_all_info_json(split)):
            out.setdefault(owner.get(r.key, 0), []).append(
                CopyTask(frame_relpath(r.key), "img_all", r.file_name, r.width, r.height))
    return dict(sorted(out.items()))


def is_done(ctx: FetchContext, split: str, task: CopyTask) -> bool:
    """Whether the file is already in place: it exists (files appear only whole, by atomic
    rename) and has its source's size (and CRC-32, with ``ctx.content``)."""
    dst = output_dir(ctx.root, split, task.folder) / task.file_name
    return same_as_source(dst, ctx.source, task.src, content=ctx.content)


def run_video(ctx: FetchContext, unit: tuple[str, int, tuple[CopyTask, ...]]) -> int:
    """Place the files of one video (checked to be whole PNGs of the expected size); return how
    many were written.

    A file already there is replaced; the outputs derived from a replaced label are deleted first.
    """
    split, _, tasks = unit
    written = 0
    for t in tasks:
        dst = output_dir(ctx.root, split, t.folder) / t.file_name
        data = ctx.source.read(t.src, limit=png_limit(t.width, t.height))
        where = ctx.source.describe(t.src)
        check_size(png_size(data, where), t.width, t.height, where)
        if t.folder == "inst":
            check_inst_header(png_header(data, where), where)
        if os.path.lexists(dst):
            forget_derived(ctx.root, f"{split}/{t.folder}/{t.file_name}")
        place_file(dst, data, ctx.source.local_path(t.src), ctx.link)
        written += 1
    return written
