"""PNG bytes -> arrays: the readers, and segment ids <-> RGB.

Decoding takes the first of three readers that accepts the PNG; all give the pixels Pillow gives.

- vpskit's own reader (:func:`read_plain`): PNGs that are not interlaced, 8-bit gray, RGB or
  RGBA or 16-bit gray, every row filtered with None or Up, which is every PNG vpskit writes. The
  pixel data is inflated with zlib-ng and the Up rows are added up with numpy.
- pyspng (libspng, :func:`read_spng`), where it is installed: the other non-interlaced 8-bit
  gray, RGB and RGBA PNGs (rows filtered with Sub, Average or Paeth, as most writers do).
- Pillow (:func:`read_pillow`): everything else (palette, 16-bit colour, fewer than 8 bits a
  sample, gray + alpha, interlaced), and every PNG where pyspng is missing.

The PNG structure (header, chunks, inflate, checks) is in :mod:`vpskit.pngformat`, encoding in
:mod:`vpskit.pngencode`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from .errors import VpsError
from .pngformat import (
    ZLIB_ERRORS,
    PixelStream,
    PngHeader,
    check_png_size,
    inflate,
    png_header,
    work_buffer,
)

if TYPE_CHECKING:
    from PIL import Image

ID_MASK = np.uint32(0xFFFFFF)
"""The 24 bits of a segment id (R + 256 G + 256² B)."""

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
               out: np.ndarray | None = None, exact: bool = True) -> np.ndarray | None:
    """vpskit's own reader: the pixels of a PNG whose rows are all filtered with None or Up
    (not interlaced; 8-bit gray, RGB or RGBA, or 16-bit gray), or None for any other PNG.

    Gives what :func:`decode_png` gives, or with ``ids`` the segment ids of an RGB or RGBA PNG
    (see :func:`decode_ids`), written into ``out`` when given; with ``exact`` False, the top
    byte of each id is left as the next byte of the row, and 16-bit gray comes in the PNG's
    byte order (``>u2``). A damaged pixel stream raises ``VpsError`` naming ``where``.
    """
    step = _PLAIN_BYTES.get((header.bit_depth, header.color_type))
    if step is None or header.interlace or (ids and header.color_type not in (2, 6)):
        return None
    h, w = header.height, header.width
    length = 1 + w * step
    raw = inflate(data, where, h * length, _HEAD_ROWS * length, lambda head: _none_or_up(head[::length]))
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
        if not exact:  # a copy is cheaper than the masking
            if out is None:
                return words.astype(np.uint32)
            np.copyto(out, words)
            return out
        return np.bitwise_and(words, ID_MASK, out=out, dtype=np.uint32)
    if step == 2:
        return pixels.view(">u2").astype(np.uint16) if exact else np.ascontiguousarray(pixels).view(">u2")
    return pixels.copy() if step == 1 else pixels.reshape(h, w, step).copy()


_SPNG_FORMATS = {0: "L", 2: "RGB", 6: "RGBA"}
_spng: object = None


def read_spng(data: bytes, header: PngHeader, where: object, ids: bool = False,
              out: np.ndarray | None = None, exact: bool = True) -> np.ndarray | None:
    """pyspng's reader: the pixels of a non-interlaced 8-bit gray, RGB or RGBA PNG, or None for
    another PNG or when pyspng is not installed. See :func:`read_plain` for ``ids`` (the ids are
    always exact)."""
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
    except (OSError, SyntaxError, ValueError, EOFError, *ZLIB_ERRORS, Image.DecompressionBombError) as exc:
        raise VpsError(where, f"corrupt or truncated PNG ({exc})") from None


def read_pillow(data: bytes, header: PngHeader, where: object, ids: bool = False,
                out: np.ndarray | None = None, exact: bool = True) -> np.ndarray:
    """Pillow's reader: the pixels of any PNG (see :func:`decode_png` and, for ``ids``,
    :func:`decode_ids`; the ids are always exact); ``VpsError`` for a mode vpskit has no use for."""
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
            reuse: bool | str = False, exact: bool = True) -> np.ndarray:
    header = png_header(data, where)
    check_png_size(header, where, size, of)
    out = None
    if ids:
        if header.bit_depth == 16:
            raise VpsError(where, "16 bits per channel: a panoptic PNG has 8-bit RGB colours")
        if reuse:
            out = work_buffer(4 * header.width * header.height, reuse if isinstance(reuse, str) else "ids"
                              ).view(np.uint32).reshape(header.height, header.width)
    for reader in READERS:
        arr = reader(data, header, where, ids, out, exact)
        if arr is not None:
            return arr
    raise AssertionError("read_pillow reads every PNG")  # pragma: no cover


def decode_png(data: bytes, where: object = "PNG", size: tuple[int, int] | None = None,
               of: str = "the expected", stored_order: bool = False) -> np.ndarray:
    """Decode PNG bytes into an array.

    RGB -> (H, W, 3) uint8; RGBA -> (H, W, 4) uint8; 8-bit gray or palette -> (H, W) uint8
    (palette images give their indices); 16-bit gray -> (H, W) uint16 (with ``stored_order``,
    possibly big-endian ``>u2`` as the PNG stores it: the same values, without a byte swap).
    A corrupt or truncated file, or one of another size than ``size`` (``(width, height)``; see
    :func:`check_png_size`), raises ``VpsError`` naming ``where``.
    """
    return _decode(data, where, size, of, ids=False, exact=not stored_order)


def decode_ids(data: bytes, where: object, size: tuple[int, int] | None = None,
               of: str = "the expected", reuse: bool | str = False, exact: bool = True) -> np.ndarray:
    """Segment ids (H, W) uint32 of a panoptic PNG (RGB, RGBA or palette; id = R + 256 G + 256² B).

    ``size`` (``(width, height)``) is checked against the PNG's header before anything is
    decoded (the message says ``size WxH differs from {of} wxh``). ``reuse``: the ids go to a
    buffer of this thread that its next ``decode_ids(reuse=True)`` overwrites (for a loop that
    is done with each image before it decodes the next); a name instead of True gives a buffer
    of that name, so that images decoded into buffers of different names can be held at once.
    ``exact`` False: only the low 24 bits of each value are the id, the top byte may be anything
    (cheaper, for code that masks the values it keeps).
    """
    return _decode(data, where, size, of, ids=True, reuse=reuse, exact=exact)


STRIP_BYTES = 3 << 19
"""About how many bytes of ids :func:`decode_id_strips` gives at a time: strips this small stay
in the processor's caches while they are decoded and used, whole images do not."""


class IdStrips:
    """The segment ids of a panoptic PNG, or the values of a 16-bit gray PNG, a strip of rows at
    a time (see :func:`decode_id_strips` and :func:`decode_gray16_strips`)."""

    def __init__(self, data: bytes, header: PngHeader, where: object, rows: int, buffer: str,
                 gray16: bool = False) -> None:
        self.data, self.header, self.where, self.rows, self.buffer = data, header, where, rows, buffer
        self.gray16 = gray16
        self.shape = (header.height, header.width)
        """``(height, width)`` of the image."""

    def __iter__(self) -> Iterator[np.ndarray]:
        header = self.header
        h, w = self.shape
        step = _PLAIN_BYTES.get((header.bit_depth, header.color_type))
        kinds = ((16, 0),) if self.gray16 else ((8, 2), (8, 6))
        if (header.bit_depth, header.color_type) not in kinds or step is None or header.interlace or not h * w:
            yield from self._decoded(0)
            return
        length = 1 + w * step
        stream = PixelStream(self.data, self.where, h * length)
        # row 0: the row above the strip (zeros above the image); a spare byte after the last row
        # for the word read at its last pixel
        raw = work_buffer((self.rows + 1) * length + 1, self.buffer + " rows")
        raw[:length] = 0
        raw[-1] = 0
        dtype = ">u2" if self.gray16 else "<u4"
        out_buffer = work_buffer(np.dtype(dtype).itemsize * self.rows * w, self.buffer).view(dtype)
        for y in range(0, h, self.rows):
            n = min(self.rows, h - y)
            block = raw[:(n + 1) * length].reshape(n + 1, length)
            stream.read_into(raw[length:(n + 1) * length])
            if not _none_or_up(block[1:, 0].tobytes()):
                # a row filtered otherwise: the other readers decode the image, from this strip on
                yield from self._decoded(y)
                return
            up = block[:, 0] == 2
            up[0] = False
            _undo_up(block[:, 1:], up)
            values = np.ndarray((n, w), dtype=dtype, buffer=raw, offset=length + 1, strides=(length, step))
            out = out_buffer[:n * w].reshape(n, w)
            np.copyto(out, values)
            yield out
            raw[:length] = block[n]
        stream.finish()

    def _decoded(self, start: int) -> Iterator[np.ndarray]:
        """Strips of the image as the other readers decode it whole, from row ``start`` on."""
        if self.gray16:
            arr = decode_png(self.data, self.where, stored_order=True).astype(">u2", copy=False)
        else:
            for reader in READERS[1:]:
                arr = reader(self.data, self.header, self.where, True, None, False)
                if arr is not None:
                    break
        for y in range(start, self.shape[0], self.rows):
            yield arr[y:y + self.rows]


def _strip_rows(header: PngHeader, rows: int | None) -> int:
    return rows if rows is not None else max(1, STRIP_BYTES // (4 * max(1, header.width)))


def decode_id_strips(data: bytes, where: object, size: tuple[int, int] | None = None, of: str = "the expected",
                     buffer: str = "ids", rows: int | None = None) -> IdStrips:
    """The segment ids of a panoptic PNG (see :func:`decode_ids`) as strips of ``rows`` rows
    (by default about :data:`STRIP_BYTES` of ids), top to bottom: (n, W) uint32 arrays whose
    low 24 bits are the ids (the top byte may be anything), each overwritten by the next.

    The header and ``size`` are checked now; the pixels are decoded as the strips are taken, so
    a damaged pixel stream raises ``VpsError`` naming ``where`` only then. The strips go to
    buffers of this thread named after ``buffer``: strips of two images of different ``buffer``
    can be taken in step.
    """
    header = png_header(data, where)
    check_png_size(header, where, size, of)
    if header.bit_depth == 16:
        raise VpsError(where, "16 bits per channel: a panoptic PNG has 8-bit RGB colours")
    return IdStrips(data, header, where, _strip_rows(header, rows), buffer)


def decode_gray16_strips(data: bytes, where: object, size: tuple[int, int] | None = None,
                         of: str = "the expected", buffer: str = "gray16", rows: int | None = None) -> IdStrips:
    """The values of a 16-bit gray PNG as :func:`decode_id_strips` gives ids: (n, W) arrays of
    the values in the PNG's byte order (``>u2``), as many rows a strip as ids of that width
    would take. Only a 16-bit gray PNG is read this way (else ``VpsError``)."""
    header = png_header(data, where)
    check_png_size(header, where, size, of)
    if (header.bit_depth, header.color_type) != (16, 0):
        raise VpsError(where, "not a 16-bit grayscale PNG")
    return IdStrips(data, header, where, _strip_rows(header, rows), buffer, gray16=True)


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


def id2rgb(ids: np.ndarray, checked: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 image of segment ids (inverse of :func:`rgb2id`, ids < 2**24; ``checked``:
    the caller knows they are, and no pass over them checks it)."""
    ids = np.asarray(ids)
    if not checked and ids.size and ((ids.dtype.kind != "u" and ids.min() < 0) or ids.max() >= 1 << 24):
        raise ValueError("segment ids must lie in 0 … 2**24-1")
    words = np.ascontiguousarray(ids, dtype="<u4").reshape(-1)
    out = np.empty(3 * words.size + 1, dtype=np.uint8)
    # Each id goes as a little-endian word to 3 bytes after the one before, first to last: its
    # top byte (0) lands on the next id's first byte, which the next word then writes, and the
    # last one's on the spare byte. One pass, not three strided channel copies.
    np.ndarray(words.shape, dtype="<u4", buffer=out, strides=(3,))[...] = words
    return out[:-1].reshape(*ids.shape, 3)
