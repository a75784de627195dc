"""detectron2-style dataset dicts of a prepared split, and their registration with detectron2
(which vpskit does not need: it is imported only by :func:`register_detectron2`)."""

from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from .. import naming
from ..categories import CATEGORIES
from ..errors import VpsError
from ..prepared import PreparedRoot
from .split import load_videos

NAME = "cityscapes_vps_{split}"
"""The name :func:`register_detectron2` gives each split by default."""


def records(root: str | os.PathLike, split: str) -> list[dict]:
    """detectron2-style dataset dicts of the annotated frames of ``split`` of a prepared folder,
    in image-id order.

    Each: ``file_name`` (the image), ``height``, ``width``, ``image_id``, ``video_id`` (the
    video number), ``frame_idx`` (the 0-based position in the video's 30-frame snippet); for
    train and val also ``pan_seg_file_name`` (the ``panoptic_video`` PNG: id = R + 256 G + 256²
    B), ``segments_info`` (the records of ``panoptic_gt_{split}_city_vps.json``: ``id``,
    ``category_id`` (the Cityscapes train id, which is detectron2's contiguous id), ``iscrowd``,
    ``area``) and ``sem_seg_file_name`` (the ``labelmap`` PNG: train ids, 255 void). Paths are
    absolute; a zip is refused (detectron2 reads files from disk).
    """
    prepared = PreparedRoot(root, split)
    if prepared.is_zip:
        raise VpsError(root, "records name files on disk: extract the zip, or read it in place with "
                       "vpskit.data.VideoPanopticDataset")
    base = Path(root).resolve()
    out = []
    for video in load_videos(prepared, "annotated"):
        for e in video:
            w, h = prepared.image_size(e.image, e.width, e.height)
            rec: dict = {"file_name": str(base / e.image), "height": h, "width": w, "image_id": e.image_id,
                         "video_id": e.video, "frame_idx": e.frame}
            if e.labels is not None:
                rec["pan_seg_file_name"] = str(base / e.labels.panoptic)
                rec["segments_info"] = copy.deepcopy(list(e.labels.records))
                rec["sem_seg_file_name"] = str(base / e.labels.semantic)
            out.append(rec)
    return out


def metadata(root: str | os.PathLike, split: str) -> dict:
    """What :func:`register_detectron2` sets on a split's ``MetadataCatalog`` entry, as
    detectron2's own Cityscapes panoptic metadata (every category in ``thing_classes`` and
    ``stuff_classes``, contiguous ids = train ids); where the ground truth is, for train and val."""
    base = Path(root).resolve()
    labels = {
        "panoptic_root": str(base / split / "panoptic_video"),
        "panoptic_json": str(base / naming.panoptic_gt_json(split)),
        "evaluator_type": "coco_panoptic_seg",
    } if split in naming.LABELLED_SPLITS else {}
    return {
        "thing_classes": [c.name for c in CATEGORIES],
        "thing_colors": [list(c.color) for c in CATEGORIES],
        "stuff_classes": [c.name for c in CATEGORIES],
        "stuff_colors": [list(c.color) for c in CATEGORIES],
        "thing_dataset_id_to_contiguous_id": {c.id: c.id for c in CATEGORIES if c.isthing},
        "stuff_dataset_id_to_contiguous_id": {c.id: c.id for c in CATEGORIES if not c.isthing},
        "ignore_label": 255,
        "label_divisor": 1000,
        "image_root": str(base / split / "img"),
        **labels,
    }


def register_detectron2(root: str | os.PathLike, splits: Sequence[str] = naming.LABELLED_SPLITS, *,
                        name: str = NAME) -> list[str]:
    """Register each of ``splits`` of a prepared folder with detectron2's ``DatasetCatalog``
    (its :func:`records`, read when detectron2 asks) and ``MetadataCatalog`` (:func:`metadata`),
    under ``name`` formatted with the split; return the names. ``VpsError`` when detectron2 cannot
    be imported."""
    try:
        catalog = importlib.import_module("detectron2.data")
    except ImportError as exc:
        raise VpsError("register_detectron2", f"detectron2 cannot be imported ({exc}); install it "
                       "(https://detectron2.readthedocs.io), or use vpskit.data.records(root, split), "
                       "which gives the same dataset dicts without it") from None
    names = []
    for split in naming.parse_splits(list(splits)):
        PreparedRoot(root, split)  # fails now, not when detectron2 first asks
        key = name.format(split=split)
        catalog.DatasetCatalog.register(key, partial(records, root, split))
        catalog.MetadataCatalog.get(key).set(**metadata(root, split))
        names.append(key)
    return names
