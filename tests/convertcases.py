"""Tiny hand-made splits and helpers for the `convert` / `export` tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vpskit import naming
from vpskit.categories import categories_json


def frame_ids(videos: int = 2) -> list[naming.ImageId]:
    """The annotated frames of videos 1 … ``videos``: snippet ``frankfurt_{video:06d}`` from frame 0."""
    return [naming.make_image_id(v, j, naming.FrameKey("frankfurt", v, off))
            for v in range(1, videos + 1) for j, off in enumerate(naming.ANNOTATED_OFFSETS)]


def tiny_root(root: Path, videos: int = 2, size: tuple[int, int] = (8, 8), split: str = "val") -> list[naming.ImageId]:
    """A folder holding only ``panoptic_im_{split}_city_vps.json`` (what convert reads) for
    ``videos`` videos of ``size`` (width, height) frames; their image ids."""
    ids = frame_ids(videos)
    images = [{"id": str(i), "file_name": naming.image_file(i), "width": size[0], "height": size[1]} for i in ids]
    root.mkdir(parents=True, exist_ok=True)
    (root / naming.panoptic_im_json(split)).write_text(json.dumps({"images": images, "categories": categories_json()}))
    return ids


def read_prediction(out: Path) -> tuple[dict[str, list[dict]], dict[str, np.ndarray]]:
    """``segments_info`` and the (H, W) segment ids of each frame of a prediction folder."""
    from vpskit import pngio

    anns = json.loads((out / "pred.json").read_text())["annotations"]
    infos = {a["image_id"]: a["segments_info"] for a in anns}
    ids = {a["image_id"]: pngio.rgb2id(pngio.read_png(out / "pan_pred" / a["file_name"])) for a in anns}
    return infos, ids


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) by relative path, with its bytes."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
