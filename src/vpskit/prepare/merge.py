"""Stage 2 (SPEC §2): copy the gtFine labels of each 20th frame into ``cls/`` and ``inst/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..naming import cls_file, gtfine_relpath, inst_file, panoptic_im_json
from ..sources import Source
from .common import annotated_frames, group_by_video, output_dir, place_file, png_size


@dataclass(frozen=True)
class LabelTask:
    """One gtFine file to copy: source member, output folder and output file name."""

    src: str
    folder: str
    file_name: str


@dataclass(frozen=True)
class MergeContext:
    """What every stage-2 worker needs."""

    root: Path
    source: Source


def plan(root: Path, split: str) -> dict[int, list[LabelTask]]:
    """The colour and instance labels of every 20th frame of the split, grouped per video."""
    frames = annotated_frames(Path(root) / panoptic_im_json(split))
    out: dict[int, list[LabelTask]] = {}
    for video, group in group_by_video(frames).items():
        tasks = []
        for f in group:
            if not f.iid.is_gtfine_frame:
                continue
            tasks.append(LabelTask(gtfine_relpath(f.iid.key, "color"), "cls", cls_file(f.iid)))
            tasks.append(LabelTask(gtfine_relpath(f.iid.key, "instanceIds"), "inst", inst_file(f.iid)))
        if tasks:
            out[video] = tasks
    return out


def is_done(root: Path, split: str, task: LabelTask) -> bool:
    """Whether the label is already in place."""
    return (output_dir(root, split, task.folder) / task.file_name).exists()


def run_video(ctx: MergeContext, unit: tuple[str, int, tuple[LabelTask, ...]]) -> int:
    """Copy the gtFine labels of one video; return how many files were written."""
    split, _, tasks = unit
    written = 0
    for t in tasks:
        dst = output_dir(ctx.root, split, t.folder) / t.file_name
        if dst.exists():
            continue
        data = ctx.source.read(t.src)
        png_size(data, ctx.source.describe(t.src))
        place_file(dst, data, None, "copy")
        written += 1
    return written
