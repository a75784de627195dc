"""The rules `vpskit show` draws by, on hand-made arrays: the error kind of each pixel from a
window's tube matching (by hand, and against a pixel-by-pixel reading of the rules), the window
of each frame, where labels go, and how far apart track colours are."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyframes import frame, segs
from vpskit.evaluation.metrics.categories import CategorySet
from vpskit.evaluation.metrics.vpq import match_window
from vpskit.visualize import overlay as ov
from vpskit.visualize.colours import track_colour

CATS = CategorySet.default()
ROAD, SIDEWALK, BUILDING, PERSON, CAR = 0, 1, 2, 11, 13
# GT (every frame): road rows 0-1, building rows 2-3, car A (100) rows 4-5 cols 0-3, car B
# (101) rows 4-5 cols 4-7, a crowd of persons (50) row 6 cols 0-3, void the rest.
GT_MAP = np.array([[1] * 8, [1] * 8, [2] * 8, [2] * 8,
                   [100] * 4 + [101] * 4, [100] * 4 + [101] * 4,
                   [50] * 4 + [0] * 4, [0] * 8])
GT_SEGS = segs((1, ROAD), (2, BUILDING), (100, CAR), (101, CAR), (50, PERSON), crowd=(50,))


def _pred(car_a: int) -> np.ndarray:
    """Prediction: road right (11); building called sidewalk (12); car A as ``car_a`` plus one
    pixel of B; the next two pixels of B a car 201, B's last column void; the crowd half person
    (300), half building; on GT void row 6, a road pixel pair then void."""
    return np.array([[11] * 8, [11] * 8, [12] * 8, [12] * 8,
                     [car_a] * 5 + [201, 201, 0], [car_a] * 4 + [201, 201, 201, 0],
                     [300, 300, 12, 12, 11, 11, 0, 0], [0] * 8])


def test_error_kinds_hand_made():
    p1, p2 = _pred(200), _pred(202)  # car A switches id in frame 2
    pred_segs1 = segs((11, ROAD), (12, SIDEWALK), (200, CAR), (201, CAR), (300, PERSON))
    pred_segs2 = segs((11, ROAD), (12, SIDEWALK), (202, CAR), (201, CAR), (300, PERSON))
    f1 = frame(GT_MAP, p1, GT_SEGS, pred_segs1)
    f2 = frame(GT_MAP, p2, GT_SEGS, pred_segs2)
    C, K, T, M, V, N = ov.CORRECT, ov.WRONG_CATEGORY, ov.WRONG_TRACK, ov.MISSED, ov.ON_VOID, ov.NEUTRAL
    # Frame 1 alone (span 0): tube 200 = A (8 px) + 1 px of B: IoU 8/9, matched to A. Tube 201
    # = 5 px of B (8 px): IoU 5/8 > 0.5, matched to B. So the B pixel under 200 is a wrong
    # track, the rest of A and B correct; B's last column predicted void.
    want1 = np.array([[C] * 8, [C] * 8, [K] * 8, [K] * 8,
                      [C] * 4 + [T, C, C, M], [C] * 4 + [C, C, C, M],
                      [C, C, K, K, V, V, N, N], [N] * 8])
    got = ov.error_kinds(GT_MAP, p1, match_window([f1], CATS))
    assert np.array_equal(got, want1), got
    # Window of both frames (span 5): tube 200 holds 9 px, A 16 px, overlap 8: IoU 8/17, no
    # match; so is tube 202 (IoU 8/17). A's pixels are now a wrong track in frame 1 (and the B
    # pixel under 200 still is); B (tube 201: 10 of 16 px, IoU 10/16) stays matched.
    want2 = want1.copy()
    want2[4:6, 0:4] = T
    got = ov.error_kinds(GT_MAP, p1, match_window([f1, f2], CATS))
    assert np.array_equal(got, want2), got
    # the same from position maps into id tables (as pictures keep them)
    g_tab, p_tab = np.unique(np.append(GT_MAP, 999)), np.unique(np.append(p1, [202, 777]))
    got = ov.error_kinds_at(np.searchsorted(g_tab, GT_MAP), g_tab, np.searchsorted(p_tab, p1), p_tab,
                            match_window([f1, f2], CATS))
    assert np.array_equal(got, want2), got
    assert set(np.unique(want2).tolist()) == {C, K, T, M, V, N}


GT_KINDS = {1: (ROAD, False), 2: (BUILDING, False), 3: (CAR, False), 4: (CAR, False), 5: (CAR, True)}
PRED_KINDS = {7: ROAD, 8: SIDEWALK, 9: CAR, 10: CAR}


def _slow_kinds(gt: np.ndarray, pred: np.ndarray, matched: dict[int, int]) -> np.ndarray:
    """The error kind of each pixel, one pixel at a time, from the rules as written."""
    out = np.zeros(gt.shape, dtype=np.uint8)
    for (y, x), g in np.ndenumerate(gt):
        p = int(pred[y, x])
        if g == 0:
            out[y, x] = ov.NEUTRAL if p == 0 else ov.ON_VOID
        elif p == 0:
            out[y, x] = ov.MISSED
        elif GT_KINDS[int(g)][0] != PRED_KINDS[p]:
            out[y, x] = ov.WRONG_CATEGORY
        elif GT_KINDS[int(g)][1] or matched.get(p) == g:
            out[y, x] = ov.CORRECT
        else:
            out[y, x] = ov.WRONG_TRACK
    return out


FOLLOW = {0: 0, 1: 7, 2: 8, 3: 9, 4: 9, 5: 10}
"""The predicted id each GT id mostly gets: many tubes match, and the two cars share one
(matched to the larger, so the other's pixels are on a track matched to another)."""


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_error_kinds_agree_with_the_rules_pixel_by_pixel(seed, count):
    rng = np.random.default_rng(seed)
    tables, maps = [], []
    for _ in range(count):
        gt = rng.choice([0, 1, 2, 3, 3, 3, 4, 5], size=(6, 6))
        noise = rng.choice([0, 7, 8, 9, 10], size=(6, 6))
        pred = np.where(rng.random((6, 6)) < 0.6, np.vectorize(FOLLOW.get)(gt), noise)
        gt_ids, pred_ids = sorted(set(gt.ravel().tolist()) - {0}), sorted(set(pred.ravel().tolist()) - {0})
        gt_segs = segs(*[(i, GT_KINDS[i][0]) for i in gt_ids], crowd=[i for i in gt_ids if GT_KINDS[i][1]])
        tables.append(frame(gt, pred, gt_segs, segs(*[(i, PRED_KINDS[i]) for i in pred_ids])))
        maps.append((gt, pred))
    match = match_window(tables, CATS)
    for gt, pred in maps:
        assert np.array_equal(ov.error_kinds(gt, pred, match), _slow_kinds(gt, pred, match.matched_gt_of()))


def test_track_colours_are_far_apart():
    for video in ("0001", "0007", "0042", "0500"):
        colours = np.array([track_colour(video, n) for n in range(16)], dtype=float)
        gaps = np.linalg.norm(colours[:, None] - colours[None, :], axis=2)
        assert gaps[~np.eye(16, dtype=bool)].min() > 60, video
    assert track_colour("0001", 3) == track_colour("0001", 3) != track_colour("0002", 3)


@pytest.mark.parametrize(("index", "count", "span", "window"), [
    (0, 6, 15, range(0, 4)), (2, 6, 15, range(2, 6)), (5, 6, 15, range(2, 6)), (3, 6, 0, range(3, 4)),
    (5, 6, 5, range(4, 6)), (1, 3, 15, range(0, 3)),
])
def test_window_rule(index, count, span, window):
    assert ov.window_of(index, count, span) == window


def test_label_points_lie_inside_their_segments():
    pos = np.zeros((12, 20), dtype=np.int32)
    pos[1:11, 1:9] = 1  # a square
    pos[2:4, 10:19] = 2  # a bar
    pos[6:11, 10:19] = 3  # an L: its corner block and a thin arm
    pos[6:8, 10:19] = 3
    pos[8:11, 13:19] = 0
    present, ys, xs, _ = ov.label_points(pos, 4)
    assert present.tolist() == [1, 2, 3]
    assert (pos[ys, xs] == present).all()
    assert (ys[0], xs[0]) in {(5, 4), (5, 5), (6, 4), (6, 5)}  # the square's middle
