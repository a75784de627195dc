"""PNG bytes <-> arrays: headers and chunks, the pixel-data check, decoding, encoding.

Decoding takes the first of three readers that accepts the PNG; all give the pixels Pillow gives.

- vpskit's own reader (:func:`read_plain`): PNGs that are not interlaced, 8-bit gray, RGB or
  RGBA or 16-bit gray, every row filtered with None or Up, which is every PNG vpskit writes. The
  pixel data is inflated with zlib-ng and each Up row is one numpy addition.
- pyspng (libspng, :func:`read_spng`), where it is installed: the other non-interlaced 8-bit
  gray, RGB and RGBA PNGs (rows filtered with Sub, Average or Paeth, as most writers do).
- Pillow (:func:`read_pillow`): everything else (palette, 16-bit colour, fewer than 8 bits a
  sample, gray + alpha, interlaced), and every PNG where pyspng is missing.

Encoding filters every row but the first with Up and deflates the rows as one IDAT chunk with
zlib-ng at :data:`PNG_COMPRESS_LEVEL`: deterministic, and several times faster than Pillow's
adaptive filters with zlib (the label images vpskit writes come out no larger).
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .errors import VpsError
from .memory import keep_freed_blocks

try:  # zlib-ng: the zlib module's interface, several times faster both ways
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - a platform without zlib-ng's wheels
    _zlib = zlib  # type: ignore[no-redef]

if TYPE_CHECKING:
    from PIL import Image

PNG_COMPRESS_LEVEL = 6
"""Deflate level of every PNG vpskit writes (fixed, so output bytes are reproducible)."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAX_PIXELS = 1 << 25
"""Largest image vpskit decodes: 33.5 million pixels, 16 times a 2048x1024 Cityscapes frame.
Below Pillow's decompression-bomb threshold, so Pillow never warns about an image vpskit decodes."""

ID_MASK = np.uint32(0xFFFFFF)
"""The 24 bits of a segment id (R + 256 G + 256² B)."""

_ZLIB_ERRORS = (zlib.error, _zlib.error)

keep_freed_blocks()  # image-sized buffers are reused from one PNG to the next (see vpskit.memory)


# --------------------------------------------------------------------------- structure


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
        if _zlib.crc32(view[pos + 4:end - 4]) != int.from_bytes(view[end - 4:end], "big"):
            raise VpsError(where, f"corrupt or truncated PNG (bad CRC in a {kind.decode('latin-1')!r} chunk)")
        yield kind, view[pos + 8:end - 4]
        if kind == b"IEND":
            return
        pos = end


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


_KEPT_BYTES = 1 << 25
"""Work buffers up to this size are kept for the next PNG of the same thread: every new
image-sized buffer costs a page fault per 4 KiB, which on virtual machines costs as much as
inflating the PNG."""

_kept = threading.local()


def work_buffer(nbytes: int, name: str = "pixels") -> np.ndarray:
    """A uint8 array of ``nbytes`` that this thread's next call with the same ``name`` reuses
    (so its content lives until then); a fresh one above :data:`_KEPT_BYTES`."""
    if nbytes > _KEPT_BYTES:
        return np.empty(nbytes, dtype=np.uint8)
    buf = getattr(_kept, name, None)
    if buf is None or buf.size < nbytes:
        buf = np.empty(max(nbytes, 1 << 16), dtype=np.uint8)
        setattr(_kept, name, buf)
    return buf[:nbytes]


_PIECE = 1 << 18
"""Bytes inflated at a time into the work buffer (small pieces are recycled by the allocator)."""


def _inflate(data: bytes, where: object, expected: int, head: int = 0,
             accept: Callable[[np.ndarray], bool] | None = None) -> np.ndarray | None:
    """The pixel data of PNG bytes in this thread's work buffer (see :func:`work_buffer`), plus
    one spare byte: its IDAT chunks (each checked, see :func:`png_chunks`) as one zlib stream
    that inflates to exactly ``expected`` bytes, else ``VpsError``.

    With ``accept``, the first ``head`` bytes are inflated first and handed to it; None is
    returned at once when it refuses them (the rest is then never inflated).
    """
    rest = b"".join(payload for kind, payload in png_chunks(data, where) if kind == b"IDAT")
    out = work_buffer(expected + 1)
    out[-1] = 0
    inflater = _zlib.decompressobj()
    pos = 0
    try:
        while pos <= expected:
            piece = inflater.decompress(rest, min(_PIECE, expected + 1 - pos, head or _PIECE))
            out[pos:pos + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
            pos += len(piece)
            if head:
                head = 0
                if accept is not None and pos < expected and not accept(out[:pos]):
                    return None
            rest = inflater.unconsumed_tail
            if inflater.eof or not (piece or rest):
                break
    except _ZLIB_ERRORS as exc:
        raise VpsError(where, f"corrupt or truncated PNG (pixel data: {exc})") from None
    if pos != expected or not inflater.eof:
        got = "more" if pos > expected else f"{pos:,}" + ("" if inflater.eof else " (unfinished)")
        raise VpsError(where, f"corrupt or truncated PNG (pixel data of {got} bytes, the header "
                       f"promises {expected:,})")
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
    scanlines = _scanlines(header)
    filters = _inflate(data, where, sum(rows * length for rows, length in scanlines))
    assert filters is not None
    start = 0
    for rows, length in scanlines:
        bad = filters[start:start + rows * length:length] > 4
        if bad.any():
            raise VpsError(where, f"corrupt PNG (unknown filter type in pixel row {int(np.argmax(bad))})")
        start += rows * length
    return header


# --------------------------------------------------------------------------- readers

_PLAIN_BYTES = {(8, 0): 1, (16, 0): 2, (8, 2): 3, (8, 6): 4}
"""Bytes a pixel of each ``(bit depth, colour type)`` :func:`read_plain` reads."""

_HEAD_ROWS = 16
"""Rows :func:`read_plain` inflates before it decides whether the PNG is one it reads."""


def _none_or_up(filters: bytes | np.ndarray) -> bool:
    return not (set(bytes(filters)) - {0, 2})


def _undo_up(pixels: np.ndarray, up: np.ndarray) -> None:
    """Undo the Up filter in place on the rows of ``pixels`` that ``up`` marks (the others are
    filtered with None, as the first row always is in effect).

    When every row is Up, rows are added up a block of about sqrt(H) rows at a time, all
    blocks at once, and then each block gets the sum of the blocks above it: some 2 sqrt(H)
    numpy additions instead of H."""
    h = pixels.shape[0]
    start = 1
    if h >= 64 and up[1:].all():
        k = int(h ** 0.5)
        n = h // k
        blocks = pixels[:n * k].reshape(n, k, -1)
        for i in range(1, k):
            np.add(blocks[:, i - 1], blocks[:, i], out=blocks[:, i])
        carry = blocks[:, -1].copy()
        for b in range(1, n):
            np.add(carry[b - 1], carry[b], out=carry[b])
        np.add(blocks[1:], carry[:-1, None], out=blocks[1:])
        start = n * k
    for y in (np.flatnonzero(up[start:]) + start).tolist():
        if y:
            np.add(pixels[y - 1], pixels[y], out=pixels[y])


def read_plain(data: bytes, header: PngHeader, where: object, ids: bool = False,
               out: np.ndarray | None = None) -> np.ndarray | None:
    """vpskit's own reader: the pixels of a PNG whose rows are all filtered with None or Up
    (not interlaced; 8-bit gray, RGB or RGBA, or 16-bit gray), or None for any other PNG.

    Gives what :func:`decode_png` gives, or with ``ids`` the segment ids of an RGB or RGBA PNG
    (see :func:`decode_ids`), written into ``out`` when given. A damaged pixel stream raises
    ``VpsError`` naming ``where``.
    """
    step = _PLAIN_BYTES.get((header.bit_depth, header.color_type))
    if step is None or header.interlace or (ids and header.color_type not in (2, 6)):
        return None
    h, w = header.height, header.width
    length = 1 + w * step
    raw = _inflate(data, where, h * length, _HEAD_ROWS * length, lambda head: _none_or_up(head[::length]))
    if raw is None:
        return None
    rows = raw[:-1].reshape(h, length)
    filters = rows[:, 0].tolist()
    if not _none_or_up(filters):
        return None
    pixels = rows[:, 1:]
    _undo_up(pixels, rows[:, 0] == 2)
    if ids:
        # each pixel's bytes, and the byte after them, read as one little-endian word
        words = np.ndarray((h, w), dtype="<u4", buffer=raw, offset=1, strides=(length, step))
        return np.bitwise_and(words, ID_MASK, out=out, dtype=np.uint32)
    if step == 2:
        return pixels.view(">u2").astype(np.uint16)
    return pixels.copy() if step == 1 else pixels.reshape(h, w, step).copy()


_SPNG_FORMATS = {0: "L", 2: "RGB", 6: "RGBA"}
_spng: object = None


def read_spng(data: bytes, header: PngHeader, where: object, ids: bool = False,
              out: np.ndarray | None = None) -> np.ndarray | None:
    """pyspng's reader: the pixels of a non-interlaced 8-bit gray, RGB or RGBA PNG, or None for
    another PNG or when pyspng is not installed. See :func:`read_plain` for ``ids``."""
    global _spng
    fmt = _SPNG_FORMATS.get(header.color_type)
    if fmt is None or header.bit_depth != 8 or header.interlace or (ids and fmt == "L"):
        return None
    if _spng is None:
        try:
            import pyspng
        except ImportError:
            pyspng = False
        _spng = pyspng
    if _spng is False:
        return None
    try:
        arr = _spng.load(bytes(data), format="RGBA" if ids else fmt)  # type: ignore[attr-defined]
    except (RuntimeError, ValueError) as exc:
        raise VpsError(where, f"corrupt or truncated PNG ({exc})") from None
    if ids:
        return np.bitwise_and(arr.view("<u4")[..., 0], ID_MASK, out=out)
    return arr


@contextmanager
def open_png(data: bytes, where: object, size: tuple[int, int] | None = None,
             of: str = "the expected") -> Iterator[Image.Image]:
    """PNG bytes opened with Pillow, after their header has passed :func:`check_png_size` (so no
    decompression bomb is ever decoded). Call ``load()`` inside; Pillow's failures to decode
    become ``VpsError`` naming ``where``."""
    from PIL import Image

    check_png_size(png_header(data, where), where, size, of)
    try:
        with Image.open(io.BytesIO(data), formats=("PNG",)) as img:
            yield img
    except VpsError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, *_ZLIB_ERRORS, Image.DecompressionBombError) as exc:
        raise VpsError(where, f"corrupt or truncated PNG ({exc})") from None


def read_pillow(data: bytes, header: PngHeader, where: object, ids: bool = False,
                out: np.ndarray | None = None) -> np.ndarray:
    """Pillow's reader: the pixels of any PNG (see :func:`decode_png` and, for ``ids``,
    :func:`decode_ids`); ``VpsError`` for a mode vpskit has no use for."""
    with open_png(data, where) as img:
        img.load()
        mode = img.mode
        if ids:
            if mode in ("P", "PA"):
                return np.bitwise_and(rgb2id(np.asarray(img.convert("RGB"))), ID_MASK, out=out)
            if mode not in ("RGB", "RGBA"):
                raise VpsError(where, f"expected an RGB panoptic PNG, found mode {mode}")
            w, h = img.size
            pixels = img.tobytes("raw", "RGBX" if mode == "RGB" else "RGBA")
            return np.bitwise_and(np.frombuffer(pixels, dtype="<u4").reshape(h, w), ID_MASK, out=out)
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


READERS = (read_plain, read_spng, read_pillow)
"""The readers :func:`decode_png` and :func:`decode_ids` try, in this order."""


def _decode(data: bytes, where: object, size: tuple[int, int] | None, of: str, ids: bool,
            reuse: bool = False) -> np.ndarray:
    header = png_header(data, where)
    check_png_size(header, where, size, of)
    out = None
    if ids:
        if header.bit_depth == 16:
            raise VpsError(where, "16 bits per channel: a panoptic PNG has 8-bit RGB colours")
        if reuse:
            out = work_buffer(4 * header.width * header.height, "ids").view(np.uint32).reshape(
                header.height, header.width)
    for reader in READERS:
        arr = reader(data, header, where, ids, out)
        if arr is not None:
            return arr
    raise AssertionError("read_pillow reads every PNG")  # pragma: no cover


def decode_png(data: bytes, where: object = "PNG", size: tuple[int, int] | None = None,
               of: str = "the expected") -> np.ndarray:
    """Decode PNG bytes into an array.

    RGB -> (H, W, 3) uint8; RGBA -> (H, W, 4) uint8; 8-bit gray or palette -> (H, W) uint8
    (palette images give their indices); 16-bit gray -> (H, W) uint16.
    A corrupt or truncated file, or one of another size than ``size`` (``(width, height)``; see
    :func:`check_png_size`), raises ``VpsError`` naming ``where``.
    """
    return _decode(data, where, size, of, ids=False)


def decode_ids(data: bytes, where: object, size: tuple[int, int] | None = None,
               of: str = "the expected", reuse: bool = False) -> np.ndarray:
    """Segment ids (H, W) uint32 of a panoptic PNG (RGB, RGBA or palette; id = R + 256 G + 256² B).

    ``size`` (``(width, height)``) is checked against the PNG's header before anything is
    decoded (the message says ``size WxH differs from {of} wxh``). ``reuse``: the ids go to a
    buffer of this thread that its next ``decode_ids(reuse=True)`` overwrites (for a loop that
    is done with each image before it decodes the next).
    """
    return _decode(data, where, size, of, ids=True, reuse=reuse)


# --------------------------------------------------------------------------- ids <-> RGB


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """Segment ids ``R + 256*G + 256**2*B`` of an (H, W, 3+) uint8 image, as uint32."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an (H, W, 3) array, got shape {rgb.shape}")
    out = np.zeros(rgb.shape[:2], dtype="<u4")
    channels = out.view(np.uint8).reshape(*rgb.shape[:2], 4)
    for c in range(3):  # one channel at a time: numpy copies a strided channel fast, a pixel slowly
        channels[..., c] = rgb[..., c]
    return out.astype(np.uint32, copy=False)


def id2rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image of segment ids (inverse of :func:`rgb2id`, ids < 2**24)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 24):
        raise ValueError("segment ids must lie in 0 … 2**24-1")
    words = np.ascontiguousarray(ids, dtype="<u4")
    channels = words.view(np.uint8).reshape(*words.shape, 4)
    out = np.empty((*ids.shape, 3), dtype=np.uint8)
    for c in range(3):
        out[..., c] = channels[..., c]
    return out


# --------------------------------------------------------------------------- encoding


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (len(payload).to_bytes(4, "big") + kind + payload
            + _zlib.crc32(payload, _zlib.crc32(kind)).to_bytes(4, "big"))


def _png_bytes(rows: np.ndarray, width: int, bit_depth: int, color_type: int, compress_level: int) -> bytes:
    """A PNG of ``rows`` ((H, bytes a row) uint8, as the PNG stores them): Up filter on every row
    but the first (None), one IDAT chunk."""
    h, n = rows.shape
    if not h or not width:
        raise ValueError("cannot encode an empty image as PNG")
    filtered = np.empty((h, n + 1), dtype=np.uint8)
    filtered[0, 0] = 0
    filtered[1:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    ihdr = (width.to_bytes(4, "big") + h.to_bytes(4, "big")
            + bytes((bit_depth, color_type, 0, 0, 0)))
    return (PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", _zlib.compress(filtered, compress_level))
            + _chunk(b"IEND", b""))


def encode_png(arr: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an array as PNG bytes with fixed settings.

    (H, W, 3) uint8 -> RGB; (H, W, 4) uint8 -> RGBA; (H, W) uint8 -> 8-bit gray;
    (H, W) uint16 -> 16-bit gray. Other dtypes are refused (cast explicitly first).
    ``compress_level`` is the deflate level (0…9; the default is :data:`PNG_COMPRESS_LEVEL`).
    """
    arr = np.asarray(arr)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (3, 4):
        color_type = 2 if arr.shape[2] == 3 else 6
        return _png_bytes(np.ascontiguousarray(arr).reshape(arr.shape[0], -1), arr.shape[1], 8, color_type,
                          compress_level)
    if arr.dtype == np.uint8 and arr.ndim == 2:
        return _png_bytes(np.ascontiguousarray(arr), arr.shape[1], 8, 0, compress_level)
    if arr.dtype == np.uint16 and arr.ndim == 2:
        rows = np.ascontiguousarray(arr, dtype=">u2").view(np.uint8)
        return _png_bytes(rows, arr.shape[1], 16, 0, compress_level)
    raise ValueError(f"cannot encode an array of dtype {arr.dtype} and shape {arr.shape} as PNG")


def encode_ids_png(ids: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """The 8-bit RGB PNG of (H, W) segment ids (below 2**24): the bytes of
    ``encode_png(id2rgb(ids))``."""
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"expected an (H, W) array of segment ids, got shape {ids.shape}")
    return encode_png(id2rgb(ids), compress_level)
