"""COCO instance annotations of Cityscapes-VPS (``instances_{split}_city_vps_rle.json``): the
rule that makes them from a frame's labels, the JSON document, its regeneration from a prepared
root (``vpskit export --to coco-instances``) and its comparison with a shipped file (``verify``).

The rule (SPEC §1c, the objects stage 3 keeps): an object is an instance value ``v >= 1000`` of
the frame's ``inst`` label whose majority raw colour in ``cls`` (ties: the smallest packed
colour) is the colour of a thing category, which gives ``category_id``. Its mask is every pixel
of ``v`` (a pycocotools RLE), and ``inst_id`` is ``v``: instance values are consistent over the
frames of a video, so ``inst_id`` is the object's track id within its video. The synthetic
release (:mod:`vpskit.synth`) writes its file with these functions too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils

from . import naming
from .categories import CATEGORY_BY_ID, IS_THING_LUT, categories_json
from .errors import VpsError
from .jsonfields import read_json
from .naming import ImageId
from .parallel import map_videos
from .pngio import atomic_write_bytes, png_header, png_limit, rgb2id
from .preparation.common import AnnotatedFrame, group_by_video
from .preparation.panoptic import categories_of, decode_cls, decode_inst, majority_colors
from .prepared import PreparedRoot

MAX_DIFFERENCES = 20
"""How many differences :func:`compare` lists before summarising the rest."""


# --------------------------------------------------------------------------- the rule


def instance_annotations(colors: np.ndarray, inst: np.ndarray) -> list[dict]:
    """COCO annotations (RLE masks) of the thing objects of one labelled frame.

    ``colors`` is the (H, W, 3+) colour label image, ``inst`` the (H, W) instance ids. Returned
    in increasing ``inst_id``, without ``id`` and ``image_id``.
    """
    h, w = inst.shape
    inst = inst.astype(np.int64)
    values, cols = majority_colors(inst, rgb2id(colors))
    cats = categories_of(cols)
    keep = IS_THING_LUT[cats]
    chosen = dict(zip(values[keep].tolist(), cats[keep].tolist(), strict=True))
    if not chosen:
        return []
    rles = _rle_of_values(inst, sorted(chosen))
    areas = mask_utils.area(rles)
    boxes = mask_utils.toBbox(rles)
    out = []
    for v, rle, area, box in zip(sorted(chosen), rles, areas, boxes, strict=True):
        out.append({
            "category_id": chosen[v],
            "inst_id": v,
            "segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")},
            "area": int(area),
            "bbox": [float(x) for x in box],
            "iscrowd": 0,
        })
    return out


def _rle_of_values(inst: np.ndarray, values: list[int]) -> list[dict]:
    """Compressed COCO RLEs of the masks ``inst == v`` for each ``v`` of ``values``."""
    h, w = inst.shape
    n = h * w
    flat = np.ascontiguousarray(inst.T).ravel()  # column-major, as COCO RLE runs
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    vals = flat[starts]
    keep = np.isin(vals, values)
    starts, ends, vals = starts[keep], ends[keep], vals[keep]
    order = np.lexsort((starts, vals))
    starts, ends, vals = starts[order], ends[order], vals[order]
    bounds = np.searchsorted(vals, values, side="left").tolist() + [len(vals)]
    objs = []
    for i in range(len(values)):
        s, e = starts[bounds[i]:bounds[i + 1]], ends[bounds[i]:bounds[i + 1]]
        prev = np.concatenate(([0], e[:-1]))
        counts = np.empty(2 * len(s) + 1, dtype=np.int64)
        counts[0:-1:2] = s - prev
        counts[1::2] = e - s
        counts[-1] = n - (e[-1] if len(e) else 0)
        objs.append({"counts": counts.tolist(), "size": [h, w]})
    return mask_utils.frPyObjects(objs, h, w)


# --------------------------------------------------------------------------- the document


def image_record(iid: ImageId, file_name: str, width: int, height: int) -> dict:
    """The ``images`` record of an annotated frame: ``id`` is its index (an integer)."""
    return {"id": iid.index, "file_name": file_name, "width": width, "height": height}


def instances_document(images: Sequence[dict], frames: Iterable[tuple[int, list[dict]]]) -> dict:
    """``{"images", "annotations", "categories"}`` from the image records (:func:`image_record`)
    and, per labelled frame in order, its index and :func:`instance_annotations`; annotation
    ids count from 1 in that order."""
    anns: list[dict] = []
    for index, frame_anns in frames:
        for a in frame_anns:
            anns.append({"id": len(anns) + 1, "image_id": index, **a})
    return {"images": list(images), "annotations": anns, "categories": categories_json()}


def json_bytes(doc: object) -> bytes:
    """The bytes of a JSON file as the synthetic release writes each (indented by one space,
    a newline at the end), this one included."""
    return (json.dumps(doc, indent=1) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- regeneration


@dataclass(frozen=True)
class _Frame:
    frame: AnnotatedFrame
    cls: str
    inst: str


def _labels(root: PreparedRoot, frame: AnnotatedFrame, cls_name: str,
            inst_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The decoded ``cls`` and ``inst`` labels of a frame, of one size (the JSON's, if given)."""
    split = root.split
    cls_rel, inst_rel = f"{split}/cls/{cls_name}", f"{split}/inst/{inst_name}"
    size = (frame.width, frame.height) if frame.width and frame.height else None
    limit = png_limit(*size) if size else png_limit()
    cls = decode_cls(root.read(cls_rel, limit), root.describe(cls_rel), size, "the JSON's")
    h, w = cls.shape[:2]
    data = root.read(inst_rel, png_limit(w, h))
    header = png_header(data, root.describe(inst_rel))
    if (header.width, header.height) != (w, h):
        raise VpsError(root.describe(inst_rel), f"size {header.width}x{header.height} differs from "
                       f"its cls label {cls_name} ({w}x{h})")
    return cls, decode_inst(data, root.describe(inst_rel), (w, h))


def _video_annotations(root: PreparedRoot, item: tuple[int, list[_Frame]]) -> list[tuple[dict, list[dict]]]:
    """(image record, annotations) of each frame of one video."""
    out = []
    for f in item[1]:
        cls, inst = _labels(root, f.frame, f.cls, f.inst)
        h, w = inst.shape
        out.append((image_record(f.frame.iid, f.frame.file_name, f.frame.width or w, f.frame.height or h),
                    instance_annotations(cls, inst)))
    return out


def _plan(root: PreparedRoot) -> list[tuple[int, list[_Frame]]]:
    frames = root.annotated_frames()
    cls_files, inst_files = root.label_files("cls"), root.label_files("inst")
    units = []
    for video, group in group_by_video(frames).items():
        unit = []
        for f in group:
            names = []
            for folder, files in (("cls", cls_files), ("inst", inst_files)):
                found = files.get(f.iid, [])
                where = root.describe(f"{root.split}/{folder}")
                if not found:
                    raise VpsError(where, f"no label file for image {f.iid}")
                if len(found) > 1:
                    raise VpsError(where, f"several label files for image {f.iid}: {', '.join(found)}")
                names.append(found[0])
            unit.append(_Frame(f, *names))
        units.append((video, unit))
    return units


def regenerate(root: str | os.PathLike, split: str, *, jobs: int | None = None,
               progress: bool | None = None) -> dict:
    """The instance annotations document of ``split`` (train or val) made from the ``cls`` and
    ``inst`` labels of a prepared ``root`` (a folder or a zip of one)."""
    prepared = PreparedRoot(root, naming.check_split(split, labelled=True))
    units = _plan(prepared)
    results = map_videos(_video_annotations, units, context=prepared, jobs=jobs, desc="instances",
                         progress=progress)
    pairs = [p for video in results for p in video]
    return instances_document([img for img, _ in pairs], ((img["id"], anns) for img, anns in pairs))


@dataclass(frozen=True)
class InstancesSummary:
    """What :func:`export_instances` wrote."""

    path: Path
    videos: int
    images: int
    annotations: int
    """One per object and frame."""
    objects: int
    """Objects (tracks: an ``inst_id`` of a video), over all videos."""


def export_instances(root: str | os.PathLike, out: str | os.PathLike, *, split: str = "val",
                     jobs: int | None = None, progress: bool | None = None) -> InstancesSummary:
    """Write ``out/instances_{split}_city_vps_rle.json`` regenerated from a prepared root
    (:func:`regenerate`)."""
    doc = regenerate(root, split, jobs=jobs, progress=progress)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VpsError(out, f"cannot write ({exc.strerror or exc})") from None
    path = out / naming.instances_json(split)
    atomic_write_bytes(path, json_bytes(doc))
    video_of = {img["id"]: naming.image_id_of_file(img["file_name"]).video for img in doc["images"]}
    tracks = {(video_of[a["image_id"]], a["inst_id"]) for a in doc["annotations"]}
    return InstancesSummary(path, len(set(video_of.values())), len(doc["images"]),
                            len(doc["annotations"]), len(tracks))


# --------------------------------------------------------------------------- comparison


def _mask(seg: object, size: tuple[int, int]) -> np.ndarray | None:
    """The (H, W) mask of an RLE segmentation (compressed or not), or None when it is none."""
    if not isinstance(seg, dict) or not isinstance(seg.get("size"), list):
        return None
    counts = seg.get("counts")
    try:
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects(seg, *size)
        elif isinstance(counts, str | bytes):
            rle = {"size": seg["size"], "counts": counts.encode() if isinstance(counts, str) else counts}
        else:
            return None
        mask = mask_utils.decode(rle)
    except (TypeError, ValueError, KeyError, IndexError):
        return None
    return mask if mask.shape == size else None


def _object_problems(shipped: dict, made: dict) -> list[str]:
    """How a shipped annotation differs from the regenerated one of the same object."""
    out = []
    if shipped.get("category_id") != made["category_id"]:
        name = CATEGORY_BY_ID[made["category_id"]].name
        out.append(f"category_id {shipped.get('category_id')!r}, the labels give {made['category_id']} ({name})")
    size = tuple(made["segmentation"]["size"])
    want = _mask(made["segmentation"], size)
    got = _mask(shipped.get("segmentation"), size)
    if got is None:
        out.append(f"segmentation is not an RLE mask of {size[1]}x{size[0]}")
    elif not np.array_equal(got, want):
        out.append(f"mask differs from the labels' in {int(np.count_nonzero(got != want))} pixels")
    elif shipped.get("area") != made["area"] or shipped.get("bbox") != made["bbox"]:
        out.append(f"area/bbox {shipped.get('area')!r}/{shipped.get('bbox')!r}, the mask gives "
                   f"{made['area']}/{made['bbox']}")
    return out


def _by_image(doc: object, where: str, problems: list[str]) -> tuple[dict[str, object], dict[object, list]]:
    """``file_name -> id`` of a document's images and its annotations grouped by ``image_id``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        problems.append(f"{where}: not a COCO document with 'images' and 'annotations' lists")
        return {}, {}
    ids: dict[str, object] = {}
    for pos, img in enumerate(doc["images"]):
        if not isinstance(img, dict) or not isinstance(img.get("file_name"), str) \
                or not isinstance(img.get("id"), int | str):
            problems.append(f"{where}: images[{pos}] has no 'file_name' and 'id'")
            continue
        ids[img["file_name"]] = img["id"]
    anns: dict[object, list] = {}
    for pos, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or not isinstance(ann.get("image_id"), int | str) \
                or not isinstance(ann.get("inst_id"), int | str):
            problems.append(f"{where}: annotations[{pos}] is not an annotation with an 'image_id' "
                            "and an 'inst_id'")
            continue
        anns.setdefault(ann["image_id"], []).append(ann)
    return ids, anns


def compare(shipped: object, made: dict, where: str, *, skip: Iterable[str] = (),
            limit: int = MAX_DIFFERENCES) -> list[str]:
    """How the ``shipped`` document differs from the regenerated one (``made``): one line per
    image missing or extra, and per object (by ``inst_id``) missing, extra, or of another
    category, mask, area or box; at most ``limit`` lines and one that counts the rest. Images
    whose ``file_name`` is in ``skip`` are not compared (their labels could not be read)."""
    problems: list[str] = []
    made_ids, made_anns = _by_image(made, where, problems)
    ids, anns = _by_image(shipped, where, problems)
    skip = set(skip)
    for name in sorted(set(ids) - set(made_ids)):
        problems.append(f"{where}: image {name} is not an annotated frame of the split")
    for name in sorted(made_ids):
        if name in skip:
            continue
        if name not in ids:
            problems.append(f"{where}: image {name} is missing from 'images'")
            continue
        at = f"{where}: image {name} (id {ids[name]!r})"
        want = {a["inst_id"]: a for a in made_anns.get(made_ids[name], [])}
        got: dict[object, dict] = {}
        for a in anns.get(ids[name], []):
            key = a.get("inst_id")
            if key in got:
                problems.append(f"{at}: object inst_id {key!r} is annotated twice")
            got[key] = a
        for key in sorted(want.keys() - got.keys()):
            a = want[key]
            problems.append(f"{at}: object inst_id {key} ({CATEGORY_BY_ID[a['category_id']].name}, "
                            f"{a['area']} px) is missing")
        for key in sorted(got.keys() - want.keys(), key=repr):
            problems.append(f"{at}: object inst_id {key!r} is no object of the frame's labels")
        for key in sorted(want.keys() & got.keys()):
            problems.extend(f"{at}: object inst_id {key}: {p}" for p in _object_problems(got[key], want[key]))
    known = set(ids.values())
    stray = sorted({repr(k) for k in anns if k not in known})
    if stray:
        problems.append(f"{where}: annotations of image ids not in 'images': {', '.join(stray[:5])}")
    if len(problems) > limit:
        problems = problems[:limit] + [f"{where}: … and {len(problems) - limit} more differences"]
    return problems


def check_shipped(root: Path, split: str, frames: Sequence[AnnotatedFrame],
                  annotations: dict[str, tuple[tuple[int, int], list[dict]]]) -> list[str]:
    """Differences between ``root/instances_{split}_city_vps_rle.json`` and the annotations made
    from the labels (``image_id -> ((width, height), annotations)``; frames absent from it are
    not compared); nothing when the file is absent."""
    path = root / naming.instances_json(split)
    if not path.exists():
        return []
    try:
        shipped = read_json(path)
    except VpsError as exc:
        return [str(exc)]
    images, pairs, skip = [], [], []
    for f in frames:
        found = annotations.get(f.image_id)
        if found is None:
            skip.append(f.file_name)
            images.append(image_record(f.iid, f.file_name, f.width or 0, f.height or 0))
            continue
        (w, h), anns = found
        images.append(image_record(f.iid, f.file_name, w, h))
        pairs.append((f.iid.index, anns))
    return compare(shipped, instances_document(images, pairs), str(path), skip=skip)
