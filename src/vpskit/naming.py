"""Every file-name rule of Cityscapes-VPS: image ids, raw frame names, label and output names.

Nothing else in vpskit builds or parses a file name by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import PurePosixPath, PureWindowsPath
from typing import NamedTuple

from .errors import VpsError

SPLITS = ("train", "val", "test")
LABELLED_SPLITS = ("train", "val")
FRAMES_PER_SNIPPET = 30
ANNOTATED_PER_VIDEO = 6
ANNOTATED_OFFSETS = (4, 9, 14, 19, 24, 29)
"""Offsets from the snippet's first frame of the six annotated frames (5th, 10th, … 30th)."""
GTFINE_OFFSET = 19
"""Offset of the 20th frame, the one with a Cityscapes fine annotation."""
GTFINE_POSITION = ANNOTATED_OFFSETS.index(GTFINE_OFFSET)
"""Position (0-based) of the gtFine frame among a video's six annotated frames."""

_CITY = r"[a-z]+(?:[-_][a-z]+)*"
_IMAGE_ID_RE = re.compile(rf"^(\d{{4}})_(\d{{4}})_({_CITY})_(\d{{6}})_(\d{{6}})$")
_FRAME_RE = re.compile(rf"^({_CITY})_(\d{{6}})_(\d{{6}})_leftImg8bit\.png$")
_GTFINE_RE = re.compile(
    rf"^({_CITY})_(\d{{6}})_(\d{{6}})_gtFine_(color|instanceIds|labelIds)\.png$|"
    rf"^({_CITY})_(\d{{6}})_(\d{{6}})_gtFine_polygons\.json$"
)
_PREFIXED_RE = re.compile(rf"^(\d{{4}}_\d{{4}}_{_CITY}_\d{{6}}_\d{{6}})_([A-Za-z0-9_]+)\.(png|json)$")
_PAN_PRED_RE = re.compile(rf"^(\d{{4}}_\d{{4}}_{_CITY}_\d{{6}}_\d{{6}})\.png$")

GTFINE_KINDS = ("color", "instanceIds", "labelIds", "polygons")


class FrameKey(NamedTuple):
    """A raw Cityscapes frame: city, sequence number and frame number."""

    city: str
    seq: int
    frame: int

    def __str__(self) -> str:
        return f"{self.city}_{self.seq:06d}_{self.frame:06d}"


class ImageId(NamedTuple):
    """A Cityscapes-VPS image id ``{video:04d}_{index:04d}_{city}_{seq:06d}_{frame:06d}``."""

    video: int
    index: int  # type: ignore[assignment]  # a field named like tuple.index, as in the id's format
    city: str
    seq: int
    frame: int

    def __str__(self) -> str:
        return f"{self.video:04d}_{self.index:04d}_{self.city}_{self.seq:06d}_{self.frame:06d}"

    @property
    def key(self) -> FrameKey:
        """The raw Cityscapes frame this image id names."""
        return FrameKey(self.city, self.seq, self.frame)

    @property
    def position(self) -> int:
        """0-based position among the video's six annotated frames (from the index formula)."""
        return (self.index - 1) - (self.video - 1) * ANNOTATED_PER_VIDEO

    @property
    def is_gtfine_frame(self) -> bool:
        """Whether this is the 20th frame of its snippet (labels come from gtFine)."""
        return self.position == GTFINE_POSITION

    @property
    def first_frame(self) -> int:
        """Frame number of the snippet's first frame."""
        return self.frame - ANNOTATED_OFFSETS[self.position]


def parse_image_id(text: str) -> ImageId:
    """Parse an image id; raise ``VpsError`` when it is malformed."""
    m = _IMAGE_ID_RE.match(str(text))
    if m is None:
        raise VpsError(repr(text), "not a Cityscapes-VPS image id "
                       "(expected {video:04d}_{index:04d}_{city}_{seq:06d}_{frame:06d})")
    video, index, city, seq, frame = m.groups()
    iid = ImageId(int(video), int(index), city, int(seq), int(frame))
    if iid.video < 1 or not 0 <= iid.position < ANNOTATED_PER_VIDEO:
        raise VpsError(repr(text), f"index {iid.index} does not belong to video {iid.video} "
                       f"(expected {(iid.video - 1) * 6 + 1}…{iid.video * 6})")
    return iid


def make_image_id(video: int, position: int, key: FrameKey) -> ImageId:
    """The image id of the annotated frame at ``position`` (0…5) of ``video``."""
    return ImageId(video, (video - 1) * ANNOTATED_PER_VIDEO + position + 1, key.city, key.seq, key.frame)


def video_of(image_id: str) -> int:
    """The video number of an image id (its first four characters)."""
    return parse_image_id(image_id).video


def frame_file(key: FrameKey) -> str:
    """Raw Cityscapes frame name ``{city}_{seq}_{frame}_leftImg8bit.png``."""
    return f"{key}_leftImg8bit.png"


def frame_relpath(key: FrameKey) -> str:
    """Path of a raw frame relative to the ``leftImg8bit_sequence/val`` folder."""
    return f"{key.city}/{frame_file(key)}"


def parse_frame_file(name: str) -> FrameKey:
    """Parse ``{city}_{seq}_{frame}_leftImg8bit.png``."""
    m = _FRAME_RE.match(name)
    if m is None:
        raise VpsError(repr(name), "not a Cityscapes frame name ({city}_{seq:06d}_{frame:06d}_leftImg8bit.png)")
    return FrameKey(m.group(1), int(m.group(2)), int(m.group(3)))


def gtfine_file(key: FrameKey, kind: str) -> str:
    """gtFine file name of ``kind`` (color, instanceIds, labelIds or polygons)."""
    if kind not in GTFINE_KINDS:
        raise ValueError(f"unknown gtFine kind {kind!r}")
    ext = "json" if kind == "polygons" else "png"
    return f"{key}_gtFine_{kind}.{ext}"


def gtfine_relpath(key: FrameKey, kind: str) -> str:
    """Path of a gtFine file relative to the ``gtFine/val`` folder."""
    return f"{key.city}/{gtfine_file(key, kind)}"


def parse_gtfine_file(name: str) -> tuple[FrameKey, str]:
    """Parse a gtFine file name into its frame and kind."""
    m = _GTFINE_RE.match(name)
    if m is None:
        raise VpsError(repr(name), "not a gtFine file name")
    if m.group(1) is not None:
        return FrameKey(m.group(1), int(m.group(2)), int(m.group(3))), m.group(4)
    return FrameKey(m.group(5), int(m.group(6)), int(m.group(7))), "polygons"


def image_file(iid: ImageId) -> str:
    """``file_name`` of an annotated frame: ``_leftImg8bit`` for the 20th, ``_newImg8bit`` otherwise."""
    suffix = "leftImg8bit" if iid.is_gtfine_frame else "newImg8bit"
    return f"{iid}_{suffix}.png"


def cls_file(iid: ImageId) -> str:
    """Name of the semantic (color) label of an annotated frame in ``{split}/cls``."""
    suffix = "gtFine_color" if iid.is_gtfine_frame else "final_mask"
    return f"{iid}_{suffix}.png"


def inst_file(iid: ImageId) -> str:
    """Name of the instance label of an annotated frame in ``{split}/inst``."""
    suffix = "gtFine_instanceIds" if iid.is_gtfine_frame else "final_mask"
    return f"{iid}_{suffix}.png"


def image_id_of_file(name: str) -> ImageId:
    """The image id a ``{image_id}_….png`` file name starts with."""
    m = _PREFIXED_RE.match(name)
    if m is None:
        raise VpsError(repr(name), "file name does not start with a Cityscapes-VPS image id")
    return parse_image_id(m.group(1))


def pan_pred_file(image_id: str | ImageId) -> str:
    """Prediction PNG name ``{image_id}.png``."""
    return f"{image_id}.png"


def parse_pan_pred_file(name: str) -> ImageId:
    """Parse a prediction PNG name ``{image_id}.png``."""
    m = _PAN_PRED_RE.match(name)
    if m is None:
        raise VpsError(repr(name), "not a prediction PNG name ({image_id}.png)")
    return parse_image_id(m.group(1))


def panoptic_im_json(split: str) -> str:
    """Release JSON listing the six annotated frames of every video of ``split``."""
    return f"panoptic_im_{split}_city_vps.json"


def im_all_info_json(split: str) -> str:
    """Release JSON listing all 30 frames of every video of ``split``."""
    return f"im_all_info_{split}_city_vps.json"


def instances_json(split: str) -> str:
    """Release JSON of COCO instance annotations (RLE) of ``split``."""
    return f"instances_{split}_city_vps_rle.json"


def panoptic_gt_json(split: str) -> str:
    """Output JSON of stage 4 for ``split``."""
    return f"panoptic_gt_{split}_city_vps.json"


def video_name(video: int) -> str:
    """Four-digit video name used in reports."""
    return f"{video:04d}"


def video_name_of(video: str | int, where: object = "video") -> str:
    """The four-digit name of a video given by number or name (``7``, ``"7"``, ``"0007"``)."""
    try:
        number = int(video)
    except (TypeError, ValueError):
        raise VpsError(where, f"{video!r} is not a video number") from None
    if not 0 < number <= 9999:
        raise VpsError(where, f"{video!r} is not a video number (1 … 9999)")
    return video_name(number)


def safe_relpath(name: object, where: object = "JSON") -> str:
    """Return ``name`` as a safe relative POSIX path, or raise ``VpsError``.

    Rejects non-strings, empty names, absolute paths (POSIX or Windows), drive letters,
    backslashes, NUL bytes and any ``..`` component, so that joining it to a folder never
    leaves that folder.
    """
    if not isinstance(name, str) or not name:
        raise VpsError(where, f"file name {name!r} is not a non-empty string")
    clean, problem = _clean_relpath(name)
    if problem:
        raise VpsError(where, f"file name {name!r} {problem}")
    return clean


@lru_cache(maxsize=1 << 12)
def _clean_relpath(name: str) -> tuple[str, str]:
    """:func:`safe_relpath` of a non-empty string: ``(clean name, "")`` or ``("", what is wrong)``
    (kept for the names met again, as an evaluation meets each PNG's name several times)."""
    if "\x00" in name or "\\" in name:
        return "", "contains a forbidden character"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return "", "is an absolute path"
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        return "", "would leave its folder ('..')"
    clean = "/".join(p for p in parts if p != ".")
    if not clean:
        return "", "names no file"
    return clean, ""


def check_split(split: str, labelled: bool = False) -> str:
    """``split`` if it is a split name (and, with ``labelled``, one with public labels), else ``VpsError``."""
    if split not in SPLITS:
        raise VpsError(f"split {split!r}", f"unknown (known: {', '.join(SPLITS)})")
    if labelled and split not in LABELLED_SPLITS:
        raise VpsError(f"split {split!r}", f"has no public labels (only {' and '.join(LABELLED_SPLITS)} have)")
    return split


def parse_splits(splits: str | Sequence[str], labelled: bool = False) -> list[str]:
    """Split names from ``"train,val"`` or a sequence, checked, without repeats, in SPLITS order;
    none at all is a ``VpsError``."""
    items = splits.split(",") if isinstance(splits, str) else list(splits)
    out = {check_split(s.strip(), labelled) for s in items if s.strip()}
    if not out:
        raise VpsError("--splits", f"no split given (known: {', '.join(SPLITS)})")
    return [s for s in SPLITS if s in out]


# --------------------------------------------------------------------------- outside formats
# How `vpskit convert` tells which frame a model's output file is for, and the names `vpskit
# export` writes.

_OUT_IMAGE_ID_RE = re.compile(rf"^(\d{{4}}_\d{{4}}_{_CITY}_\d{{6}}_\d{{6}})(?:[_.-]|$)")
_OUT_RAW_RE = re.compile(rf"^({_CITY})_(\d{{6}})_(\d{{6}})(?:[_.-]|$)")
_OUT_VIDEO_DIR_RE = re.compile(r"^\d{1,4}$")
_OUT_FRAME_RE = re.compile(r"^(\d{1,6})(?:[_.-]|$)")


class OutputName(NamedTuple):
    """The frame an output file names: exactly one of ``image_id``, ``key`` or (``video``,
    ``offset``) is set."""

    image_id: ImageId | None = None
    key: FrameKey | None = None
    video: int | None = None
    offset: int | None = None
    """0-based position in the video's 30-frame snippet."""

    def __str__(self) -> str:
        if self.image_id is not None:
            return str(self.image_id)
        if self.key is not None:
            return str(self.key)
        return f"video {self.video} frame {self.offset}"


def parse_output_name(stem: str) -> OutputName:
    """The frame a model output file names; ``stem`` is the file's relative POSIX path without
    the format's ending (such as ``_cat.png``). ``VpsError`` when no rule applies.

    The rules, tried in this order on the base name, each name followed by nothing or by ``_``,
    ``.`` or ``-`` and anything:

    1. it starts with an image id (``0001_0001_frankfurt_000000_000004_cat``);
    2. it starts with the raw Cityscapes name ``{city}_{seq:06d}_{frame:06d}``
       (``frankfurt_000000_000004_leftImg8bit``);
    3. its folder is a video number (``0001`` or ``1``) and it starts with the 0-based position
       of the frame in the video's 30-frame snippet, 0 … 29 (``0001/000004``; the annotated
       frames are 4, 9, 14, 19, 24 and 29).
    """
    parent, _, base = stem.rpartition("/")
    m = _OUT_IMAGE_ID_RE.match(base)
    if m is not None:
        return OutputName(image_id=parse_image_id(m.group(1)))
    m = _OUT_RAW_RE.match(base)
    if m is not None:
        return OutputName(key=FrameKey(m.group(1), int(m.group(2)), int(m.group(3))))
    folder = parent.rpartition("/")[2]
    m = _OUT_FRAME_RE.match(base)
    if m is not None and _OUT_VIDEO_DIR_RE.match(folder) and int(folder) > 0:
        offset = int(m.group(1))
        if offset >= FRAMES_PER_SNIPPET:
            raise VpsError(repr(stem), f"frame {offset} of video {int(folder)}: a snippet has frames "
                           f"0 … {FRAMES_PER_SNIPPET - 1}")
        return OutputName(video=int(folder), offset=offset)
    raise VpsError(repr(stem), "names no frame (expected a name starting with an image id, a raw "
                   "Cityscapes name {city}_{seq:06d}_{frame:06d}, or {video}/{frame})")


def export_file(image_id: str | ImageId, ending: str) -> str:
    """Name of an exported per-frame file: ``{image_id}{ending}`` (e.g. ``…_cat.png``)."""
    return f"{image_id}{ending}"


def coco_panoptic_json(split: str) -> str:
    """The JSON of a COCO panoptic export of ``split`` (its PNGs are in :func:`coco_panoptic_dir`)."""
    return f"panoptic_{split}.json"


def coco_panoptic_dir(split: str) -> str:
    """The folder of a COCO panoptic export's PNGs, beside its JSON (the COCO layout)."""
    return f"panoptic_{split}"
