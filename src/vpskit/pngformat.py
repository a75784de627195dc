"""PNG structure: the header, chunks with their CRCs, the size check before decoding, and the
pixel data inflated (zlib-ng) into a work buffer kept per thread, whole and checked."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from .errors import VpsError
from .memory import keep_freed_blocks

try:  # zlib-ng: the zlib module's interface, several times faster both ways
    from zlib_ng import zlib_ng as ZLIB
except ImportError:  # pragma: no cover - a platform without zlib-ng's wheels
    ZLIB = zlib  # type: ignore[no-redef]
"""The zlib module vpskit deflates and inflates with: zlib-ng's where it is installed."""

ZLIB_ERRORS = (zlib.error, ZLIB.error)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAX_PIXELS = 1 << 25
"""Largest image vpskit decodes: 33.5 million pixels, 16 times a 2048x1024 Cityscapes frame.
Below Pillow's decompression-bomb threshold, so Pillow never warns about an image vpskit decodes."""

keep_freed_blocks()  # image-sized buffers are reused from one PNG to the next (see vpskit.memory)


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
        if ZLIB.crc32(view[pos + 4:end - 4]) != int.from_bytes(view[end - 4:end], "big"):
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


class PixelStream:
    """The pixel data of PNG bytes, inflated piece by piece into arrays the caller gives: its
    IDAT chunks (each checked, see :func:`png_chunks`, before anything is inflated) as one zlib
    stream that must inflate to exactly ``expected`` bytes, else ``VpsError`` naming ``where``."""

    def __init__(self, data: bytes, where: object, expected: int) -> None:
        self._rest = b"".join(payload for kind, payload in png_chunks(data, where) if kind == b"IDAT")
        self._inflater = ZLIB.decompressobj()
        self.where = where
        self.expected = expected
        self.pos = 0
        """Bytes inflated so far."""

    def read_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (uint8, contiguous) with the next ``out.size`` bytes of pixel data."""
        got = self._inflate(out, out.size)
        if got < out.size:
            self._fail()

    def finish(self) -> None:
        """Check that the pixel data ends here, after all ``expected`` bytes."""
        spare = np.zeros(1, dtype=np.uint8)
        if self.pos != self.expected or self._inflate(spare, 1) or not self._inflater.eof:
            self._fail()

    def _inflate(self, out: np.ndarray, n: int) -> int:
        inflater, got = self._inflater, 0
        try:
            while got < n:
                piece = inflater.decompress(self._rest, min(_PIECE, n - got))
                out[got:got + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
                got += len(piece)
                self._rest = inflater.unconsumed_tail
                if inflater.eof or not (piece or self._rest):
                    break
        except ZLIB_ERRORS as exc:
            raise VpsError(self.where, f"corrupt or truncated PNG (pixel data: {exc})") from None
        self.pos += got
        return got

    def _fail(self) -> None:
        pos, eof = self.pos, self._inflater.eof
        got = "more" if pos > self.expected else f"{pos:,}" + ("" if eof else " (unfinished)")
        raise VpsError(self.where, f"corrupt or truncated PNG (pixel data of {got} bytes, the header "
                       f"promises {self.expected:,})")


def inflate(data: bytes, where: object, expected: int, head: int = 0,
            accept: Callable[[np.ndarray], bool] | None = None) -> np.ndarray | None:
    """The pixel data of PNG bytes in this thread's work buffer (see :func:`work_buffer`), plus
    one spare byte: its IDAT chunks (each checked, see :func:`png_chunks`) as one zlib stream
    that inflates to exactly ``expected`` bytes, else ``VpsError``.

    With ``accept``, the first ``head`` bytes are inflated first and handed to it; None is
    returned at once when it refuses them (the rest is then never inflated).
    """
    stream = PixelStream(data, where, expected)
    out = work_buffer(expected + 1)
    out[-1] = 0
    pos = 0
    if head and accept is not None and head < expected:
        stream.read_into(out[:head])
        if not accept(out[:head]):
            return None
        pos = head
    stream.read_into(out[pos:expected])
    stream.finish()
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
    filters = inflate(data, where, sum(rows * length for rows, length in scanlines))
    assert filters is not None
    start = 0
    for rows, length in scanlines:
        bad = filters[start:start + rows * length:length] > 4
        if bad.any():
            raise VpsError(where, f"corrupt PNG (unknown filter type in pixel row {int(np.argmax(bad))})")
        start += rows * length
    return header
