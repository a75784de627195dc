"""The per-video checks of ``vpskit verify`` on a prepared VIPSeg folder (``VIPSeg_720P/``), run
on the pool by :mod:`vpskit.verification.vipseg`.

For one video: the frames of ``images/``, ``panomasks/`` and ``panomasksRGB/`` are the same and are
the frames its JSON entry lists, in name order; each JPEG is whole and 720 high (and, given the
download, ``int(720 * w / h)`` wide for its source frame of ``w`` x ``h``); each mask is a grayscale
PNG and each segment map an 8-bit RGB PNG of the image's size; every raw mask value is one the
VIPSeg encoding allows and maps to one segment id throughout the video (and back); each frame's
``segments_info`` lists exactly the ids of its segment map, with their areas, the category its raw
value gives, ``iscrowd`` 0, and ids that are their category's colour (stuff) or within 30 of it
(things); given the download, as many frames and masks as it holds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import VpsError
from ..jsonfields import segment_records
from ..pngio import decode_ids, decode_png, png_header, read_file
from ..preparation.vipseg import COLOUR_JITTER, check_raw_values, target_size
from ..preparation.vipseg_run import VipsegDownload
from ..profiles.vipseg import CATEGORY_TABLE, RAW_STUFF_MAX, RAW_THING_DIVISOR, TARGET_HEIGHT

__all__ = ["VideoResult", "VideoUnit", "check_video"]

_THING = np.array([thing for _, _, thing, _ in CATEGORY_TABLE], bool)
_COLOURS = np.array([colour for *_, colour in CATEGORY_TABLE], np.int64)


@dataclass(frozen=True)
class VideoUnit:
    """One video to check: its split, whether it must have masks, and its GT JSON entries
    (``videos`` entry, ``annotations`` entry; None when the JSON does not list it)."""

    split: str
    video: str
    labelled: bool
    entry: tuple[dict, dict] | None = None
    download_counts: tuple[int, int] | None = None
    """(frames, masks) of the video in the download, when it is given."""


@dataclass
class VideoResult:
    """Counts and problems (one line each, naming the file) of one video."""

    images: int = 0
    masks: int = 0
    rgb: int = 0
    segments: int = 0
    problems: list[str] = field(default_factory=list)


def _listing(folder: Path, suffix: str, res: VideoResult) -> dict[str, str]:
    """Frame stem -> file name of the ``*{suffix}`` files of ``folder``; anything else is a problem."""
    out: dict[str, str] = {}
    if not folder.is_dir():
        res.problems.append(f"{folder}: missing folder")
        return out
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.name.endswith(suffix) or not entry.is_file():
            res.problems.append(f"{entry}: unexpected {'folder' if entry.is_dir() else 'file'} "
                                f"(expected frames named like 00000001{suffix})")
            continue
        out[entry.name[: -len(suffix)]] = entry.name
    return out


def _missing(have: dict[str, str], want: dict[str, str], folder: Path, suffix: str, what: str,
             res: VideoResult) -> None:
    """Report the frames of ``want`` that ``have`` (the ``*{suffix}`` files of ``folder``) lacks."""
    for stem in sorted(set(want) - set(have)):
        res.problems.append(f"{folder / (stem + suffix)}: missing ({what})")


def jpeg_size(data: bytes, where: object) -> tuple[int, int]:
    """(width, height) of a JPEG file whose bytes run from its start to its end marker;
    ``VpsError`` otherwise."""
    if not data.startswith(b"\xff\xd8") or not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        raise VpsError(where, "not a whole JPEG file (no start or end marker: truncated or another format)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (OSError, ValueError) as exc:
        raise VpsError(where, f"not a readable JPEG ({exc})") from None


def _expected_width(download: VipsegDownload | None, video: str, name: str, res: VideoResult) -> int | None:
    """The prepared width of frame ``name`` of ``video``, from the download's frame; None without one."""
    try:
        if download is None or name not in download.frames(video):
            return None
    except KeyError:  # a video the download lacks: counted as such
        return None
    rel = f"{video}/{name}"
    try:
        with Image.open(io.BytesIO(download.images.read(rel))) as img:
            return target_size(*img.size)[0]
    except VpsError as exc:
        res.problems.append(str(exc))
    except (OSError, ValueError) as exc:
        res.problems.append(f"{download.images.describe(rel)}: not a readable image ({exc})")
    return None


def _check_image(path: Path, width: int | None, res: VideoResult) -> tuple[int, int] | None:
    try:
        size = jpeg_size(read_file(path), path)
    except VpsError as exc:
        res.problems.append(str(exc))
        return None
    if size[1] != TARGET_HEIGHT or (width is not None and size[0] != width):
        want = f"{width if width is not None else 'W'}x{TARGET_HEIGHT}"
        rule = " (width int(720 * w / h) of the download's frame)" if width is not None else ""
        res.problems.append(f"{path}: image is {size[0]}x{size[1]}, expected {want}{rule}")
    return size


def _read_map(path: Path, size: tuple[int, int] | None, rgb: bool, res: VideoResult) -> np.ndarray | None:
    """A decoded mask (``rgb`` False: grayscale, 8 or 16 bits) or segment-id map (8-bit RGB), or
    None (a problem recorded)."""
    try:
        data = read_file(path)
        header = png_header(data, path)
        if rgb and (header.bit_depth, header.color_type) != (8, 2):
            res.problems.append(f"{path}: expected an 8-bit RGB PNG, found bit depth {header.bit_depth}, "
                                f"colour type {header.color_type}")
            return None
        if not rgb and (header.color_type != 0 or header.bit_depth not in (8, 16)):
            res.problems.append(f"{path}: expected an 8- or 16-bit grayscale PNG, found bit depth "
                                f"{header.bit_depth}, colour type {header.color_type}")
            return None
        return (decode_ids if rgb else decode_png)(data, path, size, "the image's")
    except VpsError as exc:
        res.problems.append(str(exc))
        return None


def _raw_category(value: int) -> int:
    return value - 1 if value <= RAW_STUFF_MAX else value // RAW_THING_DIVISOR - 1


def _colour_problem(sid: int, category: int) -> str | None:
    colour = np.array([sid & 255, (sid >> 8) & 255, sid >> 16])
    base = _COLOURS[category]
    if not _THING[category] and (colour != base).any():
        return f"is not the colour {tuple(base.tolist())} of its stuff category {category}"
    if _THING[category] and (abs(colour - base) > COLOUR_JITTER).any():
        return f"is not within {COLOUR_JITTER} of the colour {tuple(base.tolist())} of its category {category}"
    return None


class _Segments:
    """The raw value <-> segment id pairs of one video, checked as frames come."""

    def __init__(self) -> None:
        self.raw_to_id: dict[int, int] = {}
        self.id_to_raw: dict[int, int] = {}

    def pairs(self, joint: np.ndarray, counts: np.ndarray, path: Path, res: VideoResult) -> dict[int, tuple[int, int]]:
        """Segment id -> (raw value, area) of one frame, from its distinct ``raw << 24 | id`` values
        and their pixel counts; a raw value with two ids (or an id with two raw values), in the
        frame or in the video so far, is a problem."""
        out: dict[int, tuple[int, int]] = {}
        for key, area in zip(joint.tolist(), counts.tolist(), strict=True):
            value, sid = key >> 24, key & 0xFFFFFF
            if (value == 0) != (sid == 0):
                res.problems.append(f"{path}: {area} pixels of raw value {value} have segment id {sid} "
                                    "(void is raw value 0 and segment id 0)")
                continue
            if value == 0:
                continue
            seen_id, seen_raw = self.raw_to_id.setdefault(value, sid), self.id_to_raw.setdefault(sid, value)
            if seen_id != sid:
                res.problems.append(f"{path}: raw value {value} has segment id {sid} here but {seen_id} "
                                    "elsewhere in the video (one raw value is one segment)")
            elif seen_raw != value:
                res.problems.append(f"{path}: segment id {sid} covers raw value {value} here but {seen_raw} "
                                    "elsewhere in the video (one segment is one raw value)")
            out[sid] = (out.get(sid, (value, 0))[0], out.get(sid, (value, 0))[1] + area)
        return out


def _check_segments(path: Path, info: object, found: dict[int, tuple[int, int]], res: VideoResult) -> None:
    """A frame's ``segments_info`` against the segments of its map (id -> (raw value, area))."""
    try:
        records = segment_records(info, path, gt=True)
    except VpsError as exc:
        res.problems.append(f"{exc} (in the JSON)")
        return
    listed = {r.id: r for r in records}
    for sid in sorted(set(found) - set(listed)):
        res.problems.append(f"{path}: segment id {sid} ({found[sid][1]} pixels) is not in the JSON's segments_info")
    for sid in sorted(set(listed) - set(found)):
        res.problems.append(f"{path}: segment id {sid} of the JSON's segments_info has no pixel")
    for sid in sorted(set(listed) & set(found)):
        rec, (value, area) = listed[sid], found[sid]
        at = f"{path}: segment id {sid}"
        if rec.category_id >= len(CATEGORY_TABLE):
            res.problems.append(f"{at}: unknown category {rec.category_id} (VIPSeg has 0-{len(CATEGORY_TABLE) - 1})")
            continue
        if rec.category_id != _raw_category(value):
            res.problems.append(f"{at}: category {rec.category_id} in the JSON, but its raw value {value} "
                                f"gives category {_raw_category(value)}")
        if rec.area != area:
            res.problems.append(f"{at}: area {rec.area} in the JSON, {area} pixels in the PNG")
        if rec.iscrowd:
            res.problems.append(f"{at}: iscrowd 1 (the VIPSeg conversion writes 0)")
        colour = _colour_problem(sid, rec.category_id)
        if colour is not None:
            res.problems.append(f"{at} {colour}")


def _json_frames(unit: VideoUnit, res: VideoResult, where: Path) -> list[tuple[str, dict, dict]] | None:
    """(frame stem, image record, annotation record) of the video's JSON entries, checked to pair
    up by file name; None when they do not."""
    assert unit.entry is not None
    video, ann = unit.entry
    images, anns = video.get("images"), ann.get("annotations")
    if not isinstance(images, list) or not isinstance(anns, list) or len(images) != len(anns):
        res.problems.append(f"{where}: video {unit.video}: 'images' and 'annotations' are not two lists of "
                            "the same length")
        return None
    out = []
    for pos, (img, a) in enumerate(zip(images, anns, strict=True)):
        name = img.get("file_name") if isinstance(img, dict) else None
        if not isinstance(a, dict) or not isinstance(name, str) or a.get("file_name") != name \
                or not name.endswith(".png") or "/" in name:
            res.problems.append(f"{where}: video {unit.video}: frame {pos}: the image and annotation records "
                                "do not name the same mask file ({frame}.png)")
            return None
        stem = name[:-4]
        if img.get("id") != stem or a.get("image_id") != stem:
            res.problems.append(f"{where}: video {unit.video}: frame {name}: 'id' / 'image_id' are not {stem!r}")
        out.append((stem, img, a))
    if [s for s, _, _ in out] != sorted(s for s, _, _ in out):
        res.problems.append(f"{where}: video {unit.video}: frames are not in name order")
    return out


def check_video(ctx: tuple[Path, dict[str, Path], VipsegDownload | None], unit: VideoUnit) -> VideoResult:
    """Check one video of a prepared VIPSeg folder (see the module docstring). ``ctx``: the
    folder, the JSON each split's entries come from, and the download (or None)."""
    root, json_paths, download = ctx
    json_path = json_paths[unit.split]
    res = VideoResult()
    img_dir = root / "images" / unit.video
    if not unit.labelled and not img_dir.is_dir():
        res.problems.append(f"{img_dir}: missing folder (the official change2_720p.py resizes no test video; "
                            "vpskit prepare --benchmark vipseg does)")
        return res
    images = _listing(img_dir, ".jpg", res)
    res.images = len(images)
    masks: dict[str, str] = {}
    rgbs: dict[str, str] = {}
    if unit.labelled:
        mask_dir, rgb_dir = root / "panomasks" / unit.video, root / "panomasksRGB" / unit.video
        masks, rgbs = _listing(mask_dir, ".png", res), _listing(rgb_dir, ".png", res)
        res.masks, res.rgb = len(masks), len(rgbs)
        _missing(masks, images, mask_dir, ".png", "its image exists", res)
        _missing(rgbs, images, rgb_dir, ".png", "its image exists", res)
        _missing(images, masks | rgbs, img_dir, ".jpg", "its mask exists", res)
    frames = _json_frames(unit, res, json_path) if unit.labelled and unit.entry is not None else None
    if frames is not None:
        stems = [s for s, _, _ in frames]
        for stem in sorted(set(rgbs) - set(stems)):
            res.problems.append(f"{root / 'panomasksRGB' / unit.video / rgbs[stem]}: not listed in {json_path.name}")
        for stem in sorted(set(stems) - set(rgbs)):
            res.problems.append(f"{json_path}: video {unit.video}: frame {stem}.png is listed but "
                                f"panomasksRGB/{unit.video}/{stem}.png is missing")
    records = {s: (img, a) for s, img, a in frames or []}
    segments = _Segments()
    for stem in sorted(images):
        size = _check_image(img_dir / images[stem], _expected_width(download, unit.video, images[stem], res), res)
        if stem not in masks or stem not in rgbs or size is None:
            continue
        mask_path, rgb_path = root / "panomasks" / unit.video / masks[stem], root / "panomasksRGB" / unit.video / rgbs[stem]
        raw, ids = _read_map(mask_path, size, False, res), _read_map(rgb_path, size, True, res)
        if raw is None or ids is None:
            continue
        joint, counts = np.unique(raw.astype(np.uint64) << np.uint64(24) | ids, return_counts=True)
        try:
            check_raw_values(np.unique(joint >> np.uint64(24)), mask_path)
        except VpsError as exc:
            res.problems.append(str(exc))
            continue
        found = segments.pairs(joint, counts, rgb_path, res)
        if stem in records:
            img, ann = records[stem]
            if (img.get("width"), img.get("height")) != size:
                res.problems.append(f"{json_path}: video {unit.video}: frame {stem}.png: width/height "
                                    f"{img.get('width')}x{img.get('height')}, the image is {size[0]}x{size[1]}")
            _check_segments(rgb_path, ann.get("segments_info"), found, res)
    res.segments = len(segments.id_to_raw)
    if download is not None and unit.download_counts is not None:
        n_frames, n_masks = unit.download_counts
        if n_frames != res.images:
            res.problems.append(f"{img_dir}: {res.images} frames, the download has {n_frames} "
                                f"({download.images.describe(unit.video)})")
        if unit.labelled and n_masks != res.masks:
            res.problems.append(f"{root / 'panomasks' / unit.video}: {res.masks} masks, the download has {n_masks} "
                                f"({download.masks.describe(unit.video)})")
    return res
