"""Check a prediction against a split's frame list and pack it as a test-server ``submission.zip``.

The server takes ``submission.zip`` holding ``pred.json`` and ``pan_pred.zip``, the latter with one
RGB PNG per annotated frame named ``{image_id}.png``. :func:`make_submission` reads a prediction
(folder, zip or submission, as ``vpskit eval`` does), checks every frame listed in
``panoptic_im_{split}_city_vps.json`` without needing labels (a prediction per frame, the image
size, PNG ids against ``segments_info``, known categories), and writes the zip deterministically:
same prediction, same bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import naming
from .errors import VpsError
from .evaluation.loading import (
    GtFrame,
    PredFrame,
    PredictionSource,
    match_predictions,
    prediction_segments,
)
from .evaluation.metrics.categories import CategorySet
from .evaluation.tables import PairCounter, Segments, check_gt, frame_table
from .parallel import map_videos
from .pngio import decode_ids, encode_png, id2rgb, part_path, write_failed
from .preparation.common import AnnotatedFrame, annotated_frames

PRED_JSON = "pred.json"
PAN_PRED_ZIP = "pan_pred.zip"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_NO_SEGMENTS = Segments.from_records([], "", with_crowd=False)


@dataclass(frozen=True)
class SubmissionSummary:
    """What :func:`make_submission` wrote."""

    path: Path
    videos: int
    frames: int
    segments: int
    converted: int
    """PNGs that were not 8-bit RGB and were written again as such."""


@dataclass(frozen=True)
class _Context:
    source: PredictionSource
    categories: CategorySet


def _frame_of(af: AnnotatedFrame) -> GtFrame:
    image_id = af.image_id
    keys = {image_id, naming.pan_pred_file(image_id), af.file_name, naming.cls_file(af.iid)}
    return GtFrame(image_id, naming.video_name(af.iid.video), af.file_name, _NO_SEGMENTS, tuple(sorted(keys)))


def _is_rgb8(data: bytes) -> bool:
    """Whether PNG bytes declare 8-bit RGB (IHDR bit depth 8, colour type 2)."""
    return len(data) > 25 and data[12:16] == b"IHDR" and data[24] == 8 and data[25] == 2


def _size(af: AnnotatedFrame) -> tuple[int, int] | None:
    """The frame's (width, height) when its JSON entry gives both."""
    return (af.width, af.height) if af.width is not None and af.height is not None else None


def _check_video(ctx: _Context, item: tuple[str, list[tuple[AnnotatedFrame, PredFrame]]]) -> int:
    """Check one video's predicted frames; the number of segments they list."""
    _, frames = item
    counter = PairCounter()
    json_where = ctx.source.describe()
    segments = 0
    void = np.zeros((0, 0), dtype=np.uint32)
    for af, pred in frames:
        where = f"{json_where}: {pred.label}"
        segs = prediction_segments(pred, where, ctx.categories)
        png_where = ctx.source.describe(pred.png)
        size = _size(af)
        ids = decode_ids(ctx.source.read_png(pred.png, size), png_where, size, "the image's")
        h, w = ids.shape
        if (af.width is not None and af.width != w) or (af.height is not None and af.height != h):
            raise VpsError(png_where, f"size {w}x{h} differs from the image's {af.width}x{af.height}")
        if void.shape != ids.shape:
            void = np.zeros(ids.shape, dtype=np.uint32)
        check_gt(counter, void, _NO_SEGMENTS)
        frame_table(counter, ids, _NO_SEGMENTS, segs, pred_where=png_where, pred_json_where=where)
        segments += len(segs)
    return segments


def _write_member(zf: zipfile.ZipFile, name: str, data: bytes | Path, compress: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    with zf.open(info, "w") as dst:
        if isinstance(data, Path):
            with open(data, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            dst.write(data)


def _check_out_is_not_input(out_path: Path, source: PredictionSource) -> None:
    """Refuse an ``out`` that is the prediction or one of its files."""
    out_abs = out_path.resolve()
    pred_abs = source.path.resolve()
    inside = source.path.is_dir() and (out_abs == pred_abs / PRED_JSON or out_abs.is_relative_to(pred_abs / "pan_pred"))
    if out_abs == pred_abs or inside:
        raise VpsError(out_path, "is the prediction itself or one of its files; give another --out")


def _split_of_prediction(root: Path, split: str, pred_json: object, listed: set[str]) -> str | None:
    """The other split whose frames a prediction's annotations name, when they name none of ``split``."""
    anns = pred_json.get("annotations") if isinstance(pred_json, dict) else None
    if not isinstance(anns, list):
        return None
    named = {str(a["image_id"]) for a in anns if isinstance(a, dict) and "image_id" in a}
    for a in anns:
        if isinstance(a, dict) and isinstance(a.get("file_name"), str):
            with contextlib.suppress(VpsError):
                named.add(str(naming.image_id_of_file(a["file_name"])))
    if not named or named & listed:
        return None
    for other in naming.SPLITS:
        path = root / naming.panoptic_im_json(other)
        if other == split or not path.is_file():
            continue
        try:
            ids = {af.image_id for af in annotated_frames(path)}
        except VpsError:
            continue
        if named & ids:
            return other
    return None


def make_submission(
    pred: str | os.PathLike,
    root: str | os.PathLike,
    *,
    split: str = "test",
    out: str | os.PathLike | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
) -> SubmissionSummary:
    """Check prediction ``pred`` against the frames of ``split`` in ``root`` and write ``submission.zip``.

    ``root`` holds the release's ``panoptic_im_{split}_city_vps.json`` (a prepared Cityscapes-VPS
    folder does). ``out`` defaults to ``submission.zip`` inside ``pred`` when it is a folder, in
    its folder when it is a zip. Bad input raises ``VpsError`` and leaves any earlier ``out`` as
    it was.
    """
    if split not in naming.SPLITS:
        raise VpsError("--split", f"unknown split {split!r} (use one of {', '.join(naming.SPLITS)})")
    listed = annotated_frames(Path(root) / naming.panoptic_im_json(split))
    if not listed:
        raise VpsError(Path(root) / naming.panoptic_im_json(split), "lists no images")
    source = PredictionSource(pred)
    out_path = Path(out) if out is not None else source.folder / "submission.zip"
    _check_out_is_not_input(out_path, source)
    try:
        frames = [_frame_of(af) for af in listed]
        pred_doc = source.read_json()
        try:
            preds = match_predictions(frames, pred_doc, source)
        except VpsError:
            other = _split_of_prediction(Path(root), split, pred_doc, {f.image_id for f in frames})
            if other is None:
                raise
            raise VpsError(source.describe(), f"is a prediction for the {other} split, not {split} "
                           f"(its frames are listed in {naming.panoptic_im_json(other)}; give --split "
                           f"{other})") from None
        by_video: dict[str, list[tuple[AnnotatedFrame, PredFrame]]] = {}
        for af, frame in zip(listed, frames, strict=True):
            by_video.setdefault(frame.video, []).append((af, preds[frame.image_id]))
        items = sorted(by_video.items())
        segments = map_videos(_check_video, items, context=_Context(source, CategorySet.default()),
                              jobs=jobs, desc="check", progress=progress)
        converted = 0
        annotations = [{"image_id": af.image_id, "file_name": naming.pan_pred_file(af.image_id),
                        "segments_info": preds[af.image_id].records} for af in listed]
        pred_json = json.dumps({"annotations": annotations}, sort_keys=True).encode()
        inner, outer = part_path(out_path.with_name(out_path.name + ".inner")), part_path(out_path)
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(inner, "w") as zf:
                for af in listed:
                    png = preds[af.image_id].png
                    data = source.read_png(png, _size(af))
                    if not _is_rgb8(data):
                        data = encode_png(id2rgb(decode_ids(data, source.describe(png))))
                        converted += 1
                    _write_member(zf, naming.pan_pred_file(af.image_id), data, zipfile.ZIP_STORED)
            with zipfile.ZipFile(outer, "w") as zf:
                _write_member(zf, PRED_JSON, pred_json, zipfile.ZIP_DEFLATED)
                _write_member(zf, PAN_PRED_ZIP, inner, zipfile.ZIP_STORED)
            with open(outer, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(outer, out_path)
        except OSError as exc:  # a full disk, no permission: name the file being written
            raise write_failed(out_path, exc) from None
        finally:
            for tmp in (inner, outer):
                tmp.unlink(missing_ok=True)
    finally:
        source.close()
    return SubmissionSummary(out_path, len(items), len(listed), sum(segments), converted)
