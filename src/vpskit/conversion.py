"""``vpskit convert``: a model's output in an outside format (see :mod:`vpskit.formats`) → the
prediction format of ``vpskit eval`` (``pred.json`` + ``pan_pred/{image_id}.png``) for the
annotated frames of a split.

The files of SRC (a folder or a zip) are matched to the split's frames by their names (the rules
of :func:`vpskit.naming.parse_output_name`); outputs of frames that are not annotated frames of
the split are skipped and counted. Every check of the file list (missing frames, two files for
one frame, names that name no frame) is made before anything is written. The PNGs are written
per video (in parallel) into a hidden folder of OUT and moved into ``OUT/pan_pred`` only when
every video is done; ``pred.json`` is written last. A failed run leaves OUT as it was.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from . import formats, naming
from .errors import VpsError
from .evaluation.loading import decode_ids
from .formats.base import FormatOptions
from .formats.coco_panoptic import CocoVideo
from .formats.coco_panoptic import segments as coco_segments
from .formats.rules import DEFAULT_THING_ZERO, LabelRules
from .formats.tracks import VideoTracks
from .jsonfields import JSON_LIMIT, label, need_list, need_object, parse_json
from .parallel import map_videos
from .pngio import ANY_FILE, Limit, atomic_write_bytes, decode_png, open_png, png_header, png_limit
from .preparation.common import AnnotatedFrame, annotated_frames
from .sources import Source

PRED_JSON = "pred.json"
PAN_PRED_DIR = "pan_pred"
STAGING_DIR = ".pan_pred.part"
"""Where the PNGs of a run wait, inside OUT, until every video is converted."""
_NPY_SLACK = 1 << 16


@dataclass(frozen=True)
class ConvertSummary:
    """What :func:`convert` wrote."""

    out: Path
    videos: int
    frames: int
    segments: int
    """``segments_info`` records written, over all frames."""
    objects: int
    """Objects (tracks), over all videos."""
    skipped: int
    """Frames in SRC that are not annotated frames of the split (their files were not read)."""


@dataclass(frozen=True)
class _FramePlan:
    frame: AnnotatedFrame
    files: tuple[tuple[str, str], ...]
    """(role, path in SRC) of each file of the frame."""
    records: list | None = None
    """coco-panoptic: the frame's ``segments_info``."""
    where: str = ""
    """coco-panoptic: how the frame's annotation is named in messages (JSON file and position)."""


@dataclass(frozen=True)
class _Job:
    source: Source
    fmt: str
    rules: LabelRules
    options: FormatOptions
    staging: Path


# --------------------------------------------------------------------------- matching


class _Frames:
    """The annotated frames of a split, found by image id, raw name or (video, snippet offset)."""

    def __init__(self, frames: Iterable[AnnotatedFrame]) -> None:
        self.frames = list(frames)
        self._by_id = {f.image_id: f for f in self.frames}
        self._by_key = {f.iid.key: f for f in self.frames}
        self._by_offset = {(f.iid.video, naming.ANNOTATED_OFFSETS[f.iid.position]): f for f in self.frames}

    def find(self, ref: naming.OutputName) -> AnnotatedFrame | None:
        """The frame ``ref`` names, or None when it is not an annotated frame of the split."""
        if ref.image_id is not None:
            return self._by_id.get(str(ref.image_id))
        if ref.key is not None:
            return self._by_key.get(ref.key)
        return self._by_offset.get((ref.video, ref.offset))


def _visible(rel: str) -> bool:
    return not any(p.startswith(".") or p == "__MACOSX" for p in rel.split("/"))


def _role_of(rel: str, files: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, str] | None:
    """(role, ending) of a file of the format, by its ending (any case), or None."""
    low = rel.lower()
    for role, endings in files:
        for ending in endings:
            if low.endswith(ending) and len(rel) > len(ending):
                return role, rel[: -len(ending)]
    return None


def _frame_of(source: Source, rel: str, stem: str, frames: _Frames) -> tuple[AnnotatedFrame | None, str]:
    try:
        ref = naming.parse_output_name(stem)
    except VpsError as exc:
        raise VpsError(source.describe(rel), f"cannot tell which frame this is: {exc.problem}") from None
    return frames.find(ref), str(ref)


def _match_maps(source: Source, fmt: formats.Format, frames: _Frames) -> tuple[dict[str, dict[str, str]], int]:
    """The files of each frame by role, and the number of other frames met."""
    found: dict[str, dict[str, str]] = {}
    skipped: set[str] = set()
    for rel in source.names():
        role_stem = _role_of(rel, fmt.files) if _visible(rel) else None
        if role_stem is None:
            continue
        role, stem = role_stem
        frame, ref = _frame_of(source, rel, stem, frames)
        if frame is None:
            skipped.add(ref)
            continue
        roles = found.setdefault(frame.image_id, {})
        if role in roles:
            raise VpsError(source.label, f"two files for frame {frame.image_id}: {roles[role]} and {rel}")
        roles[role] = rel
    return found, len(skipped)


def _coco_json(source: Source) -> str:
    jsons = [rel for rel in source.names() if _visible(rel) and rel.lower().endswith(".json")]
    if not jsons:
        raise VpsError(source.label, "no JSON file (coco-panoptic needs the JSON with the segments_info)")
    if len(jsons) > 1:
        raise VpsError(source.label, f"several JSON files ({', '.join(jsons[:3])}): keep only the one "
                       "with the segments_info")
    return jsons[0]


def _match_coco(source: Source, frames: _Frames) -> tuple[dict[str, dict[str, str]], dict[str, tuple[list, str]], int]:
    """Each frame's PNG, its records and how they are named; the number of other frames met."""
    json_rel = _coco_json(source)
    where = source.describe(json_rel)
    doc = need_object(parse_json(source.read(json_rel, limit=JSON_LIMIT), where), where, "the file")
    anns = need_list(doc, "annotations", where)
    assert anns is not None
    folder = PurePosixPath(json_rel).parent
    bases = [folder, folder / PurePosixPath(json_rel).stem]
    names = set(source.names())
    found: dict[str, dict[str, str]] = {}
    records: dict[str, tuple[list, str]] = {}
    skipped: set[str] = set()
    for pos, ann in enumerate(anns):
        at = f"{where}: annotations[{pos}]"
        ann = need_object(ann, where, f"annotations[{pos}]")
        file_name = ann.get("file_name")
        if not isinstance(file_name, str):
            raise VpsError(at, "no 'file_name' string (the frame's PNG)")
        file_name = naming.safe_relpath(file_name, at)
        ref = _coco_frame(ann, file_name, at)
        frame = frames.find(ref)
        if frame is None:
            skipped.add(str(ref))
            continue
        if frame.image_id in found:
            first = records[frame.image_id][1].rpartition(": ")[2]
            raise VpsError(where, f"two annotations for frame {frame.image_id}: {first} and annotations[{pos}]")
        if not isinstance(ann.get("segments_info"), list):
            raise VpsError(at, "no 'segments_info' list")
        candidates = [(base / file_name).as_posix() for base in bases]
        png = next((c for c in candidates if c in names), None)
        if png is None:
            raise VpsError(source.describe(candidates[0]), f"missing: the PNG of annotations[{pos}] "
                           f"(frame {frame.image_id}; looked for {' and '.join(candidates)})")
        found[frame.image_id] = {"": png}
        records[frame.image_id] = (ann["segments_info"], at)
    return found, records, len(skipped)


def _coco_frame(ann: dict, file_name: str, at: str) -> naming.OutputName:
    """The frame an annotation names: by its ``image_id`` when that is a name, else its file name."""
    image_id = ann.get("image_id")
    if isinstance(image_id, str):
        try:
            return naming.parse_output_name(image_id)
        except VpsError:
            pass
    stem = file_name[: -len(".png")] if file_name.lower().endswith(".png") else file_name
    try:
        return naming.parse_output_name(stem)
    except VpsError as exc:
        raise VpsError(at, f"cannot tell which frame this is (image_id {label(str(image_id))}, "
                       f"file_name {file_name}): {exc.problem}") from None


def _check_complete(found: Mapping[str, Mapping[str, str]], frames: _Frames, roles: Iterable[tuple[str, tuple[str, ...]]],
                    source: Source, split: str, skipped: int) -> None:
    missing = [(f, role, endings) for f in frames.frames for role, endings in roles
               if role not in found.get(f.image_id, {})]
    if not missing:
        return
    frame, _, endings = missing[0]
    other = found.get(frame.image_id)
    have = f" (found {', '.join(sorted(other.values()))})" if other else ""
    n_frames = len({f.image_id for f, _, _ in missing})
    more = f"; {n_frames} of the split's {len(frames.frames)} frames lack files" if n_frames > 1 else ""
    skip = f"; {skipped} frames in it are not annotated frames of {split}" if skipped else ""
    raise VpsError(source.label, f"missing frame {frame.image_id}: no {' or '.join(endings)} file "
                   f"for it{have}{more}{skip}")


# --------------------------------------------------------------------------- one video


def _read_map(source: Source, rel: str, frame: AnnotatedFrame) -> np.ndarray:
    """A decoded map file: ``.npy`` or PNG (gray 8/16-bit, palette indices, gray + alpha, RGB(A)
    8-bit), checked against the frame's size before its pixels are decoded."""
    where = source.describe(rel)
    size = (frame.width, frame.height) if frame.width is not None and frame.height is not None else None
    if rel.lower().endswith(".npy"):
        limit = Limit(8 * size[0] * size[1] + _NPY_SLACK, f"a {size[0]}x{size[1]} .npy array") if size else ANY_FILE
        try:
            arr = np.load(io.BytesIO(source.read(rel, limit=limit)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise VpsError(where, f"not a readable .npy array ({exc})") from None
        if size is not None and arr.shape[:2] != (size[1], size[0]):
            got = f"{arr.shape[1]}x{arr.shape[0]}" if arr.ndim >= 2 else f"of shape {arr.shape}"
            raise VpsError(where, f"size {got} differs from the frame's {size[0]}x{size[1]}")
        return arr
    data = source.read(rel, limit=png_limit(*size) if size else ANY_FILE)
    header = png_header(data, where)
    if header.bit_depth == 16 and header.color_type in (2, 4, 6):
        raise VpsError(where, "a colour PNG of 16 bits a channel: vpskit reads colour PNGs of 8 bits "
                       "a channel (and gray PNGs of 8 or 16 bits)")
    if header.color_type == 4:  # gray + alpha: both channels
        with open_png(data, where, size, "the frame's") as img:
            img.load()
            return np.array(img)
    return decode_png(data, where, size, "the frame's")


def _convert_video(job: _Job, item: tuple[int, list[_FramePlan]]) -> tuple[list[dict], int]:
    """Convert one video's frames into the staging folder; their annotations and object count."""
    _, plans = item
    tracks = VideoTracks(rules=job.rules)
    coco = CocoVideo(tracks) if job.fmt == formats.COCO_PANOPTIC else None
    fmt = formats.MAPS.get(job.fmt)
    anns = []
    for plan in plans:
        af = plan.frame
        files = dict(plan.files)
        if coco is not None:
            rel = files[""]
            json_where = plan.where
            size = (af.width, af.height) if af.width is not None and af.height is not None else None
            ids = decode_ids(job.source.read(rel, limit=png_limit(*size) if size else ANY_FILE),
                             job.source.describe(rel), size, "the frame's")
            frame = coco.frame(ids, coco_segments(plan.records, json_where), json_where, job.source.describe(rel))
        else:
            assert fmt is not None
            arrays = {role: _read_map(job.source, rel, af) for role, rel in plan.files}
            where = job.source.describe(plan.files[0][1])
            category, instance = fmt.decode(arrays, job.options, where)
            frame = tracks.frame(category, instance, where)
        atomic_write_bytes(job.staging / naming.pan_pred_file(af.image_id), frame.png())
        anns.append({"image_id": af.image_id, "file_name": naming.pan_pred_file(af.image_id),
                     "segments_info": frame.segments_info})
    return anns, len(tracks.tracks)


# --------------------------------------------------------------------------- the command


def _check_out(out: Path, src: Path) -> None:
    if out.exists() and not out.is_dir():
        raise VpsError(out, "exists and is not a folder")
    if src.is_dir():
        o, s = out.resolve(), src.resolve()
        if o == s or o.is_relative_to(s):
            raise VpsError(out, f"is inside SRC {src}: write the prediction elsewhere")


def convert(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    from_format: str,
    root: str | os.PathLike,
    split: str = "val",
    categories: str | os.PathLike | Mapping[int, int | None] = "trainid",
    void: int | Iterable[int] = (255,),
    no_instance: int = 0,
    thing_zero: str = DEFAULT_THING_ZERO,
    instance_channel: int = 1,
    divisor: int = 1000,
    jobs: int | None = None,
    progress: bool | None = None,
) -> ConvertSummary:
    """Convert a model's output in ``from_format`` (one of :data:`vpskit.formats.NAMES`) into
    ``out/pred.json`` + ``out/pan_pred/{image_id}.png`` for the annotated frames of ``split``.

    ``src`` is a folder or a zip. ``root`` holds ``panoptic_im_{split}_city_vps.json`` (the
    release's, or a prepared Cityscapes-VPS folder). The value options are those of
    :class:`vpskit.formats.VideoTracks`; ``instance_channel`` is for ``2ch``, ``divisor`` for
    ``divisor``. Bad input raises ``VpsError`` (one line naming the file) and leaves ``out`` as it
    was. The same input gives the same bytes, whatever ``jobs``.
    """
    fmt_name = formats.check_name(from_format, "--from")
    rules = LabelRules.make(categories, void, no_instance, thing_zero)
    options = FormatOptions(instance_channel, divisor)
    naming.check_split(split)
    frames = _Frames(annotated_frames(Path(root) / naming.panoptic_im_json(split)))
    if not frames.frames:
        raise VpsError(Path(root) / naming.panoptic_im_json(split), "lists no images")
    out, src_path = Path(out), Path(src)
    source = Source(src_path, "", prefix="")
    _check_out(out, src_path)
    records: dict[str, tuple[list, str]] = {}
    if fmt_name == formats.COCO_PANOPTIC:
        found, records, skipped = _match_coco(source, frames)
        roles: tuple[tuple[str, tuple[str, ...]], ...] = (("", (".png",)),)
    else:
        fmt = formats.MAPS[fmt_name]
        found, skipped = _match_maps(source, fmt, frames)
        roles = fmt.files
    _check_complete(found, frames, roles, source, split, skipped)
    by_video: dict[int, list[_FramePlan]] = {}
    for f in frames.frames:
        recs, where = records.get(f.image_id, (None, ""))
        plan = _FramePlan(f, tuple((role, found[f.image_id][role]) for role, _ in roles), recs, where)
        by_video.setdefault(f.iid.video, []).append(plan)
    made = not out.exists()
    staging = out / STAGING_DIR
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        results = map_videos(_convert_video, sorted(by_video.items()),
                             context=_Job(source, fmt_name, rules, options, staging),
                             jobs=jobs, desc="convert", progress=progress)
        anns = [a for video_anns, _ in results for a in video_anns]
        _publish(out, staging, anns)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        source.close()
    return ConvertSummary(out, len(by_video), len(anns), sum(len(a["segments_info"]) for a in anns),
                          sum(n for _, n in results), skipped)


def _publish(out: Path, staging: Path, anns: list[dict]) -> None:
    """Move the staged PNGs into ``pan_pred`` and write ``pred.json`` last (an earlier one is
    removed first, so that a run stopped half-way never looks complete)."""
    try:
        (out / PRED_JSON).unlink(missing_ok=True)
        pan = out / PAN_PRED_DIR
        pan.mkdir(exist_ok=True)
        for ann in anns:
            os.replace(staging / ann["file_name"], pan / ann["file_name"])
        staging.rmdir()
    except OSError as exc:
        raise VpsError(out, f"cannot write ({exc.strerror or exc})") from None
    data = json.dumps({"annotations": anns}, sort_keys=True, separators=(",", ":")).encode()
    atomic_write_bytes(out / PRED_JSON, data)
