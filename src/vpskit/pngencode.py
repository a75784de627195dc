"""PNG encoding: every row but the first filtered with Up, the rows deflated as one IDAT chunk
with zlib-ng at :data:`PNG_COMPRESS_LEVEL`. Deterministic, and several times faster than
Pillow's adaptive filters with zlib; the label images vpskit writes come out no larger."""

from __future__ import annotations

import numpy as np

from .pngcodec import id2rgb
from .pngformat import PNG_SIGNATURE, ZLIB

PNG_COMPRESS_LEVEL = 6
"""Deflate level of every PNG vpskit writes (fixed, so output bytes are reproducible)."""


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (len(payload).to_bytes(4, "big") + kind + payload
            + ZLIB.crc32(payload, ZLIB.crc32(kind)).to_bytes(4, "big"))


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
    return (PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", ZLIB.compress(filtered, compress_level))
            + _chunk(b"IEND", b""))


def encode_png(arr: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an array as PNG bytes with fixed settings.

    (H, W, 3) uint8 -> RGB; (H, W, 4) uint8 -> RGBA; (H, W) uint8 -> 8-bit gray;
    (H, W) uint16, either byte order (big-endian, as the PNG stores it, is not copied) -> 16-bit
    gray. Other dtypes are refused (cast explicitly first).
    ``compress_level`` is the deflate level (0…9; the default is :data:`PNG_COMPRESS_LEVEL`).
    """
    arr = np.asarray(arr)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (3, 4):
        color_type = 2 if arr.shape[2] == 3 else 6
        return _png_bytes(np.ascontiguousarray(arr).reshape(arr.shape[0], -1), arr.shape[1], 8, color_type,
                          compress_level)
    if arr.dtype == np.uint8 and arr.ndim == 2:
        return _png_bytes(np.ascontiguousarray(arr), arr.shape[1], 8, 0, compress_level)
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 2 and arr.ndim == 2:
        rows = np.ascontiguousarray(arr, dtype=">u2").view(np.uint8)
        return _png_bytes(rows, arr.shape[1], 16, 0, compress_level)
    raise ValueError(f"cannot encode an array of dtype {arr.dtype} and shape {arr.shape} as PNG")


_RUN_STRIP_BYTES = 1 << 20
"""About how many bytes of rows :func:`encode_runs_png` makes at a time (they stay in cache
between expanding, converting and filtering)."""


def encode_runs_png(values: np.ndarray, lengths: np.ndarray, shape: tuple[int, int], kind: str,
                    compress_level: int = PNG_COMPRESS_LEVEL, rows: int | None = None) -> bytes:
    """The PNG bytes :func:`encode_png` gives for the (H, W) image ``shape`` made of runs of
    pixels in raster order (``values``, ``lengths``), made a strip of ``rows`` rows at a time
    without the whole image: ``kind`` "gray8" (uint8 values), "gray16" (16-bit values) or "ids"
    (segment ids below 2**24, as 8-bit RGB; not checked)."""
    h, w = shape
    step, bit_depth, color_type = {"gray8": (1, 8, 0), "gray16": (2, 16, 0), "ids": (3, 8, 2)}[kind]
    if not h or not w:
        raise ValueError("cannot encode an empty image as PNG")
    values = np.asarray(values)
    lengths = np.asarray(lengths)
    if int(lengths.sum()) != h * w:
        raise ValueError(f"runs of {int(lengths.sum())} pixels for a {w}x{h} image")
    if kind == "gray8":
        values = values.astype(np.uint8, copy=False)
    elif kind == "gray16":
        values = values.astype(">u2", copy=False)
    else:
        values = values.astype("<u4", copy=False)
    n = w * step
    rows = rows or max(1, _RUN_STRIP_BYTES // n)
    ends = np.cumsum(lengths)
    filtered = np.empty((h, n + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[0, 0] = 0
    strip = np.empty((rows + 1) * n + 1, dtype=np.uint8)  # row 0: the row above; a spare byte
    above = strip[:n]
    above[:] = 0
    first = 0  # the run holding the strip's first pixel
    for y in range(0, h, rows):
        k = min(rows, h - y)
        lo, hi = y * w, (y + k) * w
        last = int(np.searchsorted(ends, hi - 1, side="right"))  # the run holding its last pixel
        run_ends = ends[first:last + 1]
        part = np.minimum(run_ends, hi) - np.maximum(run_ends - lengths[first:last + 1], lo)
        pixels = np.repeat(values[first:last + 1], part)
        if kind == "ids":
            # each id as a little-endian word 3 bytes after the one before (see id2rgb); the
            # last one's top byte lands on the spare byte
            np.ndarray(k * w, dtype="<u4", buffer=strip, offset=n, strides=(3,))[...] = pixels
        else:
            strip[n:(k + 1) * n] = pixels.view(np.uint8)
        block = strip[:(k + 1) * n].reshape(k + 1, n)
        np.subtract(block[1:], block[:-1], out=filtered[y:y + k, 1:])
        above[:] = block[k]
        first = last if int(ends[last]) > hi else last + 1
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes((bit_depth, color_type, 0, 0, 0))
    return (PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", ZLIB.compress(filtered, compress_level))
            + _chunk(b"IEND", b""))


def encode_ids_png(ids: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL, checked: bool = False) -> bytes:
    """The 8-bit RGB PNG of (H, W) segment ids (below 2**24): the bytes of
    ``encode_png(id2rgb(ids))`` (``checked``: see :func:`vpskit.pngio.id2rgb`)."""
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"expected an (H, W) array of segment ids, got shape {ids.shape}")
    return encode_png(id2rgb(ids, checked), compress_level)
