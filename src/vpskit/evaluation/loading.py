"""Ground truth and predictions, read per video: JSON, PNGs (folders, zips, submission.zip).

Ground truth is what stage 4 of prepare writes: ``panoptic_gt_{split}_city_vps.json`` and
``{split}/panoptic_video/{file_name}``. A prediction is a folder holding ``pred.json`` and
``pan_pred/{image_id}.png``, a zip of such a folder, or a test-server ``submission.zip``
holding ``pred.json`` and ``pan_pred.zip``.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np

from .. import naming
from ..errors import VpsError
from ..jsonfields import check_gt_json, check_pred_json, label, read_json, read_json_member
from ..pngcodec import IdStrips, decode_id_strips
from ..pngio import ANY_FILE, check_png_size, png_header, png_limit
from ..sources import Source
from ..zips import open_nested, open_zip
from .metrics.categories import CategorySet
from .tables import FrameTable, PairCounter, Segments, frame_table

PRED_JSON = "pred.json"
PAN_PRED_DIR = "pan_pred"
PAN_PRED_ZIP = "pan_pred.zip"
PANOPTIC_VIDEO_DIR = "panoptic_video"


def decode_ids_raw(data: bytes, where: object, buffer: str = "ids") -> IdStrips:
    """The segment ids of a panoptic PNG (:func:`vpskit.pngcodec.decode_id_strips`) in the low
    24 bits of each value (the top byte may be anything), a strip of rows at a time, in buffers
    named after ``buffer`` that this thread reuses: the evaluation is done with each strip before
    it takes the next of the same image."""
    return decode_id_strips(data, where, buffer=buffer)


def _named(members: list[str], name: str) -> list[str]:
    """The zip members called ``name``, shallowest first."""
    return sorted((m for m in members if PurePosixPath(m).name == name), key=lambda m: (m.count("/"), m))


# --------------------------------------------------------------------------- ground truth


@dataclass(frozen=True)
class GtFrame:
    """One annotated frame of the ground truth."""

    image_id: str
    video: str
    file_name: str
    segments: Segments
    keys: tuple[str, ...] = ()
    """Names a prediction may use for this frame (image id and file names)."""


@dataclass
class GroundTruth:
    """A split's ground truth: categories and frames grouped by video, in image-id order.

    The PNGs are read through ``pngs`` (a folder, or a folder inside a zip).
    """

    json_where: str
    pngs: Source
    categories: CategorySet
    category_records: list[dict]
    videos: dict[str, list[GtFrame]] = field(default_factory=dict)

    @property
    def frames(self) -> list[GtFrame]:
        """Every frame, in video then image-id order."""
        return [f for v in sorted(self.videos) for f in self.videos[v]]

    def _rel(self, frame: GtFrame) -> str:
        return naming.safe_relpath(frame.file_name, self.json_where)

    def describe(self, frame: GtFrame) -> str:
        """Where the panoptic PNG of a frame is, for messages."""
        return self.pngs.describe(self._rel(frame))

    def read_png(self, frame: GtFrame) -> bytes:
        """Bytes of the panoptic PNG of a frame."""
        return self.pngs.read(self._rel(frame), missing="ground-truth PNG not found")


def open_ground_truth(root: str | os.PathLike | None, split: str, gt_json: str | os.PathLike | None,
                      gt_dir: str | os.PathLike | None) -> GroundTruth:
    """The ground truth of ``split`` in a prepared ``root`` (folder or zip), or ``gt_json`` + ``gt_dir``."""
    if gt_json is not None or gt_dir is not None:
        if gt_json is None or gt_dir is None:
            raise VpsError("ground truth", "give both --gt-json and --gt-dir (or --root and --split)")
        return load_ground_truth(Path(gt_json), Path(gt_dir))
    if root is None:
        raise VpsError("ground truth", "give --root (and --split) or --gt-json and --gt-dir")
    if split not in naming.SPLITS:
        raise VpsError("--split", f"unknown split {split!r} (known: {', '.join(naming.SPLITS)})")
    if split not in naming.LABELLED_SPLITS:
        raise VpsError("--split", f"{split!r} has no public labels (use one of {', '.join(naming.LABELLED_SPLITS)})")
    root = Path(root)
    if not root.is_file():
        return load_ground_truth(root / naming.panoptic_gt_json(split), root / split / PANOPTIC_VIDEO_DIR)
    json_name = naming.panoptic_gt_json(split)
    try:
        with open_zip(root) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            found = _named(names, json_name)
            if not found:
                raise VpsError(root, f"no {json_name} inside the zip")
            doc = read_json_member(zf, found[0], f"{root}:{found[0]}")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise VpsError(root, f"not a readable zip ({exc})") from None
    prefix = f"{found[0][: -len(json_name)]}{split}/{PANOPTIC_VIDEO_DIR}/"
    if not any(n.startswith(prefix) for n in names):
        raise VpsError(root, f"no {prefix} folder inside the zip (next to {found[0]})")
    pngs = Source(root, PANOPTIC_VIDEO_DIR, prefix=prefix)
    return parse_ground_truth(doc, f"{root}:{found[0]}", pngs)


def load_ground_truth(json_path: Path, png_dir: Path) -> GroundTruth:
    """The ground truth of a GT JSON file and its folder of panoptic PNGs."""
    doc = read_json(json_path)
    if not png_dir.is_dir():
        raise VpsError(png_dir, "ground-truth PNG folder not found")
    return parse_ground_truth(doc, str(json_path), Source(png_dir, PANOPTIC_VIDEO_DIR, prefix=""))


def parse_ground_truth(doc: object, json_where: str, pngs: Source) -> GroundTruth:
    """Check a parsed GT JSON (``json_where`` names it, see :func:`vpskit.jsonfields.check_gt_json`);
    group its annotations by video."""
    gt = check_gt_json(doc, json_where)
    cats = gt["categories"]
    categories = CategorySet.from_json(cats)
    image_names = {str(img["id"]): img["file_name"] for img in gt.get("images") or []}
    frames: dict[str, GtFrame] = {}
    for ann in gt["annotations"]:
        image_id = ann["image_id"]
        where = f"{json_where}: {label(image_id)}"
        try:
            video = naming.video_name(naming.parse_image_id(image_id).video)
        except VpsError as exc:
            raise VpsError(json_where, f"image_id {exc}") from None
        file_name = naming.safe_relpath(ann["file_name"], where)
        segs = Segments.from_checked(ann["segments_info"])  # check_gt_json checked them
        unknown = categories.positions(segs.category) < 0
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise VpsError(where, f"segment id {int(segs.ids[i])} has unknown category_id {int(segs.category[i])}")
        keys = {image_id, naming.pan_pred_file(image_id), PurePosixPath(file_name).name}
        if image_id in image_names:
            keys.add(PurePosixPath(image_names[image_id]).name)
        frames[image_id] = GtFrame(image_id, video, file_name, segs, tuple(sorted(keys)))
    gt_obj = GroundTruth(json_where, pngs, categories, cats)
    for image_id in sorted(frames):
        f = frames[image_id]
        gt_obj.videos.setdefault(f.video, []).append(f)
    if not gt_obj.videos:
        raise VpsError(json_where, "no annotated frames")
    return gt_obj


# --------------------------------------------------------------------------- predictions


class PredictionSource:
    """``pred.json`` and the ``pan_pred`` PNGs of a prediction folder, zip or submission.zip.

    Picklable: each process opens its own zip handle on first use.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.json_member: str | None = None  # pred.json member of self.path (zips)
        if self.path.is_dir():
            self.kind = "folder"
            if not (self.path / PRED_JSON).is_file():
                raise VpsError(self.path, f"no {PRED_JSON} in the prediction folder")
            if not (self.path / PAN_PRED_DIR).is_dir():
                raise VpsError(self.path, f"no {PAN_PRED_DIR}/ folder in the prediction folder")
            self._pngs = Source(self.path, PAN_PRED_DIR, prefix=PAN_PRED_DIR)
        elif self.path.is_file():
            self._pngs = self._open_zip_layout()
        else:
            raise VpsError(self.path, "no such file or folder")

    def _open_zip_layout(self) -> Source:
        with open_zip(self.path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
        jsons = _named(names, PRED_JSON)
        if not jsons:
            raise VpsError(self.path, f"no {PRED_JSON} inside the zip")
        if len(jsons) > 1 and jsons[0].count("/") == jsons[1].count("/"):
            raise VpsError(self.path, f"several {PRED_JSON} inside the zip: {jsons[0]}, {jsons[1]}")
        self.json_member = jsons[0]
        base = self.json_member[: -len(PRED_JSON)]
        png_dir = f"{base}{PAN_PRED_DIR}/"
        if any(n.startswith(png_dir) for n in names):
            self.kind = "zip"
            return Source(self.path, PAN_PRED_DIR, prefix=png_dir)
        inner = f"{base}{PAN_PRED_ZIP}"
        if inner not in names:
            raise VpsError(self.path, f"neither {png_dir} nor {inner} inside the zip")
        self.kind = "submission"
        # The inner zip is read in place (never copied): see vpskit.zips.open_nested.
        with open_nested(self.path, inner) as zf:
            pngs = [i.filename for i in zf.infolist() if not i.is_dir() and i.filename.endswith(".png")]
        dirs = {str(PurePosixPath(n).parent) for n in pngs}
        if len(dirs) == 1:
            d = dirs.pop()
            prefix = "" if d == "." else d + "/"
        else:
            prefix = f"{PAN_PRED_DIR}/" if any(n.startswith(f"{PAN_PRED_DIR}/") for n in pngs) else ""
        return Source(self.path, PAN_PRED_DIR, prefix=prefix, member=inner)

    def close(self) -> None:
        """Close the zip handles this process opened."""
        pngs = getattr(self, "_pngs", None)
        if pngs is not None:
            pngs.close()

    @property
    def folder(self) -> Path:
        """The folder reports go to by default: the prediction folder, or the zip's folder."""
        return self.path if self.kind == "folder" else self.path.parent

    def describe(self, rel: str | None = None) -> str:
        """Human-readable location of ``pred.json`` (``rel`` None) or of PNG ``rel``."""
        if rel is None:
            if self.kind == "folder":
                return str(self.path / PRED_JSON)
            return f"{self.path}:{self.json_member}"
        return self._pngs.describe(rel)

    def read_json(self, checked: bool = True) -> dict:
        """The parsed ``pred.json``, every field checked (:func:`vpskit.jsonfields.check_pred_json`)
        unless not ``checked`` (for a benchmark whose ``pred.json`` has another shape)."""
        if self.kind == "folder":
            doc = read_json(self.path / PRED_JSON)
        else:
            assert self.json_member is not None
            try:
                with open_zip(self.path) as zf:
                    doc = read_json_member(zf, self.json_member, self.describe())
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                raise VpsError(self.describe(), f"cannot read zip member ({exc})") from None
        return check_pred_json(doc, self.describe()) if checked else doc

    def exists(self, rel: str) -> bool:
        """Whether PNG ``rel`` (relative to ``pan_pred``) exists."""
        return self._pngs.exists(naming.safe_relpath(rel, self.describe()))

    def read_png(self, rel: str, size: tuple[int, int] | None = None) -> bytes:
        """Bytes of PNG ``rel`` (relative to ``pan_pred``), of a PNG of ``size`` (width, height) at most."""
        return self._pngs.read(naming.safe_relpath(rel, self.describe()),
                               missing="missing: no prediction PNG for this frame",
                               limit=ANY_FILE if size is None else png_limit(*size))


@dataclass(frozen=True)
class PredFrame:
    """The prediction of one GT frame: its segment records and its PNG (relative to pan_pred)."""

    records: list
    png: str
    label: str
    """How the annotation is named in messages."""
    checked: bool = False
    """Whether ``records`` have passed :func:`vpskit.jsonfields.segment_records` already."""


def match_predictions(frames: Sequence[GtFrame], pred_json: dict, source: PredictionSource,
                      wanted: Sequence[GtFrame] | None = None, *, checked: bool = False) -> dict[str, PredFrame]:
    """The prediction annotation of every frame, by ``image_id``/``file_name`` or by position.

    ``frames`` are all the frames of a split, in image-id order. Annotations that name no frame
    at all are matched by position in that order (how existing models write them). Annotations
    naming other frames are ignored. With ``wanted`` (some of ``frames``), only those need a
    prediction; annotations matched by position may then cover either all frames or just those.
    ``checked``: ``pred_json`` has passed :func:`vpskit.jsonfields.check_pred_json` (as
    :meth:`PredictionSource.read_json` gives it), so its segment records need no second check.
    """
    out = _match_predictions(frames, pred_json, source, wanted)
    return {k: replace(v, checked=True) for k, v in out.items()} if checked else out


def _match_predictions(frames: Sequence[GtFrame], pred_json: dict, source: PredictionSource,
                       wanted: Sequence[GtFrame] | None) -> dict[str, PredFrame]:
    where = source.describe()
    anns = pred_json["annotations"]
    frames = list(frames)
    wanted = frames if wanted is None else list(wanted)
    keyed = [isinstance(a, dict) and ("image_id" in a or "file_name" in a) for a in anns]
    out: dict[str, PredFrame] = {}
    if anns and not any(keyed):
        if len(anns) != len(frames):
            if len(anns) != len(wanted):
                scope = "" if len(wanted) == len(frames) else f" ({len(wanted)} in the videos asked for)"
                raise VpsError(where, f"{len(anns)} annotations without image_id or file_name, but the "
                               f"split has {len(frames)} frames{scope} (matching by position "
                               "needs one per frame)")
            frames = wanted
        keep = {f.image_id for f in wanted}
        for pos, (frame, ann) in enumerate(zip(frames, anns, strict=True)):
            if frame.image_id in keep:
                out[frame.image_id] = PredFrame(_records(ann, f"{where}: annotations[{pos}]"),
                                                naming.pan_pred_file(frame.image_id),
                                                f"annotations[{pos}] ({frame.image_id})")
        return out
    by_key: dict[str, GtFrame] = {}
    for frame in wanted:
        for key in frame.keys:
            by_key.setdefault(key, frame)
    for pos, ann in enumerate(anns):
        if not keyed[pos]:
            raise VpsError(where, f"annotations[{pos}] has neither image_id nor file_name "
                           "(others have; give every annotation one, or none)")
        match: GtFrame | None = None
        if "image_id" in ann:
            match = by_key.get(str(ann["image_id"]))
        if match is None and isinstance(ann.get("file_name"), str):
            match = by_key.get(PurePosixPath(ann["file_name"]).name)
        if match is None:
            continue
        if match.image_id in out:
            raise VpsError(where, f"annotations[{pos}]: a second annotation for image {match.image_id}")
        png = naming.pan_pred_file(match.image_id)
        fname = ann.get("file_name")
        if isinstance(fname, str) and PurePosixPath(fname).name != png and not source.exists(png):
            png = naming.safe_relpath(PurePosixPath(fname).name, where)
        out[match.image_id] = PredFrame(_records(ann, f"{where}: annotations[{pos}]"), png, match.image_id)
    for frame in wanted:
        if frame.image_id not in out:
            raise VpsError(where, f"missing frame: no annotation for image {frame.image_id}")
    return out


def prediction_segments(pred: PredFrame, where: str, categories: CategorySet) -> Segments:
    """The segments of a predicted frame; ``VpsError`` for a malformed record or an unknown category."""
    if pred.checked:
        segs = Segments.from_checked(pred.records, with_crowd=False)
    else:
        segs = Segments.from_records(pred.records, where, with_crowd=False)
    unknown = categories.positions(segs.category) < 0
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise VpsError(where, f"segment id {int(segs.ids[i])} has unknown category_id {int(segs.category[i])}")
    return segs


def _records(ann: object, where: str) -> list:
    if not isinstance(ann, dict) or not isinstance(ann.get("segments_info"), list):
        raise VpsError(where, "no 'segments_info' list")
    return ann["segments_info"]


# --------------------------------------------------------------------------- one video


def read_video_tables(gt: GroundTruth, frames: Sequence[GtFrame], preds: dict[str, PredFrame],
                      source: PredictionSource, rgb_only: bool = False) -> list[FrameTable]:
    """Decode each frame's two PNGs once and reduce them to :class:`FrameTable` (frames in order).

    Both images go to buffers reused frame after frame (two decoded images are held at a time),
    and their runs of equal ids are found in one go. ``rgb_only``: a predicted PNG must be 8-bit RGB or RGBA
    (not grey or palette), as the VIPSeg scripts read it.
    """
    tables = []
    json_where = source.describe()
    counter = PairCounter()
    for frame in frames:
        pred = preds[frame.image_id]
        where = f"{json_where}: {pred.label}"
        segs = prediction_segments(pred, where, gt.categories)
        gt_path = gt.describe(frame)
        gt_ids = decode_ids_raw(gt.read_png(frame), gt_path, "gt ids")
        size = (gt_ids.shape[1], gt_ids.shape[0])
        pred_where = source.describe(pred.png)
        pred_png = source.read_png(pred.png, size)
        header = png_header(pred_png, pred_where)
        check_png_size(header, pred_where, size, "the ground truth's")
        if rgb_only and (header.bit_depth != 8 or header.color_type not in (2, 6)):
            raise VpsError(pred_where, "expected an 8-bit RGB PNG (segment id = R + 256 G + 256\u00b2 B), found "
                           f"bit depth {header.bit_depth}, colour type {header.color_type}")
        pred_ids = decode_ids_raw(pred_png, pred_where, "pred ids")
        del pred_png
        tables.append(frame_table(counter, pred_ids, frame.segments, segs, gt_ids=gt_ids, gt_where=gt_path,
                                  pred_where=pred_where, pred_json_where=where))
        del gt_ids, pred_ids
    return tables
