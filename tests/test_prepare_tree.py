"""A small hand-built Cityscapes-VPS download (folders or zips) for the preparation tests.

Each video is a 30-frame snippet of its own sequence in frankfurt; its six annotated frames
have colour and instance labels (the 20th from gtFine, the other five from the release) with
objects keeping their instance id over time. Scenes contain every case of the stage-3 rules.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from vpskit.categories import LABEL_BY_NAME, categories_json
from vpskit.naming import (
    ANNOTATED_OFFSETS,
    FRAMES_PER_SNIPPET,
    FrameKey,
    cls_file,
    frame_file,
    frame_relpath,
    gtfine_relpath,
    im_all_info_json,
    image_file,
    inst_file,
    make_image_id,
    panoptic_im_json,
)
from vpskit.pngio import encode_png

SPLIT_OF_VIDEO = {1: "train", 2: "train", 3: "val", 4: "val", 5: "test"}


def color(name: str) -> tuple[int, int, int]:
    return LABEL_BY_NAME[name].color


def label_id(name: str) -> int:
    return LABEL_BY_NAME[name].id


def frame_key(video: int, offset: int) -> FrameKey:
    return FrameKey("frankfurt", video, 100 * video + offset)


def scene(video: int, position: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(cls RGBA, inst uint16) of one annotated frame; objects move one pixel per position."""
    w, h = size
    cls = np.zeros((h, w, 4), dtype=np.uint8)
    cls[..., 3] = 255
    inst = np.zeros((h, w), dtype=np.uint16)

    def paint(y0, y1, x0, x1, name, value=None, rgb=None):
        cls[y0:y1, x0:x1, :3] = rgb if rgb is not None else color(name)
        inst[y0:y1, x0:x1] = label_id(name) if value is None else value

    paint(0, h // 3, 0, w, "sky")
    paint(h // 3, h // 2, 0, w, "building")
    paint(h // 2, h, 0, w, "road")
    paint(h // 2, h // 2 + 2, 0, w // 4, "polegroup")  # pole colour, no instance
    paint(h // 2 + 2, h // 2 + 4, 0, w // 4, "parking")  # void colour
    s = position
    car = label_id("car") * 1000
    paint(h // 2 + 4, h // 2 + 10, 4 + s, 14 + s, "car", car + 0)  # k = 0
    paint(h // 2 + 5, h // 2 + 7, 6 + s, 8 + s, "license plate", car + 0)  # car colour
    paint(h // 2 + 4, h // 2 + 10, 20 + s, 28 + s, "car", car + video)
    # An object painted half in sky colour: the thing colour wins by majority.
    paint(2, 8, 30 + s, 36 + s, "person", label_id("person") * 1000 + 3)
    cls[2:4, 30 + s:36 + s, :3] = color("sky")
    # An object whose majority colour is black (void): left alone.
    paint(h // 2 + 12, h // 2 + 16, 30, 40, "person", label_id("person") * 1000 + 4, rgb=(0, 0, 0))
    cls[h // 2 + 12, 30:33, :3] = color("person")
    # A caravan (no train id): not an object of the panoptic labels.
    paint(h // 2 + 12, h // 2 + 16, 44, 50, "caravan", label_id("caravan") * 1000 + 1)
    # A crowd region of cars: plain label id.
    paint(h // 2 + 12, h // 2 + 16, 52, 60, "car", label_id("car"))
    # Two objects of different labels whose colour says bicycle: same final value.
    paint(h - 6, h - 2, 2, 6, "bicycle", label_id("bicycle") * 1000 + 7)
    paint(h - 6, h - 2, 8, 12, "bicycle", label_id("motorcycle") * 1000 + 7, rgb=color("bicycle"))
    return cls, inst


def frame_image(key: FrameKey, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(key.seq * 100_000 + key.frame)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def build_download(base: Path, size: tuple[int, int] = (64, 32),
                   split_of_video: dict[int, str] | None = None) -> dict[str, Path]:
    """Write ``leftImg8bit_sequence/val``, ``gtFine/val`` and ``cityscapes_vps`` under ``base``."""
    split_of_video = split_of_video or SPLIT_OF_VIDEO
    base = Path(base)
    images = base / "leftImg8bit_sequence" / "val"
    gtfine = base / "gtFine" / "val"
    release = base / "cityscapes_vps"
    docs: dict[str, dict] = {}
    for video, split in sorted(split_of_video.items()):
        for offset in range(FRAMES_PER_SNIPPET):
            key = frame_key(video, offset)
            path = images / frame_relpath(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode_png(frame_image(key, size)))
            if split in ("val", "test"):
                docs.setdefault(im_all_info_json(split), {"images": []})["images"].append(
                    {"id": len(docs[im_all_info_json(split)]["images"]) + 1,
                     "file_name": frame_file(key), "width": size[0], "height": size[1]})
        for position, offset in enumerate(ANNOTATED_OFFSETS):
            iid = make_image_id(video, position, frame_key(video, offset))
            doc = docs.setdefault(panoptic_im_json(split), {"images": [], "categories": categories_json()})
            doc["images"].append({"id": str(iid) if video % 2 else iid.index,
                                  "file_name": image_file(iid), "width": size[0], "height": size[1]})
            if split == "test":
                continue
            cls, inst = scene(video, position, size)
            if iid.is_gtfine_frame:
                for kind, arr in (("color", cls), ("instanceIds", inst)):
                    p = gtfine / gtfine_relpath(iid.key, kind)
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(encode_png(arr))
                p = gtfine / gtfine_relpath(iid.key, "labelIds")
                p.write_bytes(encode_png((inst % 1000 if inst.max() >= 1000 else inst).astype(np.uint8)))
            else:
                for folder, name, arr in (("cls", cls_file(iid), cls), ("inst", inst_file(iid), inst)):
                    p = release / split / folder / name
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(encode_png(arr))
    release.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (release / name).write_text(json.dumps(doc))
    return {"images": images, "gtfine": gtfine, "release": release, "base": base}


def zip_folder(folder: Path, top: Path, out: Path) -> Path:
    """Zip ``folder`` with member names relative to ``top`` (sorted, fixed timestamps)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(top).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return out


def build_zips(base: Path, size: tuple[int, int] = (64, 32)) -> dict[str, Path]:
    """The same download as three zips, as users get them."""
    tree = build_download(base / "tree", size)
    return {
        "images": zip_folder(tree["images"].parent, base / "tree", base / "leftImg8bit_sequence_trainvaltest.zip"),
        "gtfine": zip_folder(tree["gtfine"].parent, base / "tree", base / "gtFine_trainvaltest.zip"),
        "release": zip_folder(tree["release"], base / "tree", base / "cityscapes-vps-dataset-1.0.zip"),
    }
