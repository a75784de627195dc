"""VPQ rules of SPEC §4 on tiny hand-computed arrays, and the fast path against an obvious one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyframes import frame, segs
from vpskit.errors import VpsError
from vpskit.evaluation.metrics import CategorySet, VPQAccumulator
from vpskit.evaluation.metrics.vpq import SPANS
from vpskit.evaluation.tables import (
    PairCounter,
    check_gt,
    frame_table,
    pair_counts,
    pair_counts_slow,
)

ROAD, SIDEWALK, CAR, PERSON = 0, 1, 13, 11
CATS = CategorySet.default()


def span_stats(frames_by_video, k=0):
    acc = VPQAccumulator(CATS)
    for v, frames in sorted(frames_by_video.items()):
        acc.update(v, frames)
    res = acc.result()[str(k)]
    return {int(c): v for c, v in res["per_class"].items()}, res


def test_void_overlap_is_subtracted_from_the_union():
    # GT: road id 1 on 6 px, 2 void px. Prediction: road id 5 on 4 road px and the 2 void px.
    gt = [[1, 1, 1, 0], [1, 1, 1, 0]]
    pred = [[5, 5, 0, 5], [5, 5, 0, 5]]
    f = frame(gt, pred, segs((1, ROAD)), segs((5, ROAD)))
    pc, _ = span_stats({"0001": [f]})
    # IoU = 4 / (6 + 6 - 4 - 2) = 2/3 (without the subtraction: 4/8 = 0.5, no match).
    assert (pc[ROAD]["tp"], pc[ROAD]["fp"], pc[ROAD]["fn"]) == (1, 0, 0)
    assert pc[ROAD]["iou"] == pytest.approx(2 / 3, abs=1e-15)


def test_iou_of_exactly_one_half_is_not_a_match():
    # GT road 4 px and sidewalk 4 px; predicted road covers 2 road px + 0 others -> IoU 2/4.
    gt = [[1, 1, 2, 2], [1, 1, 2, 2]]
    pred = [[5, 5, 6, 6], [0, 0, 6, 6]]
    f = frame(gt, pred, segs((1, ROAD), (2, SIDEWALK)), segs((5, ROAD), (6, SIDEWALK)))
    pc, res = span_stats({"0001": [f]})
    assert (pc[ROAD]["tp"], pc[ROAD]["fp"], pc[ROAD]["fn"]) == (0, 1, 1)
    assert (pc[SIDEWALK]["tp"], pc[SIDEWALK]["fp"], pc[SIDEWALK]["fn"]) == (1, 0, 0)
    # One pixel more and it matches: IoU 3/4.
    pred2 = [[5, 5, 6, 6], [5, 0, 6, 6]]
    f2 = frame(gt, pred2, segs((1, ROAD), (2, SIDEWALK)), segs((5, ROAD), (6, SIDEWALK)))
    pc2, _ = span_stats({"0001": [f2]})
    assert (pc2[ROAD]["tp"], pc2[ROAD]["fp"], pc2[ROAD]["fn"]) == (1, 0, 0)
    assert pc2[ROAD]["iou"] == 0.75
    # PQ of road = 0 / (0 + 1/2 + 1/2); sidewalk PQ 1; mean over the two counted categories.
    assert res["all"]["n"] == 2 and res["all"]["pq"] == 0.5 and res["all"]["rq"] == 0.5
    assert res["stuff"] == {"pq": 0.5, "sq": 0.5, "rq": 0.5, "n": 2}
    assert res["things"] == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}


def test_false_positive_on_crowd_of_its_category_is_ignored():
    # GT: road (1) left half, car crowd (9) right half. Predicted car 7 on 3 crowd px + 1 road px,
    # predicted person 8 on the other crowd px (another category: its crowd overlap does not count).
    gt = [[1, 1, 9, 9], [1, 1, 9, 9]]
    pred = [[5, 5, 7, 7], [5, 7, 7, 8]]
    f = frame(gt, pred, segs((1, ROAD), (9, CAR), crowd={9}), segs((5, ROAD), (7, CAR), (8, PERSON)))
    pc, _ = span_stats({"0001": [f]})
    assert (pc[CAR]["tp"], pc[CAR]["fp"], pc[CAR]["fn"]) == (0, 0, 0)  # 3/4 on crowd: ignored; crowd no FN
    assert (pc[PERSON]["tp"], pc[PERSON]["fp"], pc[PERSON]["fn"]) == (0, 1, 0)
    # Road: IoU 3/4 (pred 3 px, GT 4 px, inter 3) -> match.
    assert (pc[ROAD]["tp"], pc[ROAD]["iou"]) == (1, 0.75)


def test_false_positive_half_on_void_and_crowd_is_counted():
    # Predicted car 7: 1 px void + 1 px crowd + 2 px road -> (1 + 1) / 4 = 0.5, not > 0.5: FP.
    gt = [[1, 1, 9, 0], [1, 1, 1, 1]]
    pred = [[5, 5, 7, 7], [5, 5, 7, 7]]
    f = frame(gt, pred, segs((1, ROAD), (9, CAR), crowd={9}), segs((5, ROAD), (7, CAR)))
    pc, _ = span_stats({"0001": [f]})
    assert pc[CAR]["fp"] == 1


def test_only_the_last_crowd_segment_of_a_category_filters():
    # Two car crowd segments 8 then 9 (in JSON order); a predicted car on 8 is a FP, on 9 it is not.
    gt = [[8, 8, 9, 9], [8, 8, 9, 9]]
    on_first = [[7, 7, 0, 0], [7, 7, 0, 0]]
    on_last = [[0, 0, 7, 7], [0, 0, 7, 7]]
    gsegs = segs((8, CAR), (9, CAR), crowd={8, 9})
    pc, _ = span_stats({"0001": [frame(gt, on_first, gsegs, segs((7, CAR)))]})
    assert pc[CAR]["fp"] == 1
    pc, _ = span_stats({"0001": [frame(gt, on_last, gsegs, segs((7, CAR)))]})
    assert pc[CAR]["fp"] == 0
    # The "last" one is the later one in the window's segment lists, not the larger id.
    gsegs_rev = segs((9, CAR), (8, CAR), crowd={8, 9})
    pc, _ = span_stats({"0001": [frame(gt, on_first, gsegs_rev, segs((7, CAR)))]})
    assert pc[CAR]["fp"] == 0


def test_windows_never_cross_videos_and_tubes_span_frames():
    # Two videos of three frames; a perfect one-segment prediction.
    gt = [[1, 1], [1, 1]]
    f = frame(gt, gt, segs((1, ROAD)), segs((1, ROAD)))
    acc = VPQAccumulator(CATS)
    acc.update("0001", [f, f, f])
    acc.update("0002", [f, f, f])
    res = acc.result()
    assert [res[str(k)]["per_class"]["0"]["tp"] for k in SPANS] == [6, 4, 2, 0]
    assert res["15"]["all"]["n"] == 0 and res["15"]["all"]["pq"] == 0.0
    assert res["final"]["all"]["pq"] == pytest.approx(0.75)
    assert res["final"]["all"]["n"] == 1 and set(res["final"]["all"]) == set(res["0"]["all"])


def test_track_switch_breaks_the_tube_but_not_the_frames():
    # A car (GT id 3) predicted as track 7 in frame 0 and as track 8 in frame 1.
    gt = [[3, 3, 1, 1]]
    f0 = frame(gt, [[7, 7, 5, 5]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (7, CAR)))
    f1 = frame(gt, [[8, 8, 5, 5]], segs((1, ROAD), (3, CAR)), segs((5, ROAD), (8, CAR)))
    pc0, _ = span_stats({"0001": [f0, f1]}, k=0)
    assert (pc0[CAR]["tp"], pc0[CAR]["fp"], pc0[CAR]["fn"]) == (2, 0, 0)
    pc5, _ = span_stats({"0001": [f0, f1]}, k=5)
    # Tube of GT 3 has 4 px; each predicted tube covers 2 -> IoU 2/4 = 0.5 each: no match.
    assert (pc5[CAR]["tp"], pc5[CAR]["fp"], pc5[CAR]["fn"]) == (0, 2, 1)
    assert (pc5[ROAD]["tp"], pc5[ROAD]["iou"]) == (1, 1.0)


def test_pq_sq_rq_formulas():
    # Road: TP with IoU 2/3, sidewalk: FN, a predicted sidewalk elsewhere: FP.
    gt = [[1, 1, 1, 0, 2, 2]]
    pred = [[5, 5, 0, 6, 0, 0]]
    f = frame(gt, pred, segs((1, ROAD), (2, SIDEWALK)), segs((5, ROAD), (6, SIDEWALK)))
    pc, res = span_stats({"0001": [f]})
    assert pc[ROAD]["pq"] == pytest.approx(2 / 3) and pc[ROAD]["sq"] == pytest.approx(2 / 3)
    assert (pc[SIDEWALK]["tp"], pc[SIDEWALK]["fp"], pc[SIDEWALK]["fn"]) == (0, 0, 1)  # 6 is on void
    assert pc[SIDEWALK]["pq"] == 0.0 and pc[SIDEWALK]["sq"] == 0.0
    assert res["all"]["n"] == 2
    assert res["all"]["pq"] == pytest.approx((2 / 3 + 0) / 2)


def test_merge_gives_the_same_result_as_one_accumulator():
    rng = np.random.default_rng(5)
    videos = {f"{v:04d}": random_video(rng, 6, 6, 8) for v in range(1, 5)}
    whole = VPQAccumulator(CATS)
    for v, fr in videos.items():
        whole.update(v, fr)
    a, b = VPQAccumulator(CATS), VPQAccumulator(CATS)
    for i, (v, fr) in enumerate(sorted(videos.items(), reverse=True)):
        (a if i % 2 else b).update(v, fr)
    assert b.merge(a).result() == whole.result()
    with pytest.raises(ValueError):
        whole.merge(a)


def test_png_and_json_must_agree():
    gt = [[1, 1]]
    with pytest.raises(VpsError, match="segment id 6 .* in the PNG but not in"):
        frame(gt, [[5, 6]], segs((1, ROAD)), segs((5, ROAD)))
    with pytest.raises(VpsError, match="segment id 7 .* in segments_info but not in the PNG"):
        frame(gt, [[5, 5]], segs((1, ROAD)), segs((5, ROAD), (7, CAR)))
    with pytest.raises(VpsError, match="size 3x1 differs"):
        frame(gt, [[5, 5, 5]], segs((1, ROAD)), segs((5, ROAD)))
    with pytest.raises(VpsError, match="segment id 2 .* not in the ground-truth"):
        frame([[1, 2]], [[5, 5]], segs((1, ROAD)), segs((5, ROAD)))


# --------------------------------------------------------------------------- fast vs obvious


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(1, 9), st.integers(1, 40))
def test_pair_counts_equal_the_obvious_count(seed, h, w, n_ids):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 2**24, size=n_ids, dtype=np.uint32)
    a = ids[rng.integers(0, n_ids, size=(h, w))]
    b = ids[rng.integers(0, n_ids, size=(h, w))]
    fast = pair_counts(a, b)
    slow = pair_counts_slow(a, b)
    # the top byte of raw RGBX pixels is not part of the id
    top = (rng.integers(0, 256, size=(h, w)).astype(np.uint32) << np.uint32(24))
    for x, y in zip(pair_counts(a | top, b | top[::-1]), slow, strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 8), st.booleans(), st.booleans())
def test_one_counter_over_many_frames_equals_the_obvious_count(seed, h, w, clash, sparse):
    """A counter reused frame after frame (lookup tables keep stale entries), with ids whose low
    16 bits clash (no lookup table) or not, counting densely or through a sort."""
    rng = np.random.default_rng(seed)
    counter = PairCounter()
    if sparse:
        counter.dense_limit = 0
    for _ in range(4):
        n_gt, n_pred = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        gt_ids = rng.choice(np.arange(1, 2**16, dtype=np.uint32), n_gt, replace=False)
        pred_ids = rng.integers(1, 2**24, n_pred, dtype=np.uint32)
        if clash:
            gt_ids = np.concatenate((gt_ids, gt_ids[:1] + np.uint32(2**16 * int(rng.integers(1, 255)))))
        gt_ids = np.concatenate(([0], gt_ids)).astype(np.uint32)
        rep = int(rng.integers(1, 5))  # runs of equal ids along the rows

        def draw(choices, rep=rep):
            return np.repeat(choices[rng.integers(0, choices.size, size=(h, w))], rep, axis=1)

        a = draw(gt_ids)
        b = draw(np.concatenate(([0], pred_ids)).astype(np.uint32))
        top = rng.integers(0, 256, size=2).astype(np.uint32) << np.uint32(24)  # like RGBX's pad byte
        gt_segs = segs(*[(int(i), ROAD) for i in gt_ids[1:]])
        present = [int(i) for i in np.unique(b) if i]
        pred_segs = segs(*[(i, CAR) for i in present])
        check_gt(counter, a | top[0], gt_segs)
        table = frame_table(counter, b | top[1], gt_segs, pred_segs)
        slow = pair_counts_slow(a, b)
        for x, y in zip((table.pair_gt, table.pair_pred, table.pair_count), slow, strict=True):
            np.testing.assert_array_equal(x, y)


def test_ids_sharing_low_bits_with_known_ids_are_still_unknown():
    counter = PairCounter()
    # frame 1 teaches the lookup tables ids 7 and 9
    check_gt(counter, np.array([[7, 7]], np.uint32), segs((7, ROAD)))
    frame_table(counter, np.array([[9, 9]], np.uint32), segs((7, ROAD)), segs((9, ROAD)))
    # frame 2: id 7 is no longer in the GT JSON; 5 + 2**16 looks like 5 in its low 16 bits
    with pytest.raises(VpsError, match="segment id 7 .* not in the ground-truth"):
        check_gt(counter, np.array([[7, 8]], np.uint32), segs((8, ROAD)))
    with pytest.raises(VpsError, match=f"segment id {5 + 2**16} .* in the PNG but not in"):
        check_gt(counter, np.array([[5, 5]], np.uint32), segs((5, ROAD)))
        frame_table(counter, np.array([[5, 5 + 2**16]], np.uint32), segs((5, ROAD)), segs((5, CAR)))
    check_gt(counter, np.array([[5, 5]], np.uint32), segs((5, ROAD)))
    with pytest.raises(VpsError, match="segment id 9 .* in the PNG but not in"):
        frame_table(counter, np.array([[5, 9]], np.uint32), segs((5, ROAD)), segs((5, CAR)))


def random_video(rng, h, w, n_frames, n_gt=5, n_pred=6):
    """Random frames: GT ids 1..n_gt (+ void, one crowd car), predictions ids 101.. with random categories."""
    cat_choices = [ROAD, SIDEWALK, CAR, PERSON]
    gcat = {i: int(rng.choice(cat_choices)) for i in range(1, n_gt + 1)}
    pcat_track = {100 + i: int(rng.choice(cat_choices)) for i in range(1, n_pred + 1)}
    crowd = {n_gt} if rng.random() < 0.7 else set()
    if crowd:
        gcat[n_gt] = CAR
    frames = []
    for _ in range(n_frames):
        base = rng.integers(0, n_gt + 1, size=(h // 2 + 1, w // 2 + 1))
        gt = np.kron(base, np.ones((2, 2), int))[:h, :w].astype(np.uint32)
        pred = gt.copy().astype(np.int64) + 100
        pred[gt == 0] = 0
        noise = rng.random((h, w)) < 0.3
        pred[noise] = rng.integers(0, n_pred + 1, size=int(noise.sum())) + 100
        pred[pred == 100] = 0
        pred = np.where(pred > 100 + n_pred, 100 + 1, pred).astype(np.uint32)
        gids = [int(i) for i in np.unique(gt) if i]
        gids = [i for i in range(1, n_gt + 1) if i in gids or rng.random() < 0.2]  # some absent from the PNG
        pids = [int(i) for i in np.unique(pred) if i]
        # a predicted id may change category between frames
        pc = {p: (pcat_track[p] if rng.random() < 0.8 else int(rng.choice(cat_choices))) for p in pids}
        frames.append(frame(gt, pred, segs(*[(i, gcat[i]) for i in gids], crowd=crowd),
                            segs(*[(p, pc[p]) for p in pids])))
    return frames


def obvious_vpq(videos, categories):
    """SPEC §4 read literally: loops over tubes and pixel masks (tiny inputs only)."""
    stats = {k: {c: [0.0, 0, 0, 0] for c in categories.ids} for k in SPANS}
    for v in sorted(videos):
        frames = videos[v]
        for k in SPANS:
            n = k // 5 + 1
            for s in range(len(frames) - n + 1):
                win = frames[s:s + n]
                g_info, p_info = {}, {}
                g_pos = 0
                for f in win:
                    for i, c, cr in zip(f.gt.ids.tolist(), f.gt.category.tolist(), f.gt.crowd.tolist(), strict=True):
                        if i not in g_info:
                            g_info[i] = (c, cr, g_pos)
                        g_pos += 1
                    for i, c in zip(f.pred.ids.tolist(), f.pred.category.tolist(), strict=True):
                        p_info.setdefault(i, c)
                inter: dict[tuple[int, int], int] = {}
                for f in win:
                    for g, p, c in zip(f.pair_gt.tolist(), f.pair_pred.tolist(), f.pair_count.tolist(), strict=True):
                        inter[(g, p)] = inter.get((g, p), 0) + c
                g_area = {g: sum(c for (gg, _), c in inter.items() if gg == g) for g in g_info}
                p_area = {p: sum(c for (_, pp), c in inter.items() if pp == p) for p in p_info}
                gm, pm = set(), set()
                for (g, p), c in sorted(inter.items()):
                    if g not in g_info or p not in p_info or g_info[g][1] or g_info[g][0] != p_info[p]:
                        continue
                    iou = c / (p_area[p] + g_area[g] - c - inter.get((0, p), 0))
                    if iou > 0.5:
                        st_ = stats[k][g_info[g][0]]
                        st_[0] += iou
                        st_[1] += 1
                        gm.add(g)
                        pm.add(p)
                crowd_of = {}
                for g, (c, cr, _pos) in sorted(g_info.items(), key=lambda t: t[1][2]):
                    if cr:
                        crowd_of[c] = g
                    elif g not in gm:
                        stats[k][c][3] += 1
                for p, c in p_info.items():
                    if p in pm:
                        continue
                    ign = inter.get((0, p), 0) + (inter.get((crowd_of[c], p), 0) if c in crowd_of else 0)
                    if ign / p_area[p] > 0.5:
                        continue
                    stats[k][c][2] += 1
    return stats


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_vpq_equals_the_obvious_implementation(seed):
    rng = np.random.default_rng(seed)
    videos = {f"{v:04d}": random_video(rng, int(rng.integers(2, 7)), int(rng.integers(2, 7)),
                                      int(rng.integers(1, 7))) for v in range(1, 3)}
    acc = VPQAccumulator(CATS)
    for v, fr in videos.items():
        acc.update(v, fr)
    res = acc.result()
    want = obvious_vpq(videos, CATS)
    for k in SPANS:
        for c in CATS.ids:
            got = res[str(k)]["per_class"][str(c)]
            iou, tp, fp, fn = want[k][c]
            assert (got["tp"], got["fp"], got["fn"]) == (tp, fp, fn), (k, c)
            assert got["iou"] == pytest.approx(iou, abs=1e-12)


def test_track_matches_say_where_tracking_breaks():
    # Four frames; the car (GT 3) switches predicted track (7 -> 8) at frame 2; the road is
    # perfect; the person (GT 4) is missed in frame 1 only.
    from vpskit.evaluation.metrics.vpq import video_state

    gt = [[3, 3, 1, 1, 4]]
    gsegs = segs((1, ROAD), (3, CAR), (4, PERSON))
    preds = [([[7, 7, 5, 5, 9]], [(5, ROAD), (7, CAR), (9, PERSON)]),
             ([[7, 7, 5, 5, 0]], [(5, ROAD), (7, CAR)]),
             ([[8, 8, 5, 5, 9]], [(5, ROAD), (8, CAR), (9, PERSON)]),
             ([[8, 8, 5, 5, 9]], [(5, ROAD), (8, CAR), (9, PERSON)])]
    frames = [frame(gt, p, gsegs, segs(*recs)) for p, recs in preds]
    st = video_state(frames, CATS, tracks=True)
    t = st.tracks
    assert t.ids.tolist() == [1, 3, 4]
    assert t.category.tolist() == [ROAD, CAR, PERSON]
    # spans 0, 5, 10, 15 hold 4, 3, 2, 1 windows, and every track is in each of them
    assert t.present.T.tolist() == [[4, 3, 2, 1]] * 3
    assert t.matched[:, 0].tolist() == [4, 3, 2, 1]
    # car, GT tube of 2 px per frame: at k=5 the window of frames 1-2 splits it 2/4 (no match);
    # at k=10 each window has one track over 4 of 6 px (match); at k=15, 4/8 for each (no match)
    assert t.matched[:, 1].tolist() == [4, 2, 2, 0]
    # person, 1 px per frame: k=5 matches only frames 2-3; k=10 both windows (2/3); k=15 3/4
    assert t.matched[:, 2].tolist() == [3, 1, 2, 1]
    # only the car is matched in every frame and lost in a 4-frame window
    assert t.lost().tolist() == [False, True, False]
    # the sums are those of the plain state
    plain = video_state(frames, CATS)
    assert plain.tracks is None
    for name in ("iou", "tp", "fp", "fn"):
        assert np.array_equal(getattr(plain, name), getattr(st, name))
