"""Stage 2 (SPEC §2): copy the gtFine labels of each 20th frame into ``cls/`` and ``inst/``.

The copying itself is stage 1's (:func:`vpskit.preparation.fetch.run_video`, always by copy).
"""

from __future__ import annotations

from pathlib import Path

from ..naming import cls_file, gtfine_relpath, inst_file, panoptic_im_json
from .common import annotated_frames, group_by_video
from .fetch import CopyTask


def plan(root: Path, split: str) -> dict[int, list[CopyTask]]:
    """The colour and instance labels of every 20th frame of the split, grouped per video
    (each checked against the frame's size in the JSON when it is copied)."""
    frames = annotated_frames(Path(root) / panoptic_im_json(split))
    out: dict[int, list[CopyTask]] = {}
    for video, group in group_by_video(frames).items():
        tasks = []
        for f in group:
            if not f.iid.is_gtfine_frame:
                continue
            for kind, folder, name in (("color", "cls", cls_file(f.iid)),
                                       ("instanceIds", "inst", inst_file(f.iid))):
                tasks.append(CopyTask(gtfine_relpath(f.iid.key, kind), folder, name, f.width, f.height))
        if tasks:
            out[video] = tasks
    return out
