"""Stage 3 (SPEC §2): per frame, ``labelmap`` and ``panoptic_inst`` from a ``cls``/``inst`` pair."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..categories import IS_STUFF_LUT, IS_THING_LUT, PACKED_COLOR_TO_CATEGORY, VOID
from ..errors import VpsError
from ..naming import ImageId, panoptic_im_json
from ..pngcodec import ID_MASK, IdStrips, decode_gray16_strips, decode_id_strips
from ..pngio import (
    PngHeader,
    atomic_write_bytes,
    decode_ids,
    decode_png,
    encode_runs_png,
    open_png,
    png_header,
    png_limit,
    read_file,
    rgb2id,
)
from ..runs import pixel_runs, strip_runs
from .common import AnnotatedFrame, annotated_frames, files_by_image_id, group_by_video, output_dir

_STUFF_PAN = np.where(IS_STUFF_LUT, np.arange(256), VOID).astype(np.uint16)
"""Category id -> starting ``pan`` value: the category for stuff, 255 otherwise."""


_KNOWN_COLORS = np.array(sorted(PACKED_COLOR_TO_CATEGORY), dtype=np.int64)
_KNOWN_CATEGORIES = np.array([PACKED_COLOR_TO_CATEGORY[c] for c in _KNOWN_COLORS.tolist()], dtype=np.uint8)


def categories_of(colors: np.ndarray) -> np.ndarray:
    """Category id (uint8) of each packed RGB colour (255 for any other colour), e.g. of the
    runs of a label image."""
    colors = np.asarray(colors)
    pos = np.minimum(np.searchsorted(_KNOWN_COLORS, colors), _KNOWN_COLORS.size - 1)
    return np.where(_KNOWN_COLORS[pos] == colors, _KNOWN_CATEGORIES[pos], np.uint8(VOID))


def semantic_from_colors(cls_rgb: np.ndarray) -> np.ndarray:
    """Category id of each pixel's RGB colour (alpha ignored); any other colour -> 255."""
    packed = _packed(cls_rgb)
    starts, lengths = pixel_runs(packed)
    return np.repeat(categories_of(packed.reshape(-1)[starts]), lengths).reshape(packed.shape)


def _packed(cls_rgb: np.ndarray) -> np.ndarray:
    """Packed colours ``R + 256*G + 256**2*B`` (uint32) of an RGB or RGBA image."""
    if cls_rgb.shape[2] == 4 and cls_rgb.flags.c_contiguous:
        return cls_rgb.view("<u4")[..., 0] & np.uint32(0xFFFFFF)
    return rgb2id(cls_rgb)


def _majority(values: np.ndarray, colors: np.ndarray, weights: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Majority colour of each value, counting each (value, colour) ``weights`` times (once)."""
    if values.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    keys, inverse = np.unique((values.astype(np.uint64) << np.uint64(24)) | colors.astype(np.uint64),
                              return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=keys.size)
    kv = (keys >> np.uint64(24)).astype(np.int64)
    kc = (keys & np.uint64(0xFFFFFF)).astype(np.int64)
    # Sorted by value, then by count (largest first), then by colour (smallest first).
    order = np.lexsort((kc, -counts, kv))
    kv, kc = kv[order], kc[order]
    first = np.ones(kv.size, dtype=bool)
    first[1:] = kv[1:] != kv[:-1]
    return kv[first], kc[first]


def majority_colors(inst: np.ndarray, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every instance value ``v >= 1000`` of ``inst``: its majority packed colour.

    Returns ``(values, colors)`` sorted by value. Ties go to the smallest packed colour; every
    distinct colour is its own candidate.
    """
    starts, lengths = pixel_runs(inst, packed)
    values, colors = inst.reshape(-1)[starts], packed.reshape(-1)[starts]
    obj = values >= 1000
    return _majority(values[obj], colors[obj], lengths[obj])


def panoptic_from_labels(cls_rgb: np.ndarray, inst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stage-3 rule: ``(labelmap, pan)`` of one frame from its colour and instance labels.

    ``cls_rgb`` is (H, W, 3 or 4) uint8 (alpha ignored), ``inst`` (H, W) integer instance ids.
    ``labelmap`` (uint8) is the category of each colour (255 void). ``pan`` (uint16) is 255,
    overwritten by the category of stuff-coloured pixels, then by ``category*1000 + v % 1000``
    on all pixels of every object ``v >= 1000`` whose majority raw colour is a thing colour.
    """
    sem, pan, _ = panoptic_with_things(cls_rgb, inst)
    return sem, pan


def panoptic_with_things(cls_rgb: np.ndarray, inst: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """:func:`panoptic_from_labels` plus the sorted thing values (``>= 1000``) present in ``pan``.

    Every object kept keeps all its pixels, so its value is present; nothing else is >= 1000.
    """
    cls_rgb = np.asarray(cls_rgb)
    if cls_rgb.ndim != 3 or cls_rgb.shape[2] not in (3, 4) or cls_rgb.dtype != np.uint8:
        raise ValueError(f"cls must be an (H, W, 3|4) uint8 array, got {cls_rgb.dtype} {cls_rgb.shape}")
    return panoptic_from_packed(_packed(cls_rgb), inst)


def panoptic_from_packed(packed: np.ndarray, inst: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """:func:`panoptic_with_things` of the packed colours (H, W) of the ``cls`` label."""
    inst = np.asarray(inst)
    if inst.shape != packed.shape:
        raise ValueError(f"cls is {packed.shape} but inst is {inst.shape}")
    if inst.dtype != np.uint16:
        if inst.size and (inst.min() < 0 or inst.max() > 0xFFFF):
            raise ValueError("instance ids must lie in 0 … 65535")
        inst = inst.astype(np.uint16)
    run_sem, run_pan, lengths, things = _panoptic_runs(packed, inst)
    return (np.repeat(run_sem, lengths).reshape(packed.shape),
            np.repeat(run_pan, lengths).reshape(packed.shape), things)


def _panoptic_runs(packed: np.ndarray | IdStrips, inst: np.ndarray | IdStrips, where: object = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """The stage-3 rule on the runs of equal (colour, instance) pixels: each run's ``labelmap``
    and ``pan`` values, its length, and the sorted thing values. With ``where``, an instance
    value that is no instance id raises ``VpsError`` naming it (see :func:`decode_inst`). Only
    the low 24 bits of ``packed`` are read as colours. Either map may be given a strip of rows
    at a time (:func:`vpskit.pngcodec.decode_id_strips`, ``decode_gray16_strips``)."""
    h, w = packed.shape
    starts, (colors, values) = strip_runs(packed, inst)
    colors &= ID_MASK
    values = values.astype(np.uint16)
    lengths = np.diff(starts, append=starts.dtype.type(h * w))
    if where is not None:
        _check_instance_ids((h, w), starts, values, where)
    run_sem = categories_of(colors)
    run_pan = _STUFF_PAN[run_sem]
    obj = values >= 1000
    things: list[int] = []
    kept_values, kept_colors = _majority(values[obj], colors[obj], lengths[obj])
    cats = categories_of(kept_colors)
    keep = IS_THING_LUT[cats]
    if keep.any():
        kept = kept_values[keep]
        new = np.zeros(1 << 16, dtype=np.uint16)
        new[kept] = cats[keep].astype(np.uint16) * 1000 + (kept % 1000).astype(np.uint16)
        hit = obj & (new[values] > 0)
        run_pan[hit] = new[values[hit]]
        things = sorted(set(new[kept].tolist()))
    return run_sem, run_pan, lengths, things


def decode_cls(data: bytes, where: object, size: tuple[int, int] | None = None,
               of: str = "the expected") -> np.ndarray:
    """Decode a colour label PNG as (H, W, 3|4) uint8 (palette images are expanded to RGB).

    ``size`` (width, height) is compared with the PNG's header before anything is decoded.
    """
    if png_header(data, where).color_type == 3:  # palette
        with open_png(data, where, size, of) as img:
            img.load()
            return np.array(img.convert("RGB"))
    arr = decode_png(data, where, size, of)
    if arr.ndim == 3:
        return arr
    raise VpsError(where, "not a colour (RGB or RGBA) label image")


def decode_cls_packed(data: bytes, where: object, size: tuple[int, int] | None = None,
                      of: str = "the expected", exact: bool = True) -> np.ndarray:
    """The packed colours (H, W) uint32 of a colour label PNG (see :func:`decode_cls`), in a
    buffer this thread reuses for the next one (:func:`vpskit.pngio.decode_ids`). ``exact``
    False: only the low 24 bits are the colour, the top byte may be anything (a pass cheaper;
    equal colours may then differ, which splits runs but changes no rule)."""
    header = png_header(data, where)
    if header.bit_depth == 8 and header.color_type in (2, 3, 6):
        return decode_ids(data, where, size, of, reuse=True, exact=exact)
    return _packed(decode_cls(data, where, size, of))


_PNG_COLOR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}

INSTANCE_ID_OK = np.zeros(1 << 16, dtype=bool)
"""Which 16-bit values an instance-id label may hold: a Cityscapes label id (0 … 33) or
``labelId*1000 + k`` (k < 1000) of one."""
INSTANCE_ID_OK[:34] = True
INSTANCE_ID_OK[1000:34_000] = True


def check_inst_header(header: PngHeader, where: object) -> None:
    """Refuse an instance-id label that is not a 16-bit grayscale PNG: 8 bits cannot hold
    ``labelId*1000 + k``, so every object would be lost."""
    if (header.bit_depth, header.color_type) != (16, 0):
        kind = f"{header.bit_depth}-bit {_PNG_COLOR_TYPES.get(header.color_type, 'unknown colour type')}"
        raise VpsError(where, f"{kind} PNG, but an instance-id label must be 16-bit grayscale "
                       "(values labelId*1000+k)")


def decode_inst(data: bytes, where: object, size: tuple[int, int] | None = None,
                of: str = "the expected", check: bool = True, stored_order: bool = False) -> np.ndarray:
    """Decode an instance-id PNG as (H, W) uint16 (``stored_order``: possibly big-endian, see
    :func:`vpskit.pngio.decode_png`), refusing one that cannot be an instance-id label: not
    16-bit grayscale (:func:`check_inst_header`), or (unless not ``check``, for a caller that
    checks the values itself) holding a value that is neither a label id (0 … 33) nor
    ``labelId*1000 + k``."""
    check_inst_header(png_header(data, where), where)
    arr = decode_png(data, where, size, of, stored_order=stored_order)
    if arr.ndim != 2 or arr.dtype.kind != "u" or arr.dtype.itemsize != 2:
        raise VpsError(where, "not a single-channel 16-bit instance-id image")
    if check:
        starts, _ = pixel_runs(arr)
        _check_instance_ids(arr.shape, starts, arr.reshape(-1)[starts].astype(np.uint16), where)
    return arr


def _check_instance_ids(shape: tuple[int, ...], starts: np.ndarray, values: np.ndarray, where: object) -> None:
    """Refuse the first run (starting at ``starts``, of ``values``) holding no instance id."""
    bad = ~INSTANCE_ID_OK[values]
    if bad.any():
        i = int(np.argmax(bad))
        y, x = np.unravel_index(int(starts[i]), shape)
        raise VpsError(where, f"value {int(values[i])} at x={x}, y={y} is not an instance id "
                       "(a label id 0…33, or labelId*1000+k)")


@dataclass(frozen=True)
class PanopticTask:
    """The label pair of one annotated frame and where its outputs go (names only)."""

    image_id: str
    cls_name: str
    inst_name: str
    width: int | None = None
    height: int | None = None
    """The frame's size in the JSON, if it gives one."""


@dataclass(frozen=True)
class PanopticContext:
    """What every stage-3 worker needs."""

    root: Path


@dataclass(frozen=True)
class PanRuns:
    """A ``pan`` frame as runs of pixels in raster order: each run's value (uint16) and length,
    and the frame's (H, W); stage 4 works on these, a few runs per row, not on pixels."""

    values: np.ndarray
    lengths: np.ndarray
    shape: tuple[int, int]


def make_frame(root: Path, split: str, task: PanopticTask) -> tuple[list[int], PanRuns | None]:
    """Compute and write one frame's ``labelmap`` and ``panoptic_inst`` (each only if missing);
    return its thing values and, when this call wrote ``panoptic_inst``, that frame as runs."""
    cls_path = output_dir(root, split, "cls") / task.cls_name
    inst_path = output_dir(root, split, "inst") / task.inst_name
    size = (task.width, task.height) if task.width and task.height else None
    cls_data = read_file(cls_path, limit=png_limit(task.width, task.height))
    header = png_header(cls_data, cls_path)
    if header.bit_depth == 8 and header.color_type in (2, 3, 6):  # colours a strip of rows at a time
        packed: np.ndarray | IdStrips = decode_id_strips(cls_data, cls_path, size, "the JSON's", buffer="cls")
    else:
        packed = decode_cls_packed(cls_data, cls_path, size, "the JSON's", exact=False)
    h, w = packed.shape
    inst_data = read_file(inst_path, limit=png_limit(w, h))
    header = png_header(inst_data, inst_path)
    if (header.width, header.height) != (w, h):
        raise VpsError(inst_path, f"size {header.width}x{header.height} differs from its cls "
                       f"label {cls_path.name} ({w}x{h})")
    check_inst_header(header, inst_path)
    inst = decode_gray16_strips(inst_data, inst_path, (w, h), buffer="inst")
    run_sem, run_pan, lengths, things = _panoptic_runs(packed, inst, inst_path)
    lab_path = output_dir(root, split, "labelmap") / task.cls_name
    pan_path = output_dir(root, split, "panoptic_inst") / task.cls_name
    if not lab_path.exists():
        atomic_write_bytes(lab_path, encode_runs_png(run_sem, lengths, (h, w), "gray8"))
    if pan_path.exists():
        return things, None
    atomic_write_bytes(pan_path, encode_runs_png(run_pan, lengths, (h, w), "gray16"))
    return things, PanRuns(run_pan, lengths, (h, w))


def run_frame(root: Path, split: str, task: PanopticTask) -> list[int]:
    """Compute and write one frame's ``labelmap`` and ``panoptic_inst``; return its thing values."""
    return make_frame(root, split, task)[0]


def run_video(ctx: PanopticContext, unit: tuple[str, int, tuple[PanopticTask, ...]]) -> dict[str, list[int]]:
    """Stage 3 for the frames of one video; return the thing values of each written frame."""
    split, _, tasks = unit
    return {t.cls_name: run_frame(ctx.root, split, t) for t in tasks}


def plan(root: Path, split: str) -> dict[int, list[PanopticTask]]:
    """Pair ``cls``/``inst`` labels of every annotated frame by image id, grouped per video.

    A frame whose label is missing, or has several candidates, raises ``VpsError``.
    """
    frames = annotated_frames(Path(root) / panoptic_im_json(split))
    cls_dir, inst_dir = output_dir(root, split, "cls"), output_dir(root, split, "inst")
    cls_files, inst_files = files_by_image_id(cls_dir), files_by_image_id(inst_dir)
    out: dict[int, list[PanopticTask]] = {}
    for video, group in group_by_video(frames).items():
        out[video] = [_pair(f, cls_dir, inst_dir, cls_files, inst_files) for f in group]
    return out


def _pair(frame: AnnotatedFrame, cls_dir: Path, inst_dir: Path,
          cls_files: dict[ImageId, list[str]], inst_files: dict[ImageId, list[str]]) -> PanopticTask:
    names = []
    for folder, files in ((cls_dir, cls_files), (inst_dir, inst_files)):
        found = files.get(frame.iid, [])
        if not found:
            raise VpsError(folder, f"no label file for image {frame.iid}")
        if len(found) > 1:
            raise VpsError(folder, f"several label files for image {frame.iid}: {', '.join(found)}")
        names.append(found[0])
    return PanopticTask(frame.image_id, names[0], names[1], frame.width, frame.height)


def is_done(root: Path, split: str, task: PanopticTask) -> bool:
    """Whether both outputs of a frame exist (files appear only whole, by atomic rename)."""
    return ((output_dir(root, split, "labelmap") / task.cls_name).exists()
            and (output_dir(root, split, "panoptic_inst") / task.cls_name).exists())
