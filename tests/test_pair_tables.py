"""A frame's GT and predicted id maps counted at once (frame_table with gt_ids), as the evaluation
does, against the obvious count and the one-map-at-a-time counter; ids decoded with their top
byte left as found."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyframes import segs
from vpskit import pngcodec
from vpskit.errors import VpsError
from vpskit.evaluation.tables import PairCounter, check_gt, frame_table, pair_counts_slow
from vpskit.pngio import decode_ids, encode_png, id2rgb

ROAD, CAR = 0, 13


def _draw_frame(rng, h, w, clash):
    """GT and predicted id maps with runs along the rows, each value's top byte random, and
    their segments (every id the GT lists, every predicted id present)."""
    n_gt, n_pred = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    gt_ids = rng.choice(np.arange(1, 2**16, dtype=np.uint32), n_gt, replace=False)
    if clash:  # two ids alike in their low 16 bits: no lookup table
        gt_ids = np.concatenate((gt_ids, gt_ids[:1] + np.uint32(2**16 * int(rng.integers(1, 255)))))
    gt_ids = np.concatenate(([0], gt_ids)).astype(np.uint32)
    pred_ids = np.concatenate(([0], rng.integers(1, 2**24, n_pred, dtype=np.uint32))).astype(np.uint32)
    rep = int(rng.integers(1, 5))
    a = np.repeat(gt_ids[rng.integers(0, gt_ids.size, size=(h, w))], rep, axis=1)
    b = np.repeat(pred_ids[rng.integers(0, pred_ids.size, size=(h, w))], rep, axis=1)
    gt_segs = segs(*[(int(i), ROAD) for i in gt_ids[1:]])
    pred_segs = segs(*[(int(i), CAR) for i in np.unique(b) if i])
    return a, b, gt_segs, pred_segs


def _top(rng, shape):
    return rng.integers(0, 256, size=shape).astype(np.uint32) << np.uint32(24)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 8), st.booleans(), st.booleans())
def test_both_maps_at_once_equal_the_obvious_count(seed, h, w, clash, sparse):
    """One counter over several frames (its lookup tables keep stale entries), ids with random
    top bytes (a pixel's own, so runs are split where the ids are not), counted densely or
    through a sort: the same table as the obvious count and as check_gt + frame_table."""
    rng = np.random.default_rng(seed)
    counter, alone = PairCounter(), PairCounter()
    if sparse:
        counter.dense_limit = 0
    for _ in range(4):
        a, b, gt_segs, pred_segs = _draw_frame(rng, h, w, clash)
        table = frame_table(counter, b | _top(rng, b.shape), gt_segs, pred_segs, gt_ids=a | _top(rng, a.shape))
        check_gt(alone, a, gt_segs)
        one = frame_table(alone, b, gt_segs, pred_segs)
        slow = pair_counts_slow(a, b)
        for x, y, z in zip((table.pair_gt, table.pair_pred, table.pair_count), slow,
                           (one.pair_gt, one.pair_pred, one.pair_count), strict=True):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)
            assert x.dtype == z.dtype


def test_unknown_ids_are_named_gt_first_in_pixel_order():
    counter = PairCounter()
    a = np.array([[1, 1, 7, 8], [1, 1, 1, 1]], np.uint32)
    b = np.array([[5, 9, 9, 9], [5, 5, 5, 5]], np.uint32)
    with pytest.raises(VpsError, match=r"^gt.png: segment id 7 \(RGB 7,0,0\) is in the PNG but not in the ground-truth"):
        frame_table(counter, b, segs((1, ROAD)), segs((5, CAR)), gt_ids=a, gt_where="gt.png")
    with pytest.raises(VpsError, match=r"^p.png: segment id 9 .* in the PNG but not in x.json's segments_info"):
        frame_table(counter, b, segs((1, ROAD), (7, ROAD), (8, ROAD)), segs((5, CAR)), gt_ids=a,
                    pred_where="p.png", pred_json_where="x.json")
    # a predicted segment listed but absent from the PNG; a size mismatch
    with pytest.raises(VpsError, match="segment id 6 .* in segments_info but not in the PNG"):
        frame_table(counter, b, segs((1, ROAD), (7, ROAD), (8, ROAD)), segs((5, CAR), (6, CAR), (9, CAR)),
                    gt_ids=a)
    with pytest.raises(VpsError, match="size 3x2 differs from the ground truth's 4x2"):
        frame_table(counter, b[:, :3], segs((1, ROAD)), segs((5, CAR)), gt_ids=a)
    # the top byte is never part of an id: 7 | 0xAB000000 is known as 7
    table = frame_table(counter, b | np.uint32(0xCD000000), segs((1, ROAD), (7, ROAD), (8, ROAD)),
                        segs((5, CAR), (9, CAR)), gt_ids=a | np.uint32(0xAB000000))
    assert table.pair_gt.tolist() == [1, 1, 7, 8] and table.pair_pred.tolist() == [5, 9, 9, 9]
    assert table.pair_count.tolist() == [5, 1, 1, 1]


@pytest.mark.parametrize("many", [False, True])
def test_frames_of_few_and_many_ids(many):
    """Up to 255 ids a side are counted through tables of the whole 24-bit id, more through
    lookups in the sorted ids: the same tables, the same unknown ids named."""
    rng = np.random.default_rng(5)
    n = 400 if many else 200
    gt_ids = np.unique(rng.integers(1, 2**24, 3 * n, dtype=np.uint32))[:n]
    pred_ids = np.unique(rng.integers(1, 2**24, 3 * n, dtype=np.uint32))[:n]
    a = np.repeat(np.concatenate(([0], gt_ids))[rng.integers(0, n + 1, size=(30, 40))], 3, axis=1)
    b = np.repeat(np.concatenate(([0], pred_ids))[rng.integers(0, n + 1, size=(30, 60))], 2, axis=1)
    gt_segs = segs(*[(int(i), ROAD) for i in gt_ids])
    pred_segs = segs(*[(int(i), CAR) for i in np.unique(b) if i])
    counter = PairCounter()
    for _ in range(2):  # the tables are left clean for the next frame
        table = frame_table(counter, b | _top(rng, b.shape), gt_segs, pred_segs, gt_ids=a | _top(rng, a.shape))
        for x, y in zip((table.pair_gt, table.pair_pred, table.pair_count), pair_counts_slow(a, b), strict=True):
            np.testing.assert_array_equal(x, y)
    first_gt, first_pred = int(a.flat[0]) or int(a.flat[1]), int(b.flat[0]) or int(b.flat[1])
    with pytest.raises(VpsError, match=f"segment id {first_gt} .* not in the ground-truth"):
        frame_table(counter, b, segs(*[(int(i), ROAD) for i in gt_ids if i != first_gt]), pred_segs, gt_ids=a)
    with pytest.raises(VpsError, match=f"segment id {first_pred} .* in the PNG but not in"):
        frame_table(counter, b, gt_segs, segs(*[(int(i), CAR) for i in np.unique(b) if i and i != first_pred]),
                    gt_ids=a)
    table = frame_table(counter, b, gt_segs, pred_segs, gt_ids=a)
    np.testing.assert_array_equal(table.pair_count, pair_counts_slow(a, b)[2])


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("reader", ["read_plain", "read_spng", "read_pillow"])
def test_inexact_ids_have_the_exact_low_24_bits(reader, channels, monkeypatch):
    if reader == "read_spng":
        pytest.importorskip("pyspng")
    monkeypatch.setattr(pngcodec, "READERS", (getattr(pngcodec, reader), pngcodec.read_pillow))
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 2**24, size=(7, 13), dtype=np.uint32)
    ids[:, 4:9] = ids[:, 4:5]  # runs
    rgb = id2rgb(ids)
    if channels == 4:
        rgb = np.concatenate((rgb, rng.integers(0, 256, size=(7, 13, 1), dtype=np.uint8)), axis=2)
    data = encode_png(rgb)
    exact = decode_ids(data, "x.png")
    np.testing.assert_array_equal(exact, ids)
    for reuse in (False, "a", "b"):
        loose = decode_ids(data, "x.png", reuse=reuse, exact=False)
        assert loose.shape == ids.shape and loose.dtype == np.uint32
        np.testing.assert_array_equal(loose & np.uint32(0xFFFFFF), ids)
    # two named buffers hold two images at once
    other = decode_ids(encode_png(id2rgb(ids[::-1].copy())), "y.png", reuse="b", exact=False)
    held = decode_ids(data, "x.png", reuse="a", exact=False)
    decode_ids(encode_png(id2rgb(ids[:, ::-1].copy())), "z.png", reuse="b", exact=False)
    np.testing.assert_array_equal(held & np.uint32(0xFFFFFF), ids)
    assert other is not held


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 6), st.integers(1, 5), st.booleans())
def test_maps_taken_a_strip_at_a_time_equal_the_obvious_count(seed, h, w, rows, rgba):
    """GT and prediction decoded from PNGs a strip of ``rows`` rows at a time, as the evaluation
    reads them (each strip overwritten by the next, runs cut where strips end): the same table
    as the obvious count, and the unknown ids named as with whole maps."""
    rng = np.random.default_rng(seed)
    a, b, gt_segs, pred_segs = _draw_frame(rng, h, w, False)

    def png(ids):
        rgb = id2rgb(ids)
        if rgba:
            rgb = np.concatenate((rgb, rng.integers(0, 256, size=(*ids.shape, 1), dtype=np.uint8)), axis=2)
        return encode_png(rgb)

    ga, pb = png(a), png(b)
    counter = PairCounter()
    for _ in range(2):
        table = frame_table(counter, pngcodec.decode_id_strips(pb, "p", buffer="p", rows=rows), gt_segs, pred_segs,
                            gt_ids=pngcodec.decode_id_strips(ga, "g", buffer="g", rows=rows))
        for x, y in zip((table.pair_gt, table.pair_pred, table.pair_count), pair_counts_slow(a, b), strict=True):
            np.testing.assert_array_equal(x, y)
    if b.any():
        first = int(b.flat[np.flatnonzero(b)[0]])
        with pytest.raises(VpsError, match=f"segment id {first} .* in the PNG but not in"):
            frame_table(counter, pngcodec.decode_id_strips(pb, "p", buffer="p", rows=rows), gt_segs,
                        segs(*[(int(i), CAR) for i in np.unique(b) if i and i != first]),
                        gt_ids=pngcodec.decode_id_strips(ga, "g", buffer="g", rows=rows))
    # strips of both maps in one buffer would overwrite each other: refused
    with pytest.raises(ValueError, match="share"):
        frame_table(counter, pngcodec.decode_id_strips(pb, "p", rows=rows), gt_segs, pred_segs,
                    gt_ids=pngcodec.decode_id_strips(ga, "g", rows=rows))
