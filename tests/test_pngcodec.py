"""The PNG readers give Pillow's pixels on every kind of PNG, and vpskit's writer is read back exactly.

A corpus of generated PNGs: every colour type and bit depth, interlaced or not, each row filter
(None, Sub, Up, Average, Paeth, and mixtures), odd sizes, one row, one column, pixel data split
over several IDAT chunks, ancillary chunks, and PNGs written by Pillow at several levels. Each
reader that takes a PNG (vpskit's own, pyspng, Pillow) must give what Pillow gives, which for
hand-made PNGs is also checked against the samples they were made from.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vpskit import pngcodec, pngformat, pngio
from vpskit.errors import VpsError

SIZES = ((1, 1), (7, 1), (1, 5), (13, 9), (64, 33), (3, 101))
"""(width, height) of the corpus images: one pixel, one row, one column, odd, several rows, and
enough rows for the reader to undo Up filters block by block (101 rows: blocks of 10, one left)."""

ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def pack_rows(samples: np.ndarray, depth: int) -> np.ndarray:
    """(h, w, c) samples -> (h, bytes a row) as PNG stores them (big-endian, packed below 8 bits)."""
    h = samples.shape[0]
    if depth == 16:
        return samples.astype(">u2").view(np.uint8).reshape(h, -1)
    if depth == 8:
        return samples.astype(np.uint8).reshape(h, -1)
    flat = samples.reshape(h, -1).astype(np.uint8)
    per = 8 // depth
    pad = (-flat.shape[1]) % per
    flat = np.pad(flat, ((0, 0), (0, pad))).reshape(h, -1, per)
    shifts = np.arange(per - 1, -1, -1, dtype=np.uint8) * depth
    return np.bitwise_or.reduce(flat << shifts, axis=2).astype(np.uint8)


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows: np.ndarray, bpp: int, kinds: list[int]) -> bytes:
    """Scanlines with filter byte ``kinds[y]`` on row y (the PNG specification's five filters)."""
    out = bytearray()
    prev = np.zeros(rows.shape[1], dtype=np.int64)
    for y, kind in enumerate(kinds):
        cur = rows[y].astype(np.int64)
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]]) if cur.size > bpp else np.zeros_like(cur)
        upleft = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]]) if cur.size > bpp else np.zeros_like(cur)
        if kind == 0:
            pred = np.zeros_like(cur)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = prev
        elif kind == 3:
            pred = (left + prev) // 2
        else:
            pred = np.array([paeth(a, b, c) for a, b, c in zip(left, prev, upleft, strict=True)], dtype=np.int64)
        out.append(kind)
        out += ((cur - pred) % 256).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


def handmade(samples: np.ndarray, depth: int, color_type: int, filters: str = "up", interlace: int = 0,
             splits: int = 1, extra: bytes = b"", palette: np.ndarray | None = None, seed: int = 0) -> bytes:
    """A PNG of ``samples`` ((h, w, c)) with rows filtered as ``filters`` says: one filter for all
    rows ("none", "sub", "up", "avg", "paeth"), "none-up" (random mixture) or "all" (random)."""
    h, w = samples.shape[:2]
    bpp = max(1, CHANNELS[color_type] * depth // 8)
    rng = np.random.default_rng(seed)
    named = {"none": 0, "sub": 1, "up": 2, "avg": 3, "paeth": 4}
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    data = b""
    for x0, y0, dx, dy in passes:
        part = samples[y0::dy, x0::dx]
        if part.size == 0:
            continue
        rows = pack_rows(part, depth)
        n = rows.shape[0]
        if filters in named:
            kinds = [named[filters]] * n
        elif filters == "none-up":
            kinds = rng.choice([0, 2], n).tolist()
        else:
            kinds = rng.integers(0, 5, n).tolist()
        data += filter_rows(rows, bpp, kinds)
    stream = zlib.compress(data, 9)
    cuts = sorted(rng.integers(0, len(stream) + 1, splits - 1).tolist())
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, interlace)
    plte = chunk(b"PLTE", palette.astype(np.uint8).tobytes()) if palette is not None else b""
    return (pngio.PNG_SIGNATURE + chunk(b"IHDR", ihdr) + extra + plte
            + b"".join(chunk(b"IDAT", p) for p in pieces) + chunk(b"IEND", b""))


KINDS = [  # (colour type, bit depth)
    (0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4), (3, 8),
    (4, 8), (4, 16), (6, 8), (6, 16),
]
FILTERS = ["none", "sub", "up", "avg", "paeth", "none-up", "all"]


def corpus() -> list[tuple[str, bytes, np.ndarray | None]]:
    """``(name, png, samples)`` of every generated PNG (samples None: written by Pillow)."""
    rng = np.random.default_rng(0)
    out = []
    for color_type, depth in KINDS:
        for w, h in SIZES:
            top = 1 << depth
            samples = rng.integers(0, top, size=(h, w, CHANNELS[color_type]))
            samples[h // 2:] = samples[: h - h // 2]  # repeated rows, as in label images
            palette = rng.integers(0, 256, size=(top, 3)) if color_type == 3 else None
            for filters in FILTERS:
                for interlace in (0, 1):
                    name = f"type{color_type}-{depth}bit-{w}x{h}-{filters}-i{interlace}"
                    png = handmade(samples, depth, color_type, filters, interlace, palette=palette,
                                   splits=1 + (w * h) % 4, seed=w + h)
                    out.append((name, png, samples))
    extra = chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(b"tEXt", b"Comment\0vpskit")
    samples = rng.integers(0, 256, size=(9, 13, 3))
    trns = chunk(b"tRNS", struct.pack(">HHH", *samples[0, 0].tolist()))
    out.append(("rgb-gamma-text-trns", handmade(samples, 8, 2, "up", extra=extra + trns), samples))
    out.append(("rgb-many-idat", handmade(samples, 8, 2, "paeth", splits=40), samples))
    for mode in ("RGB", "RGBA", "L", "LA", "P", "I;16", "1"):
        for w, h in SIZES:
            arr = rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)
            arr[h // 2:] = arr[: h - h // 2]
            img = Image.fromarray(arr, "RGBA").convert(mode if mode != "I;16" else "L")
            if mode == "I;16":
                img = Image.frombuffer("I;16", (w, h), (arr[..., 0].astype("<u2") * 257).tobytes(), "raw", "I;16", 0, 1)
            for level in (0, 1, 6, 9):
                buf = io.BytesIO()
                img.save(buf, "PNG", compress_level=level)
                out.append((f"pillow-{mode}-{w}x{h}-level{level}", buf.getvalue(), None))
    return out


CORPUS = corpus()


def pillow(png: bytes, ids: bool = False) -> np.ndarray:
    return pngcodec.read_pillow(png, pngio.png_header(png, "x"), "x", ids)


def readers() -> list:
    out = [pngcodec.read_plain, pngcodec.read_pillow]
    try:
        import pyspng  # noqa: F401
    except ImportError:
        return out
    return [*out, pngcodec.read_spng]


@pytest.mark.parametrize("name,png,samples", CORPUS, ids=[c[0] for c in CORPUS])
def test_every_reader_gives_pillows_pixels(name, png, samples):
    header = pngio.png_header(png, name)
    want = pillow(png)
    taken = []
    for reader in readers():
        got = reader(png, header, name)
        if got is not None:
            taken.append(reader.__name__)
            assert got.dtype == want.dtype and got.shape == want.shape, reader.__name__
            np.testing.assert_array_equal(got, want, err_msg=reader.__name__)
    np.testing.assert_array_equal(pngio.decode_png(png, name), want)
    # which reader takes which PNG
    plain = ((header.bit_depth, header.color_type) in ((8, 0), (16, 0), (8, 2), (8, 6)) and not header.interlace
             and _filters(png, header) <= {0, 2})
    assert ("read_plain" in taken) == plain
    if samples is not None and (header.bit_depth, header.color_type) in ((8, 0), (16, 0), (8, 2), (8, 6)):
        truth = samples.astype(want.dtype)
        np.testing.assert_array_equal(want, truth[..., 0] if truth.shape[2] == 1 else truth)


def _filters(png: bytes, header: pngio.PngHeader) -> set[int]:
    raw = zlib.decompress(b"".join(p for k, p in pngio.png_chunks(png, "x") if k == b"IDAT"))
    length = 1 + (header.width * CHANNELS[header.color_type] * header.bit_depth + 7) // 8
    return set(raw[::length])


COLOUR = [c for c in CORPUS if pngio.png_header(c[1], "x").color_type in (2, 3, 6)
          and pngio.png_header(c[1], "x").bit_depth == 8]


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
@pytest.mark.parametrize("name,png,samples", COLOUR, ids=[c[0] for c in COLOUR])
def test_every_reader_gives_pillows_segment_ids(name, png, samples):
    header = pngio.png_header(png, name)
    want = pillow(png, ids=True)
    assert want.dtype == np.uint32
    np.testing.assert_array_equal(want, pngio.rgb2id(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))))
    for reader in readers():
        got = reader(png, header, name, ids=True)
        if got is not None:
            assert got.dtype == np.uint32 and got.flags.c_contiguous, reader.__name__
            np.testing.assert_array_equal(got, want, err_msg=reader.__name__)
    np.testing.assert_array_equal(pngio.decode_ids(png, name), want)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 300), st.sampled_from(["rgb", "rgba", "gray", "gray16", "ids"]),
       st.integers(0, 2**32 - 1), st.integers(0, 9))
def test_vpskit_writes_what_every_reader_reads_back(w, h, kind, seed, level):
    rng = np.random.default_rng(seed)
    shape = {"rgb": (h, w, 3), "rgba": (h, w, 4), "gray": (h, w), "gray16": (h, w), "ids": (h, w)}[kind]
    top = {"gray16": 1 << 16, "ids": 1 << 24}.get(kind, 256)
    arr = rng.integers(0, rng.integers(1, top + 1), size=shape)
    arr[h // 2:] = arr[: h - h // 2]
    arr = arr.astype(np.uint16 if kind == "gray16" else np.uint32 if kind == "ids" else np.uint8)
    png = pngio.encode_ids_png(arr, level) if kind == "ids" else pngio.encode_png(arr, level)
    assert png == (pngio.encode_ids_png(arr.copy(), level) if kind == "ids" else pngio.encode_png(arr.copy(), level))
    pngio.check_png_pixels(png, "x", (w, h))
    header = pngio.png_header(png, "x")
    if kind == "ids":
        assert pngcodec.read_plain(png, header, "x", ids=True) is not None
        np.testing.assert_array_equal(pngio.decode_ids(png, "x"), arr)
        np.testing.assert_array_equal(pillow(png, ids=True), arr)
        return
    assert pngcodec.read_plain(png, header, "x") is not None
    np.testing.assert_array_equal(pngio.decode_png(png, "x"), arr)
    np.testing.assert_array_equal(pillow(png), arr)


def test_rgb_and_id_conversions_agree_with_the_obvious_arithmetic():
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    r, g, b = (rgb[..., c].astype(np.uint32) for c in range(3))
    ids = r + 256 * g + 65536 * b
    np.testing.assert_array_equal(pngio.rgb2id(rgb), ids)
    np.testing.assert_array_equal(pngio.rgb2id(np.concatenate([rgb, rgb[..., :1]], axis=2)), ids)
    np.testing.assert_array_equal(pngio.rgb2id(rgb[:, ::2]), ids[:, ::2])
    np.testing.assert_array_equal(pngio.id2rgb(ids), rgb)
    np.testing.assert_array_equal(pngio.id2rgb(ids.T), rgb.transpose(1, 0, 2))
    assert pngio.rgb2id(rgb).dtype == np.uint32 and pngio.id2rgb(ids.astype(np.int64)).dtype == np.uint8



def test_id2rgb_of_a_large_image_equals_each_channel():
    rng = np.random.default_rng(8)
    ids = rng.integers(0, 1 << 24, size=(257, 1031), dtype=np.uint32)
    ids[-1, -1] = ids[0, 0] = (1 << 24) - 1
    rgb = pngio.id2rgb(ids)
    assert rgb.shape == (257, 1031, 3) and rgb.flags.c_contiguous
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], (ids >> (8 * c)) & 255)
    assert pngio.id2rgb(ids[:, 5]).tolist() == pngio.id2rgb(ids)[:, 5].tolist()
    np.testing.assert_array_equal(pngio.id2rgb(ids, checked=True), rgb)
    assert pngio.encode_ids_png(ids, checked=True) == pngio.encode_ids_png(ids) == pngio.encode_png(rgb)
    with pytest.raises(ValueError, match="segment ids"):
        pngio.encode_ids_png(ids + (1 << 24))
    assert pngio.id2rgb(np.zeros((0, 3), dtype=np.uint32)).shape == (0, 3, 3)


def test_16_bit_gray_encodes_alike_from_either_byte_order():
    arr = np.random.default_rng(9).integers(0, 1 << 16, size=(33, 17)).astype(np.uint16)
    png = pngio.encode_png(arr)
    assert pngio.encode_png(arr.astype(">u2")) == png
    assert pngio.encode_png(arr.astype(">u2").T.copy().T) == png
    np.testing.assert_array_equal(pngio.decode_png(png), arr)
    with pytest.raises(ValueError, match="cannot encode"):
        pngio.encode_png(arr.astype(np.int16))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1), st.sampled_from(["gray8", "gray16", "ids"]),
       st.sampled_from([1, 2, 3, 7, None]))
def test_an_image_of_runs_encodes_as_the_image_itself(w, h, seed, kind, rows):
    """encode_runs_png, a strip of rows at a time from the runs, gives encode_png's bytes of the
    whole image; runs may cross rows and strips, and be empty."""
    rng = np.random.default_rng(seed)
    n = w * h
    cuts = np.sort(rng.choice(np.arange(1, n), size=int(rng.integers(0, n)), replace=False)) if n > 1 else []
    lengths = np.diff(np.concatenate(([0], cuts, [n]))).astype(np.int64)
    lengths = np.insert(lengths, int(rng.integers(0, lengths.size + 1)), 0)  # an empty run
    top = {"gray8": 1 << 8, "gray16": 1 << 16, "ids": 1 << 24}[kind]
    values = rng.integers(0, top, size=lengths.size)
    img = np.repeat(values, lengths).reshape(h, w)
    whole = {"gray8": lambda: img.astype(np.uint8), "gray16": lambda: img.astype(np.uint16),
             "ids": lambda: pngio.id2rgb(img)}[kind]()
    assert pngio.encode_runs_png(values, lengths, (h, w), kind, rows=rows) == pngio.encode_png(whole)
    with pytest.raises(ValueError, match="runs of"):
        pngio.encode_runs_png(values, lengths + 1, (h, w), kind)


def test_16_bit_gray_in_stored_order_has_the_same_values():
    arr = np.random.default_rng(10).integers(0, 1 << 16, size=(40, 23)).astype(np.uint16)
    arr[10:] = arr[9]  # Up rows too
    buf = io.BytesIO()
    Image.frombuffer("I;16", arr.shape[::-1], arr.astype("<u2").tobytes(), "raw", "I;16", 0, 1).save(buf, "PNG")
    for png in (pngio.encode_png(arr), buf.getvalue()):  # vpskit's reader, Pillow's
        stored = pngio.decode_png(png, "x", stored_order=True)
        assert stored.shape == arr.shape and stored.dtype.itemsize == 2 and stored.flags.c_contiguous
        np.testing.assert_array_equal(stored, arr)
        assert pngio.decode_png(png, "x").dtype == np.uint16

def test_label_images_are_no_larger_than_pillows():
    """The label images vpskit writes (flat regions, repeated rows) come out no larger than
    Pillow's adaptive filters with zlib at the same level make them."""
    h, w = 256, 512
    yy, xx = np.mgrid[0:h, 0:w]
    labels = ((yy // 37 + (xx + 3 * yy) // 91) % 19).astype(np.uint8)
    labels[(yy - 140) ** 2 + (xx - 300) ** 2 < 60 ** 2] = 255
    for arr, mode in ((labels, "L"), (labels.astype(np.uint16) * 1000 + 7, "I;16"),
                      (np.stack([labels * 7, labels * 3, labels], axis=2), "RGB")):
        buf = io.BytesIO()
        if mode == "I;16":
            img = Image.frombuffer("I;16", (w, h), arr.astype("<u2").tobytes(), "raw", "I;16", 0, 1)
        else:
            img = Image.fromarray(arr, mode)
        img.save(buf, "PNG", compress_level=pngio.PNG_COMPRESS_LEVEL)
        assert len(pngio.encode_png(arr)) <= 1.1 * len(buf.getvalue()), mode


DAMAGES = ["short stream", "long stream", "bad zlib", "bad CRC", "no IEND"]


def damaged_png(damage: str) -> bytes:
    """A 20x30 RGB PNG of the plain kind (every row Up) with one of :data:`DAMAGES`."""
    arr = np.random.default_rng(1).integers(0, 256, size=(30, 20, 3), dtype=np.uint8)
    rows = filter_rows(pack_rows(arr, 8), 3, [2] * 30)
    return {
        "short stream": lambda: handmade_raw(rows[: len(rows) // 2]),
        "long stream": lambda: handmade_raw(rows + rows[:61]),
        "bad zlib": lambda: handmade_raw(rows, stream=zlib.compress(rows)[:-9] + b"\xff" * 9),
        "bad CRC": lambda: (lambda p: p[:40] + bytes([p[40] ^ 1]) + p[41:])(handmade_raw(rows)),
        "no IEND": lambda: handmade_raw(rows)[:-12],
    }[damage]()


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_png_of_the_plain_kind_is_one_error_naming_it(damage):
    png = damaged_png(damage)
    for decode in (pngio.decode_png, pngio.decode_ids):
        with pytest.raises(VpsError, match="^bad.png: corrupt or truncated PNG"):
            decode(png, "bad.png")


def handmade_raw(rows: bytes, stream: bytes | None = None) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 20, 30, 8, 2, 0, 0, 0)
    return (pngio.PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", stream or zlib.compress(rows))
            + chunk(b"IEND", b""))


def test_the_plain_reader_leaves_other_filters_after_inflating_only_the_first_rows(monkeypatch):
    """A PNG whose first rows use Paeth is handed on without inflating the whole image."""
    arr = np.random.default_rng(2).integers(0, 256, size=(400, 50, 3), dtype=np.uint8)
    png = handmade(arr, 8, 2, "paeth")
    calls: list[int] = []
    real = pngformat.ZLIB.decompressobj

    class Counting:
        def __init__(self) -> None:
            self.inner = real()

        def decompress(self, data, limit=0):
            out = self.inner.decompress(data, limit)
            calls.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(pngformat.ZLIB, "decompressobj", Counting)
    assert pngcodec.read_plain(png, pngio.png_header(png, "x"), "x") is None
    assert sum(calls) <= pngcodec._HEAD_ROWS * (1 + 3 * 50)


@pytest.mark.parametrize("h", [1, 63, 64, 101, 1000])
@pytest.mark.parametrize("none_rows", [(), (0,), (40,)])
def test_up_rows_are_undone_as_a_running_sum_restarted_by_none_rows(h, none_rows):
    """The reader's block-by-block undoing of Up filters (every row Up) and its row-by-row one
    (some rows None) both give the running byte sum of the rows, restarted at each None row."""
    rng = np.random.default_rng(h)
    filtered = rng.integers(0, 256, size=(h, 2 * 7 + 3), dtype=np.uint8)
    up = np.ones(h, dtype=bool)
    up[[r for r in none_rows if r < h]] = False
    want = np.empty_like(filtered)
    for y in range(h):
        want[y] = filtered[y] if not up[y] or not y else want[y - 1] + filtered[y]
    got = np.ascontiguousarray(np.pad(filtered, ((0, 0), (1, 0))))[:, 1:]  # rows strided as in a PNG
    pngcodec._undo_up(got, up)
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- ids a strip at a time


def strips_of(png: bytes, rows: int, where: str = "x") -> np.ndarray:
    """The strips of :func:`pngcodec.decode_id_strips` stacked, masked to their 24-bit ids."""
    taken = pngcodec.decode_id_strips(png, where, rows=rows)
    parts = []
    for strip in taken:
        assert strip.dtype == np.uint32 and strip.shape[1] == taken.shape[1] and 0 < strip.shape[0] <= rows
        parts.append(strip.copy())  # each strip is overwritten by the next
    return np.concatenate(parts) & 0xFFFFFF


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
@pytest.mark.parametrize("rows", [1, 2, 7, 64])
def test_id_strips_give_the_ids_of_every_colour_png(rows):
    for name, png, _ in COLOUR:
        want = pngio.decode_ids(png, name)
        got = strips_of(png, rows, name)
        assert got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("later", [1, 3, 4])
@pytest.mark.parametrize("rows", [1, 4, 5, 64])
def test_id_strips_hand_a_png_to_the_other_readers_at_its_first_row_of_another_filter(later, rows):
    """Rows filtered with None and Up, then one with Sub, Average or Paeth after a few strips:
    the strips read so far stand, the rest come from the other readers."""
    rng = np.random.default_rng(later + rows)
    arr = rng.integers(0, 4, size=(23, 9, 3), dtype=np.uint8) * 60
    arr[5:12] = arr[4]  # runs down the rows, as in label images
    kinds = [0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 2, later, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2]
    ihdr = struct.pack(">IIBBBBB", 9, 23, 8, 2, 0, 0, 0)
    png = (pngio.PNG_SIGNATURE + chunk(b"IHDR", ihdr)
           + chunk(b"IDAT", zlib.compress(filter_rows(pack_rows(arr, 8), 3, kinds)))
           + chunk(b"IEND", b""))
    np.testing.assert_array_equal(strips_of(png, rows), pngio.rgb2id(arr))


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("rows", [1, 7, 30])
def test_a_damaged_png_gives_the_same_one_error_a_strip_at_a_time(damage, rows):
    png = damaged_png(damage)
    with pytest.raises(VpsError) as whole:
        pngio.decode_ids(png, "bad.png")
    with pytest.raises(VpsError) as strips:
        strips_of(png, rows, "bad.png")
    assert str(strips.value) == str(whole.value)
    assert str(whole.value).startswith("bad.png: corrupt or truncated PNG")


def test_id_strips_check_the_size_before_decoding():
    png = pngio.encode_png(pngio.id2rgb(np.arange(12, dtype=np.uint32).reshape(3, 4)))
    with pytest.raises(VpsError, match="^p.png: size 4x3 differs from the expected 5x3"):
        pngcodec.decode_id_strips(png, "p.png", size=(5, 3))
    assert pngcodec.decode_id_strips(png, "p.png", size=(4, 3)).shape == (3, 4)


GRAY16 = [c for c in CORPUS if pngio.png_header(c[1], "x")[2:4] == (16, 0)]


@pytest.mark.parametrize("rows", [1, 3, 64])
def test_gray16_strips_give_the_values_of_every_16_bit_gray_png(rows):
    assert len(GRAY16) > 20
    for name, png, _ in GRAY16:
        taken = pngcodec.decode_gray16_strips(png, name, rows=rows)
        parts = [strip.copy() for strip in taken]
        assert all(p.dtype == np.dtype(">u2") for p in parts), name
        np.testing.assert_array_equal(np.concatenate(parts).astype(np.uint16), pngio.decode_png(png, name), name)
    with pytest.raises(VpsError, match="^rgb.png: not a 16-bit grayscale PNG"):
        pngcodec.decode_gray16_strips(pngio.encode_png(np.zeros((2, 2, 3), np.uint8)), "rgb.png")
