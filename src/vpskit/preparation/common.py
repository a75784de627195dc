"""Shared pieces of the preparation stages: release JSON reading, PNG structure checks, output
folders, stale temporary files and file placement (copy or link)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import VpsError
from ..jsonfields import MAX_IMAGE_SIDE, int_field, need_list, need_object, read_json, str_field
from ..naming import (
    FrameKey,
    ImageId,
    image_id_of_file,
    parse_frame_file,
    safe_relpath,
)
from ..pngio import PART_SUFFIX, atomic_write_bytes, png_chunks, writing

LINK_MODES = ("copy", "hardlink", "symlink")

K = TypeVar("K")


# -- JSON --------------------------------------------------------------------------------
def _size_field(entry: dict, key: str, where: str) -> int | None:
    if entry.get(key) is None:
        return None
    return int_field(entry, key, where, lo=1, hi=MAX_IMAGE_SIDE)


def json_images(path: str | os.PathLike, doc: object = None) -> list[dict]:
    """The ``images`` list of a release JSON (``doc``: its parsed content, when read already;
    ``path`` then names it), each entry checked to be an object."""
    path = Path(path)
    doc = need_object(read_json(path) if doc is None else doc, path, "the file")
    images = need_list(doc, "images", path)
    assert images is not None
    for i, entry in enumerate(images):
        need_object(entry, path, f"images[{i}]")
    return images


@dataclass(frozen=True)
class AnnotatedFrame:
    """One annotated frame listed in ``panoptic_im_{split}_city_vps.json``."""

    iid: ImageId
    file_name: str
    width: int | None
    height: int | None

    @property
    def image_id(self) -> str:
        """The image id as text."""
        return str(self.iid)


@dataclass(frozen=True)
class RawFrame:
    """One frame listed in ``im_all_info_{split}_city_vps.json``."""

    key: FrameKey
    file_name: str
    width: int | None
    height: int | None


def _safe_bare_name(entry: dict, where: str) -> str:
    name = safe_relpath(str_field(entry, "file_name", where), where)
    if "/" in name:
        raise VpsError(where, f"file name {name!r} must be a plain file name, not a path")
    return name


def _listed_images(path: Path, parse: Callable[[str], K], what: str,
                   doc: object = None) -> dict[K, tuple[str, int | None, int | None]]:
    """``images`` of a release JSON: key parsed from each safe ``file_name`` -> (name, width, height),
    sorted by key; a name that does not parse, a key listed twice, or a width or height that is
    not an integer in 1 … 65536 (null: not given) raises ``VpsError``."""
    out: dict[K, tuple[str, int | None, int | None]] = {}
    for i, entry in enumerate(json_images(path, doc)):
        where = f"{path}: images[{i}]"
        name = _safe_bare_name(entry, where)
        try:
            key = parse(name)
        except VpsError as exc:
            raise VpsError(where, str(exc)) from None
        if key in out:
            raise VpsError(where, f"{what} {key} is listed twice")
        out[key] = (name, _size_field(entry, "width", where), _size_field(entry, "height", where))
    return dict(sorted(out.items()))


def annotated_frames(path: str | os.PathLike, doc: object = None) -> list[AnnotatedFrame]:
    """The annotated frames of a ``panoptic_im`` JSON (``doc``: its parsed content, when read
    already), in image-id order.

    Every ``file_name`` is checked (safe, a Cityscapes-VPS image id) before anything is written.
    """
    listed = _listed_images(Path(path), image_id_of_file, "image id", doc)
    return [AnnotatedFrame(iid, *rest) for iid, rest in listed.items()]


def raw_frames(path: str | os.PathLike, doc: object = None) -> list[RawFrame]:
    """The frames of an ``im_all_info`` JSON (``doc``: its parsed content, when read already),
    sorted by city, sequence and frame."""
    listed = _listed_images(Path(path), parse_frame_file, "frame", doc)
    return [RawFrame(key, *rest) for key, rest in listed.items()]


def group_by_video(frames: Iterable[AnnotatedFrame]) -> dict[int, list[AnnotatedFrame]]:
    """Annotated frames grouped by video (sorted videos, frames in image-id order)."""
    groups: dict[int, list[AnnotatedFrame]] = {}
    for f in sorted(frames, key=lambda f: f.iid):
        groups.setdefault(f.iid.video, []).append(f)
    return dict(sorted(groups.items()))


def files_by_image_id(folder: Path) -> dict[ImageId, list[str]]:
    """Files of ``folder`` whose names start with an image id, grouped by that id.

    Hidden files (such as temporary ``.part`` files) and names without an image id are ignored.
    """
    out: dict[ImageId, list[str]] = {}
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return out
    for name in names:
        if name.startswith("."):
            continue
        try:
            iid = image_id_of_file(name)
        except VpsError:
            continue
        out.setdefault(iid, []).append(name)
    return out


# -- PNG structure -----------------------------------------------------------------------
def png_size(data: bytes, where: object) -> tuple[int, int]:
    """``(width, height)`` of PNG bytes after checking their structure.

    Checks the signature, that IHDR comes first, every chunk's length and CRC, and that IEND
    closes the file (:func:`vpskit.pngio.png_chunks`), without decompressing the pixels: a
    truncated or damaged file raises ``VpsError`` naming ``where``.
    """
    size: tuple[int, int] | None = None
    for kind, payload in png_chunks(data, where):
        if size is None:
            if kind != b"IHDR" or len(payload) < 8:
                raise VpsError(where, "corrupt PNG (no IHDR header)")
            size = (int.from_bytes(payload[0:4], "big"), int.from_bytes(payload[4:8], "big"))
    assert size is not None
    return size


def check_size(size: tuple[int, int], width: int | None, height: int | None, where: object) -> None:
    """Raise ``VpsError`` when a PNG's size differs from the size its JSON entry gives."""
    w, h = size
    if (width is not None and width != w) or (height is not None and height != h):
        raise VpsError(where, f"image is {w}x{h} but the JSON says {width}x{height}")


# -- output folders ----------------------------------------------------------------------
def output_dir(root: Path, split: str, name: str) -> Path:
    """``ROOT/{split}/{name}``."""
    return Path(root) / split / name


def clean_parts(folders: Iterable[Path]) -> int:
    """Delete stale ``.*.part`` files (left by an interrupted run) in ``folders``; return how many."""
    removed = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith(".") and name.endswith(PART_SUFFIX):
                try:
                    os.unlink(Path(folder) / name)
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def place_file(dst: Path, data: bytes | None, src_path: Path | None, link: str) -> None:
    """Put a source file at ``dst`` atomically: copy ``data``, or hard/soft link ``src_path``.

    Linking needs a file on disk (``src_path``); for a zip member, or when a hard link is not
    possible (another file system), the bytes are copied. A failure raises ``VpsError`` naming
    ``dst`` and leaves no temporary file.
    """
    if link != "copy" and src_path is not None:
        try:
            with writing(dst) as tmp:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                if link == "symlink":
                    os.symlink(os.path.abspath(src_path), tmp)
                else:
                    os.link(src_path, tmp)
            return
        except VpsError:
            if link == "symlink":
                raise
    if data is None:
        raise ValueError("no bytes to copy")
    atomic_write_bytes(dst, data)
