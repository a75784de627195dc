"""PNG decode/encode for the label and image modes of Cityscapes-VPS, ids <-> RGB, atomic writes,
and the one reader of input files (regular files only, bounded by what the file must be)."""

from __future__ import annotations

import io
import os
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from .errors import VpsError

PNG_COMPRESS_LEVEL = 6
"""zlib level of every PNG vpskit writes (fixed, so output bytes are reproducible)."""

PART_SUFFIX = ".part"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAX_PIXELS = 1 << 25
"""Largest image vpskit decodes: 33.5 million pixels, 16 times a 2048x1024 Cityscapes frame.
Below Pillow's decompression-bomb threshold, so Pillow never warns about an image vpskit decodes."""

_PNG_SLACK = 1 << 20
"""Bytes a PNG may spend beyond its pixels: chunk headers, zlib overhead, text, an ICC profile."""


@dataclass(frozen=True)
class Limit:
    """The most bytes a read may return, and what the file is expected to be (for the message)."""

    max_bytes: int
    what: str


def png_limit(width: int | None = None, height: int | None = None) -> Limit:
    """How large a PNG of ``width`` x ``height`` can be (of up to :data:`MAX_PIXELS` when unknown).

    8 bytes a pixel (RGBA at 16 bits a channel, the widest PNG pixel, stored uncompressed), a
    filter byte a row, and 1 MiB for everything else.
    """
    if width is None or height is None:
        return Limit(9 * MAX_PIXELS + _PNG_SLACK, f"a PNG of up to {MAX_PIXELS:,} pixels")
    return Limit(8 * width * height + height + _PNG_SLACK, f"a {width}x{height} PNG")


ANY_FILE = Limit(png_limit().max_bytes, "a file vpskit reads")
"""The bound of a read whose expected size is not known (that of the largest PNG vpskit decodes)."""


class PngHeader(NamedTuple):
    """The IHDR fields of a PNG that decide what decoding it costs and gives."""

    width: int
    height: int
    bit_depth: int
    color_type: int
    """0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA."""


def png_header(data: bytes, where: object) -> PngHeader:
    """The header of PNG bytes, read without decoding anything; ``VpsError`` naming ``where``
    when the bytes do not start with a PNG signature and an IHDR chunk."""
    if data[:8] != PNG_SIGNATURE:
        raise VpsError(where, "not a PNG file" if data else "empty file")
    if len(data) < 33 or data[12:16] != b"IHDR" or int.from_bytes(data[8:12], "big") != 13:
        raise VpsError(where, "corrupt PNG (no IHDR header)")
    return PngHeader(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), data[24], data[25])


def check_png_size(header: PngHeader, where: object, size: tuple[int, int] | None = None,
                   of: str = "the expected") -> None:
    """Refuse a PNG whose header gives another size than ``size`` (``(width, height)``;
    the message says ``size WxH differs from {of} wxh``), or, without ``size``, more pixels
    than :data:`MAX_PIXELS`. Meant to run before the pixels are decoded."""
    w, h = header.width, header.height
    if size is not None:
        if (w, h) != tuple(size):
            raise VpsError(where, f"size {w}x{h} differs from {of} {size[0]}x{size[1]}")
    elif w * h > MAX_PIXELS:
        raise VpsError(where, f"image is {w}x{h}, more than the {MAX_PIXELS:,} pixels vpskit decodes")


@contextmanager
def open_png(data: bytes, where: object, size: tuple[int, int] | None = None,
             of: str = "the expected") -> Iterator[Image.Image]:
    """PNG bytes opened with Pillow, after their header has passed :func:`check_png_size` (so no
    decompression bomb is ever decoded). Call ``load()`` inside; Pillow's failures to decode
    become ``VpsError`` naming ``where``."""
    check_png_size(png_header(data, where), where, size, of)
    try:
        with Image.open(io.BytesIO(data), formats=("PNG",)) as img:
            yield img
    except VpsError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error, Image.DecompressionBombError) as exc:
        raise VpsError(where, f"corrupt or truncated PNG ({exc})") from None


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """Segment ids ``R + 256*G + 256**2*B`` of an (H, W, 3+) uint8 image, as uint32."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an (H, W, 3) array, got shape {rgb.shape}")
    r = rgb[..., 0].astype(np.uint32)
    g = rgb[..., 1].astype(np.uint32)
    b = rgb[..., 2].astype(np.uint32)
    return r | (g << 8) | (b << 16)


def id2rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image of segment ids (inverse of :func:`rgb2id`, ids < 2**24)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 24):
        raise ValueError("segment ids must lie in 0 … 2**24-1")
    ids = ids.astype(np.uint32)
    out = np.empty((*ids.shape, 3), dtype=np.uint8)
    out[..., 0] = ids & 0xFF
    out[..., 1] = (ids >> 8) & 0xFF
    out[..., 2] = (ids >> 16) & 0xFF
    return out


def decode_png(data: bytes, where: object = "PNG", size: tuple[int, int] | None = None,
               of: str = "the expected") -> np.ndarray:
    """Decode PNG bytes into an array.

    RGB -> (H, W, 3) uint8; RGBA -> (H, W, 4) uint8; 8-bit gray or palette -> (H, W) uint8
    (palette images give their indices); 16-bit gray -> (H, W) uint16.
    A corrupt or truncated file, or one of another size than ``size`` (``(width, height)``; see
    :func:`check_png_size`), raises ``VpsError`` naming ``where``.
    """
    with open_png(data, where, size, of) as img:
        img.load()
        mode = img.mode
        if mode in ("I;16", "I;16B", "I;16L"):
            return np.array(img, dtype=np.uint16)
        if mode == "I":
            arr = np.array(img)
            if arr.size and (arr.min() < 0 or arr.max() > 0xFFFF):
                raise VpsError(where, "32-bit PNG values out of the 16-bit range")
            return arr.astype(np.uint16)
        if mode in ("RGB", "RGBA", "L", "P"):
            return np.array(img)
        if mode == "LA":
            return np.array(img)[..., 0]
        if mode == "1":
            return np.array(img, dtype=np.uint8)
        raise VpsError(where, f"unsupported PNG mode {mode}")


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _not_regular(path: Path, mode: int) -> VpsError:
    kind = next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")
    link = f", reached through a symbolic link to {os.path.realpath(path)}" if path.is_symlink() else ""
    return VpsError(path, f"not a regular file ({kind}{link})")


def read_file(path: str | os.PathLike, missing: str = "file not found", limit: Limit = ANY_FILE) -> bytes:
    """Bytes of a regular file of at most ``limit.max_bytes``; ``VpsError`` naming it when it is
    missing (message ``missing``), unreadable, larger, or not a regular file (a named pipe, a
    device, a folder, or a symbolic link to one), which is never opened for reading."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        # O_NONBLOCK: should the path become a named pipe after the check, opening it does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise VpsError(path, missing) from None
    except OSError as exc:
        raise VpsError(path, f"cannot read ({exc.strerror})") from None
    with open(fd, "rb") as fh:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _not_regular(path, info.st_mode)
            size = info.st_size
            data = fh.read(limit.max_bytes + 1) if size <= limit.max_bytes else b""
        except OSError as exc:
            raise VpsError(path, f"cannot read ({exc.strerror})") from None
    check_limit(size, limit, path)
    check_limit(len(data), limit, path, exact=False)  # grew while being read
    return data


def check_limit(size: int, limit: Limit, where: object, exact: bool = True) -> None:
    """Refuse ``size`` bytes beyond ``limit`` with one line naming ``where`` (``exact``: ``size``
    is the whole size, not where reading stopped)."""
    if size > limit.max_bytes:
        got = f"{size:,} bytes" if exact else f"over {limit.max_bytes:,} bytes"
        raise VpsError(where, f"{got}, but {limit.what} takes at most {limit.max_bytes:,}")


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG file (see :func:`decode_png`)."""
    return decode_png(read_file(path), path)


def encode_png(arr: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an array as PNG bytes with fixed settings.

    (H, W, 3) uint8 -> RGB; (H, W, 4) uint8 -> RGBA; (H, W) uint8 -> 8-bit gray;
    (H, W) uint16 -> 16-bit gray. Other dtypes are refused (cast explicitly first).
    ``compress_level`` is the zlib level (0…9; the default is :data:`PNG_COMPRESS_LEVEL`).
    """
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (3, 4):
        img = Image.fromarray(arr, "RGB" if arr.shape[2] == 3 else "RGBA")
    elif arr.dtype == np.uint8 and arr.ndim == 2:
        img = Image.fromarray(arr, "L")
    elif arr.dtype == np.uint16 and arr.ndim == 2:
        img = Image.frombuffer("I;16", (arr.shape[1], arr.shape[0]), arr.astype("<u2").tobytes(), "raw", "I;16", 0, 1)
    else:
        raise ValueError(f"cannot encode an array of dtype {arr.dtype} and shape {arr.shape} as PNG")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def part_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name("." + path.name + PART_SUFFIX)


def write_failed(path: str | os.PathLike, exc: OSError) -> VpsError:
    """The error of writing ``path`` that failed with ``exc`` (a full disk, no permission, …)."""
    return VpsError(path, f"cannot write ({exc.strerror or exc})")


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[Path]:
    """Give the temporary name to write ``path`` under (its folder is created); when the block
    ends, rename it to ``path``.

    Whatever stops the block removes the temporary file, and an ``OSError`` (say, a full disk)
    becomes a ``VpsError`` naming ``path``: ``path`` itself is never left half written.
    """
    path = Path(path)
    tmp = part_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_failed(path, exc) from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary name in the same folder, then rename
    (see :func:`writing`: a failure names ``path`` and leaves no temporary file)."""
    with writing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_png(path: str | os.PathLike, arr: np.ndarray,
              compress_level: int = PNG_COMPRESS_LEVEL) -> None:
    """Encode ``arr`` (see :func:`encode_png`) and write it atomically."""
    atomic_write_bytes(path, encode_png(arr, compress_level=compress_level))
