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
from .conversion_targets import Target, TargetFrame, open_target
from .errors import VpsError
from .formats.base import FormatOptions
from .formats.coco_panoptic import CocoVideo
from .formats.coco_panoptic import segments as coco_segments
from .formats.rules import DEFAULT_THING_ZERO, CategoryTable, LabelRules
from .formats.tracks import VideoTracks
from .jsonfields import JSON_LIMIT, need_list, need_object, parse_json
from .parallel import map_videos
from .pngio import (
    ANY_FILE,
    Limit,
    atomic_write_bytes,
    decode_ids,
    decode_png,
    open_png,
    png_header,
    png_limit,
)
from .profiles import detect_benchmark
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
    frame: TargetFrame
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
    target: Target


# --------------------------------------------------------------------------- matching


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


def _frame_of(source: Source, rel: str, stem: str, target: Target) -> tuple[TargetFrame | None, str]:
    try:
        return target.find(stem)
    except VpsError as exc:
        raise VpsError(source.describe(rel), f"cannot tell which frame this is: {exc.problem}") from None


def _match_maps(source: Source, fmt: formats.Format, target: Target) -> tuple[dict[str, dict[str, str]], int]:
    """The files of each frame by role, and the number of other frames met."""
    found: dict[str, dict[str, str]] = {}
    skipped: set[str] = set()
    for rel in source.names():
        role_stem = _role_of(rel, fmt.files) if _visible(rel) else None
        if role_stem is None:
            continue
        role, stem = role_stem
        frame, ref = _frame_of(source, rel, stem, target)
        if frame is None:
            skipped.add(ref)
            continue
        roles = found.setdefault(frame.key, {})
        if role in roles:
            raise VpsError(source.label, f"two files for frame {frame.key}: {roles[role]} and {rel}")
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


def _match_coco(source: Source, target: Target) -> tuple[dict[str, dict[str, str]], dict[str, tuple[list, str]], int]:
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
        frame, ref = target.find_coco(ann, file_name, at)
        if frame is None:
            skipped.add(ref)
            continue
        if frame.key in found:
            first = records[frame.key][1].rpartition(": ")[2]
            raise VpsError(where, f"two annotations for frame {frame.key}: {first} and annotations[{pos}]")
        if not isinstance(ann.get("segments_info"), list):
            raise VpsError(at, "no 'segments_info' list")
        candidates = [(base / name).as_posix() for name in target.coco_png_names(ann, file_name) for base in bases]
        png = next((c for c in candidates if c in names), None)
        if png is None:
            raise VpsError(source.describe(candidates[0]), f"missing: the PNG of annotations[{pos}] "
                           f"(frame {frame.key}; looked for {' and '.join(candidates)})")
        found[frame.key] = {"": png}
        records[frame.key] = (ann["segments_info"], at)
    return found, records, len(skipped)


def _check_complete(found: Mapping[str, Mapping[str, str]], target: Target, roles: Iterable[tuple[str, tuple[str, ...]]],
                    source: Source, split: str, skipped: int) -> None:
    missing = [(f, role, endings) for f in target.frames for role, endings in roles
               if role not in found.get(f.key, {})]
    if not missing:
        return
    frame, _, endings = missing[0]
    other = found.get(frame.key)
    have = f" (found {', '.join(sorted(other.values()))})" if other else ""
    n_frames = len({f.key for f, _, _ in missing})
    more = f"; {n_frames} of the split's {len(target.frames)} frames lack files" if n_frames > 1 else ""
    skip = f"; {skipped} frames in it are not annotated frames of {split}" if skipped else ""
    raise VpsError(source.label, f"missing frame {frame.key}: no {' or '.join(endings)} file "
                   f"for it{have}{more}{skip}")


# --------------------------------------------------------------------------- one video


def _read_map(source: Source, rel: str, size: tuple[int, int] | None) -> np.ndarray:
    """A decoded map file: ``.npy`` or PNG (gray 8/16-bit, palette indices, gray + alpha, RGB(A)
    8-bit), checked against the frame's ``size`` (width, height) before its pixels are decoded."""
    where = source.describe(rel)
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


def _convert_video(job: _Job, item: tuple[str | int, list[_FramePlan]]) -> tuple[list[dict], int]:
    """Convert one video's frames into the staging folder; their annotations and object count."""
    _, plans = item
    tracks = VideoTracks(rules=job.rules)
    coco = CocoVideo(tracks) if job.fmt == formats.COCO_PANOPTIC else None
    fmt = formats.MAPS.get(job.fmt)
    anns = []
    for plan in plans:
        tf = plan.frame
        files = dict(plan.files)
        size = job.target.size(tf)
        if coco is not None:
            rel = files[""]
            json_where = plan.where
            ids = decode_ids(job.source.read(rel, limit=png_limit(*size) if size else ANY_FILE),
                             job.source.describe(rel), size, "the frame's")
            frame = coco.frame(ids, coco_segments(plan.records, json_where), json_where, job.source.describe(rel))
        else:
            assert fmt is not None
            arrays = {role: _read_map(job.source, rel, size) for role, rel in plan.files}
            where = job.source.describe(plan.files[0][1])
            category, instance = fmt.decode(arrays, job.options, where)
            frame = tracks.frame(category, instance, where)
        staged = job.staging / tf.out
        staged.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(staged, job.target.encode(frame))
        anns.append(tf.record | {"segments_info": frame.segments_info})
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
    benchmark: str | None = None,
    categories: str | os.PathLike | Mapping[int, int | None] | None = None,
    void: int | Iterable[int] = (255,),
    no_instance: int = 0,
    thing_zero: str = DEFAULT_THING_ZERO,
    instance_channel: int = 1,
    divisor: int = 1000,
    jobs: int | None = None,
    progress: bool | None = None,
) -> ConvertSummary:
    """Convert a model's output in ``from_format`` (one of :data:`vpskit.formats.NAMES`) into the
    prediction format of ``benchmark`` for the frames of ``split``.

    ``benchmark`` (None: found from ``root``, else Cityscapes-VPS) decides the frames and what is
    written (:mod:`vpskit.conversion_targets`): Cityscapes-VPS ``out/pred.json`` +
    ``out/pan_pred/{image_id}.png`` for the annotated frames listed in
    ``root/panoptic_im_{split}_city_vps.json``; VIPSeg ``out/pred.json`` +
    ``out/pan_pred/{video}/{frame}.png`` for the frames of ``root/panoptic_gt_VIPSeg_{split}.json``;
    KITTI-STEP ``out/{seq}/{frame}.png`` (R = category, G·256 + B = instance) for the frames of
    ``root/panoptic_maps/{split}``. ``src`` is a folder or a zip. ``categories`` is a numbering of
    the benchmark's categories (None: its default, ``trainid`` or VIPSeg's ``id``), a mapping
    file or a mapping; the other value options are those of :class:`vpskit.formats.VideoTracks`;
    ``instance_channel`` is for ``2ch``, ``divisor`` for ``divisor``. Bad input raises
    ``VpsError`` (one line naming the file) and leaves ``out`` as it was. The same input gives
    the same bytes, whatever ``jobs``.
    """
    fmt_name = formats.check_name(from_format, "--from")
    profile = detect_benchmark(root, benchmark).require("convert")
    rules = LabelRules.make(categories, void, no_instance, thing_zero, CategoryTable.of_profile(profile))
    options = FormatOptions(instance_channel, divisor)
    target = open_target(root, split, profile)
    out, src_path = Path(out), Path(src)
    source = Source(src_path, "", prefix="")
    _check_out(out, src_path)
    records: dict[str, tuple[list, str]] = {}
    if fmt_name == formats.COCO_PANOPTIC:
        found, records, skipped = _match_coco(source, target)
        roles: tuple[tuple[str, tuple[str, ...]], ...] = (("", (".png",)),)
    else:
        fmt = formats.MAPS[fmt_name]
        found, skipped = _match_maps(source, fmt, target)
        roles = fmt.files
    _check_complete(found, target, roles, source, split, skipped)
    by_video: dict[str | int, list[_FramePlan]] = {}
    for f in target.frames:
        recs, where = records.get(f.key, (None, ""))
        plan = _FramePlan(f, tuple((role, found[f.key][role]) for role, _ in roles), recs, where)
        by_video.setdefault(f.video, []).append(plan)
    made = not out.exists()
    staging = out / STAGING_DIR
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        results = map_videos(_convert_video, list(by_video.items()),
                             context=_Job(source, fmt_name, rules, options, staging, target),
                             jobs=jobs, desc="convert", progress=progress)
        anns = [a for video_anns, _ in results for a in video_anns]
        _publish(out, staging, target, [(p.frame, a) for p, a in
                                        zip((p for plans in by_video.values() for p in plans), anns, strict=True)])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        source.close()
    return ConvertSummary(out, len(by_video), len(anns), sum(len(a["segments_info"]) for a in anns),
                          sum(n for _, n in results), skipped)


def _publish(out: Path, staging: Path, target: Target, frames: list[tuple[TargetFrame, dict]]) -> None:
    """Move the staged PNGs into their folder of ``out`` and write the JSON last (an earlier one
    is removed first, so that a run stopped half-way never looks complete)."""
    try:
        if target.json_name is not None:
            (out / target.json_name).unlink(missing_ok=True)
        dest = out / target.png_dir if target.png_dir else out
        dest.mkdir(exist_ok=True)
        for frame, _ in frames:
            final = dest / frame.out
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / frame.out, final)
        for folder in sorted((p for p in staging.rglob("*") if p.is_dir()), reverse=True):
            folder.rmdir()
        staging.rmdir()
    except OSError as exc:
        raise VpsError(out, f"cannot write ({exc.strerror or exc})") from None
    doc = target.document(frames)
    if target.json_name is not None and doc is not None:
        atomic_write_bytes(out / target.json_name, json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
