"""STQ rules of SPEC §4 on tiny hand-computed arrays, and the fast path against an obvious one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyframes import frame, segs
from vpskit.evaluation.metrics import CategorySet, STQAccumulator

ROAD, SIDEWALK, PERSON, CAR = 0, 1, 11, 13
CATS = CategorySet.default()


def stq_of(videos, void_rule="class"):
    acc = STQAccumulator(CATS, void_rule)
    for v, frames in sorted(videos.items()):
        acc.update(v, frames)
    return acc.result()


def test_association_and_segmentation_by_hand():
    # A car (GT 3, 4 px a frame) tracked as 7 in frame 0 and as 8 (6 px, 2 on road) in frame 1.
    gt = [[3, 3, 1, 1], [3, 3, 1, 1]]
    g, p = segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, CAR))
    f0 = frame(gt, [[7, 7, 5, 5], [7, 7, 5, 5]], g, p)
    f1 = frame(gt, [[8, 8, 8, 5], [8, 8, 8, 5]], g, segs((5, ROAD), (8, CAR)))
    res = stq_of({"0001": [f0, f1]})
    # AQ(g) = (4·4/(4+8-4) + 4·4/(6+8-4)) / 8 = (2 + 1.6) / 8
    assert res["aq"] == pytest.approx(0.45, abs=1e-15)
    # IoU: car 8/10, road 6/8
    assert res["iou"] == pytest.approx((0.8 + 0.75) / 2, abs=1e-15)
    assert res["stq"] == pytest.approx(math.sqrt(0.45 * 0.775), abs=1e-15)
    seq = res["per_sequence"]["0001"]
    assert (seq["aq"], seq["iou"], seq["stq"]) == (res["aq"], res["iou"], res["stq"])


def test_predictions_on_crowd_are_dropped_from_association():
    # GT: car 3 (2 px) and car crowd 9 (2 px); predicted car 7 over all four.
    f = frame([[3, 3, 9, 9]], [[7, 7, 7, 7]], segs((3, CAR), (9, CAR), crowd={9}), segs((7, CAR)))
    res = stq_of({"0001": [f]})
    assert res["aq"] == 1.0  # |p| = 2 once the crowd pixels are dropped
    assert res["iou"] == 1.0  # crowd pixels are still car pixels for the semantic term


def test_predictions_on_void_count_in_the_track_area():
    f = frame([[3, 3, 0, 0]], [[7, 7, 7, 7]], segs((3, CAR)), segs((7, CAR)))
    res = stq_of({"0001": [f]})
    assert res["aq"] == 0.5  # 2·2/(4+2-2) / 2
    assert res["iou"] == 1.0  # GT void pixels are dropped from the confusion matrix


def test_void_prediction_is_a_class_by_default_and_a_miss_on_request():
    f = frame([[1, 1, 1, 1], [0, 0, 2, 2]], [[5, 5, 5, 0], [5, 5, 6, 6]],
              segs((1, ROAD), (2, SIDEWALK)), segs((5, ROAD), (6, SIDEWALK)))
    # road 3/4, sidewalk 1; deeplab2's void column: intersection 0, union 1 -> a third class, IoU 0
    res = stq_of({"0001": [f]})
    assert res["iou"] == pytest.approx((3 / 4 + 1 + 0) / 3, abs=1e-15)
    assert res["aq"] == 0.0 and res["stq"] == 0.0  # no GT track at all
    miss = stq_of({"0001": [f]}, "miss")
    assert miss["iou"] == pytest.approx((3 / 4 + 1) / 2, abs=1e-15)
    assert miss["per_class_iou"] == res["per_class_iou"]
    assert res["per_class_iou"]["0"] == 0.75 and res["per_class_iou"]["1"] == 1.0
    assert res["per_class_iou"]["13"] is None


def test_the_four_pixel_example_of_the_docs():
    """GT road, road, car#1, car#1; prediction road, void, car#1, car#1."""
    f = frame([[1, 1, 3, 3]], [[5, 0, 7, 7]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, CAR)))
    res = stq_of({"0001": [f]})
    assert res["iou"] == pytest.approx(0.5, abs=1e-15) and res["aq"] == 1.0
    assert round(res["stq"], 4) == 0.7071
    miss = stq_of({"0001": [f]}, "miss")
    assert miss["iou"] == pytest.approx(0.75, abs=1e-15) and miss["aq"] == 1.0
    assert round(miss["stq"], 4) == 0.8660


def test_void_rules_do_not_merge():
    a, b = STQAccumulator(CATS, "class"), STQAccumulator(CATS, "miss")
    with pytest.raises(ValueError, match="void rules"):
        a.merge(b)
    with pytest.raises(ValueError, match="void rule"):
        STQAccumulator(CATS, "deeplab")


def test_tracks_are_category_and_id_and_sequences_pool_tracks():
    # Video 1: a perfect car. Video 2: the car's id 7 predicted as a person in frame 0 and as a car
    # in frame 1: two predicted tracks; TPA counts whatever the categories.
    gt = [[3, 3, 1, 1]]
    v1 = [frame(gt, [[7, 7, 5, 5]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, CAR)))]
    v2 = [frame(gt, [[7, 7, 5, 5]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, PERSON))),
          frame(gt, [[7, 7, 5, 5]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, CAR)))]
    res = stq_of({"0001": v1, "0002": v2})
    # Video 2: g = 4 px; tracks (person, 7) and (car, 7) of 2 px each: 2·2/4 + 2·2/4 = 2 -> AQ 2/4.
    assert res["per_sequence"]["0002"]["aq"] == 0.5
    assert res["per_sequence"]["0001"]["aq"] == 1.0
    assert res["aq"] == 0.75  # (1 + 0.5) / 2 tracks
    # SQ of video 2: car 2/4, road 1, person 0/2 -> (0.5 + 1 + 0) / 3
    assert res["per_sequence"]["0002"]["iou"] == pytest.approx(1.5 / 3, abs=1e-15)
    # Overall: car 4/6, road 1, person 0/2 summed over both videos
    assert res["iou"] == pytest.approx((4 / 6 + 1 + 0) / 3, abs=1e-15)


def test_merge_is_the_union_of_sequences():
    gt = [[3, 3, 1, 1]]
    f = frame(gt, [[7, 7, 5, 5]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, CAR)))
    a, b = STQAccumulator(CATS), STQAccumulator(CATS)
    a.update("0001", [f])
    b.update("0002", [f, f])
    whole = STQAccumulator(CATS)
    whole.update("0002", [f, f])
    whole.update("0001", [f])
    assert a.merge(b).result() == whole.result()
    with pytest.raises(ValueError):
        a.merge(b)


# --------------------------------------------------------------------------- fast vs obvious


def obvious_stq(videos):
    """SPEC §4 read literally on pixel arrays: masks per track (tiny inputs only)."""
    n = len(CATS)
    thing = set(c for c, t in zip(CATS.ids, CATS.isthing, strict=True) if t)
    total_conf = np.zeros((n, n + 1), np.int64)
    aq_total, tracks_total, per = 0.0, 0, {}
    for v in sorted(videos):
        gcat_maps, pcat_maps, gkeys, pkeys = [], [], [], []
        for gt, pred, gs, ps in videos[v]:
            gc = np.full(gt.shape, -1)
            gk = np.full(gt.shape, -1, np.int64)
            cr = np.zeros(gt.shape, bool)
            for i, c, k in zip(gs.ids.tolist(), gs.category.tolist(), gs.crowd.tolist(), strict=True):
                m = gt == i
                gc[m] = c
                if c in thing and k:
                    cr[m] = True
                elif c in thing:
                    gk[m] = c * 2**24 + i
            pc = np.full(pred.shape, -1)
            pk = np.full(pred.shape, -1, np.int64)
            for i, c in zip(ps.ids.tolist(), ps.category.tolist(), strict=True):
                m = pred == i
                pc[m] = c
                if c in thing:
                    pk[m] = c * 2**24 + i
            pk[cr] = -1
            gcat_maps.append(gc.ravel())
            pcat_maps.append(pc.ravel())
            gkeys.append(gk.ravel())
            pkeys.append(pk.ravel())
        gc, pc = np.concatenate(gcat_maps), np.concatenate(pcat_maps)
        gk, pk = np.concatenate(gkeys), np.concatenate(pkeys)
        conf = np.zeros((n, n + 1), np.int64)
        for a, b in zip(gc.tolist(), pc.tolist(), strict=True):
            if a >= 0:
                conf[a, b if b >= 0 else n] += 1
        aq_sum = 0.0
        gts = sorted(set(gk.tolist()) - {-1})
        for g in gts:
            gm = gk == g
            inner = 0.0
            for p in sorted(set(pk.tolist()) - {-1}):
                pm = pk == p
                tpa = int(np.sum(gm & pm))
                if tpa:
                    inner += tpa * tpa / (pm.sum() + gm.sum() - tpa)
            aq_sum += inner / gm.sum()
        total_conf += conf
        aq_total += aq_sum
        tracks_total += len(gts)
        per[v] = (aq_sum / len(gts) if gts else 0.0, conf)
    return aq_total / tracks_total if tracks_total else 0.0, total_conf, per


def _miou(conf, void_rule):
    """Mean IoU of a (categories) x (categories + void) matrix; rule "class" adds the void
    column as a class (its intersection is always 0) when it has pixels."""
    n = conf.shape[0]
    ious = []
    for c in range(n):
        inter = conf[c, c]
        union = conf[c, :].sum() + conf[:, c].sum() - inter
        if union:
            ious.append(inter / union)
    if void_rule == "class" and conf[:, n].sum():
        ious.append(0.0)
    return sum(ious) / len(ious) if ious else 0.0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_stq_equals_the_obvious_implementation(seed):
    rng = np.random.default_rng(seed)
    cats = [ROAD, SIDEWALK, PERSON, CAR]
    videos_raw, videos = {}, {}
    for v in ("0001", "0002"):
        gcat = {i: int(rng.choice(cats)) for i in range(1, 6)}
        crowd = {5} if rng.random() < 0.5 else set()
        raw, tables = [], []
        for _ in range(int(rng.integers(1, 5))):
            h, w = int(rng.integers(2, 7)), int(rng.integers(2, 7))
            gt = rng.integers(0, 6, size=(h, w)).astype(np.uint32)
            pred = np.where(rng.random((h, w)) < 0.4, rng.integers(0, 5, size=(h, w)) + 20, gt + 20)
            pred = np.where(pred == 20, 0, pred).astype(np.uint32)
            gs = segs(*[(int(i), gcat[int(i)]) for i in np.unique(gt) if i], crowd=crowd)
            ps = segs(*[(int(i), int(rng.choice(cats))) for i in np.unique(pred) if i])
            raw.append((gt, pred, gs, ps))
            tables.append(frame(gt, pred, gs, ps))
        videos_raw[v], videos[v] = raw, tables
    aq, conf, per = obvious_stq(videos_raw)
    for rule in ("class", "miss"):
        res = stq_of(videos, rule)
        assert res["aq"] == pytest.approx(aq, abs=1e-12)
        assert res["iou"] == pytest.approx(_miou(conf, rule), abs=1e-12)
        for v, (a, c) in per.items():
            assert res["per_sequence"][v]["aq"] == pytest.approx(a, abs=1e-12)
            assert res["per_sequence"][v]["iou"] == pytest.approx(_miou(c, rule), abs=1e-12)
