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
    interlace: int = 0
    """0 none, 1 Adam7."""


def png_header(data: bytes, where: object) -> PngHeader:
    """The header of PNG bytes, read without decoding anything; ``VpsError`` naming ``where``
    when the bytes do not start with a PNG signature and an IHDR chunk."""
    if data[:8] != PNG_SIGNATURE:
        raise VpsError(where, "not a PNG file" if data else "empty file")
    if len(data) < 33 or data[12:16] != b"IHDR" or int.from_bytes(data[8:12], "big") != 13:
        raise VpsError(where, "corrupt PNG (no IHDR header)")
    return PngHeader(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), data[24], data[25],
                     data[28])


def png_chunks(data: bytes, where: object) -> Iterator[tuple[bytes, memoryview]]:
    """``(type, payload)`` of each chunk of PNG bytes up to IEND, each checked (signature,
    length, CRC) before it is given; ``VpsError`` naming ``where`` when the file is damaged or
    ends before IEND."""
    view = memoryview(data)
    n = len(view)
    if bytes(view[:8]) != PNG_SIGNATURE:
        raise VpsError(where, "not a PNG file" if n else "empty file")
    pos = 8
    while True:
        if pos + 12 > n:
            raise VpsError(where, "corrupt or truncated PNG (ends before IEND)")
        length = int.from_bytes(view[pos:pos + 4], "big")
        kind = bytes(view[pos + 4:pos + 8])
        end = pos + 12 + length
        if end > n:
            raise VpsError(where, "corrupt or truncated PNG (a chunk runs past the end)")
        if zlib.crc32(view[pos + 4:end - 4]) != int.from_bytes(view[end - 4:end], "big"):
            raise VpsError(where, f"corrupt PNG (bad CRC in a {kind.decode('latin-1')!r} chunk)")
        yield kind, view[pos + 8:end - 4]
        if kind == b"IEND":
            return
        pos = end


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_BIT_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _scanlines(header: PngHeader) -> list[tuple[int, int]]:
    """``(rows, bytes per row with its filter byte)`` of each pass of the image's pixel data."""
    bits = _CHANNELS[header.color_type] * header.bit_depth
    out = []
    for x0, y0, dx, dy in (_ADAM7 if header.interlace else ((0, 0, 1, 1),)):
        width = max(0, -(-(header.width - x0) // dx))
        rows = max(0, -(-(header.height - y0) // dy))
        if width and rows:
            out.append((rows, 1 + (width * bits + 7) // 8))
    return out


def check_png_pixels(data: bytes, where: object, size: tuple[int, int] | None = None) -> PngHeader:
    """Check PNG bytes whole down to their pixel data without decoding them; return the header.

    Every chunk and its CRC (:func:`png_chunks`); a header of ``size`` (:func:`check_png_size`)
    with a valid bit depth, colour type and methods; IDAT chunks holding one zlib stream that
    inflates to exactly the rows the header promises, each with a known filter type. (Pillow
    decodes a stream that ends early without a word, filling the missing rows with zeros.)
    """
    header = png_header(data, where)
    check_png_size(header, where, size)
    if (header.bit_depth not in _BIT_DEPTHS.get(header.color_type, ()) or data[26:28] != b"\0\0"
            or header.interlace not in (0, 1) or not header.width or not header.height):
        raise VpsError(where, "corrupt PNG (its header gives no valid image)")
    idat = b"".join(payload for kind, payload in png_chunks(data, where) if kind == b"IDAT")
    scanlines = _scanlines(header)
    expected = sum(rows * length for rows, length in scanlines)
    inflater = zlib.decompressobj()
    try:
        pixels = inflater.decompress(idat, expected + 1)
    except zlib.error as exc:
        raise VpsError(where, f"corrupt or truncated PNG (pixel data: {exc})") from None
    if len(pixels) != expected or not inflater.eof:
        got = "more" if len(pixels) > expected else f"{len(pixels):,}" + ("" if inflater.eof else " (unfinished)")
        raise VpsError(where, f"corrupt or truncated PNG (pixel data of {got} bytes, the header "
                       f"promises {expected:,})")
    filters = np.frombuffer(pixels, dtype=np.uint8)
    start = 0
    for rows, length in scanlines:
        bad = filters[start:start + rows * length:length] > 4
        if bad.any():
            raise VpsError(where, f"corrupt PNG (unknown filter type in pixel row {int(np.argmax(bad))})")
        start += rows * length
    return header


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
    return _png_bytes(img, compress_level)


def encode_ids_png(ids: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """The 8-bit RGB PNG of (H, W) segment ids (below 2**24): the bytes of
    ``encode_png(id2rgb(ids))``, made without building the RGB array."""
    ids = np.ascontiguousarray(ids, dtype="<u4")
    if ids.ndim != 2:
        raise ValueError(f"expected an (H, W) array of segment ids, got shape {ids.shape}")
    if ids.size and int(ids.max()) >= 1 << 24:
        raise ValueError("segment ids must lie in 0 … 2**24-1")
    img = Image.frombytes("RGB", (ids.shape[1], ids.shape[0]), memoryview(ids).cast("B"), "raw", "RGBX")
    return _png_bytes(img, compress_level)


def _png_bytes(img: Image.Image, compress_level: int) -> bytes:
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
