"""Every window of a span matched at once (VideoTubes) gives, bit for bit, the sums of matching
the windows one by one (window_stats)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyframes import frame, segs
from vpskit.evaluation.metrics import CategorySet, vpq_windows
from vpskit.evaluation.metrics.vpq import VPQVideoState, video_state, window_stats
from vpskit.evaluation.metrics.vpq_windows import VideoTubes

CATS = CategorySet.default()
ROAD, SIDEWALK, PERSON, CAR = 0, 1, 11, 13


def _video(rng, h, w, n_frames):
    """Random frames with stuff and things, several crowd segments of a category (whose order
    in the lists varies), GT ids listed without pixels, and ids whose category or crowd flag
    changes from frame to frame."""
    cats = [ROAD, SIDEWALK, PERSON, CAR]
    n_gt, n_pred = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    gcat = {i: int(rng.choice(cats)) for i in range(1, n_gt + 1)}
    pcat = {100 + i: int(rng.choice(cats)) for i in range(1, n_pred + 1)}
    crowd = {i for i in gcat if rng.random() < 0.3}
    frames = []
    for _ in range(n_frames):
        base = rng.integers(0, n_gt + 1, size=(h // 2 + 1, w // 2 + 1))
        gt = np.kron(base, np.ones((2, 2), int))[:h, :w].astype(np.uint32)
        pred = np.where(gt == 0, 0, gt.astype(np.int64) % (n_pred + 1) + 100)
        noise = rng.random((h, w)) < float(rng.choice([0.0, 0.2, 0.6]))
        pred[noise] = rng.integers(0, n_pred + 1, size=int(noise.sum())) + 100
        pred = np.where(pred == 100, 0, pred).astype(np.uint32)
        gids = [i for i in gcat if i in gt or rng.random() < 0.3]
        rng.shuffle(gids)
        g_records = [(i, gcat[i] if rng.random() < 0.85 else int(rng.choice(cats))) for i in gids]
        g_crowd = {i for i in gids if (i in crowd) != (rng.random() < 0.1)}
        pids = [int(i) for i in np.unique(pred) if i]
        rng.shuffle(pids)
        p_records = [(p, pcat[p] if rng.random() < 0.85 else int(rng.choice(cats))) for p in pids]
        frames.append(frame(gt, pred, segs(*g_records, crowd=g_crowd), segs(*p_records)))
    return frames


def _one_by_one(frames, window_frames):
    state = VPQVideoState.zeros(len(CATS), len(window_frames))
    for s, n in enumerate(window_frames):
        for start in range(len(frames) - n + 1):
            window_stats(frames[start:start + n], CATS, state.iou[s], state.tp[s], state.fp[s], state.fn[s])
    return state


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(1, 2, 3, 4), (1, 2, 4, 6, 8)]))
def test_all_windows_at_once_equal_one_by_one(seed, window_frames):
    rng = np.random.default_rng(seed)
    frames = _video(rng, int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 9)))
    assert VideoTubes.of(frames, CATS) is not None
    fast = video_state(frames, CATS, window_frames=window_frames)
    slow = _one_by_one(frames, window_frames)
    for name in ("iou", "tp", "fp", "fn"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes(), name  # the same bits, not just close
    # the state with tracks (window by window) holds the same sums
    tracked = video_state(frames, CATS, tracks=True, window_frames=window_frames)
    assert tracked.iou.tobytes() == fast.iou.tobytes() and (tracked.fp == fast.fp).all()


def test_a_hand_counted_video():
    # Frame 1: car 1 (GT) found by 7; frame 2: car 1 found by 8 (a track switch); a crowd car 2
    # under predicted 9 (ignored), and predicted 6 (a road) on void: ignored too.
    f1 = frame([[1, 1, 0, 3]], [[7, 7, 6, 3]], segs((1, CAR), (3, ROAD)), segs((7, CAR), (6, ROAD), (3, ROAD)))
    f2 = frame([[1, 1, 2, 3]], [[8, 8, 9, 3]], segs((1, CAR), (2, CAR), (3, ROAD), crowd={2}),
               segs((8, CAR), (9, CAR), (3, ROAD)))
    state = video_state([f1, f2], CATS, window_frames=(1, 2))
    car, road = CATS.positions([CAR, ROAD])
    assert state.tp[0, car] == 2 and state.fp[0, car] == 0 and state.fn[0, car] == 0
    assert state.tp[0, road] == 2 and state.iou[0, road] == 2.0
    # over both frames the car tube (4 pixels) meets tubes 7 and 8 (2 pixels each): no match
    assert state.tp[1, car] == 0 and state.fn[1, car] == 1 and state.fp[1, car] == 2
    assert state.iou[1, road] == 1.0 and state.fp[1, road] == 0


def test_the_dense_way_steps_aside_for_large_or_unlisted_tables(monkeypatch):
    f1 = frame([[1, 2]], [[5, 6]], segs((1, CAR), (2, ROAD)), segs((5, CAR), (6, ROAD)))
    assert VideoTubes.of([f1], CATS) is not None
    assert VideoTubes.of([], CATS) is None
    monkeypatch.setattr(vpq_windows, "DENSE_LIMIT", 2 * 3 * 3 - 1)
    assert VideoTubes.of([f1], CATS) is None
    assert video_state([f1], CATS).tp.sum() == 2  # window by window then
    monkeypatch.undo()
    # counts holding an id the segments do not list (a table made by hand)
    odd = type(f1)(segs((1, CAR)), f1.pred, f1.pair_gt, f1.pair_pred, f1.pair_count)
    assert VideoTubes.of([odd], CATS) is None
    assert VideoTubes.of([f1, odd], CATS) is None  # id 2 is listed in another frame only
    odd = type(f1)(f1.gt, segs((5, CAR)), f1.pair_gt, f1.pair_pred, f1.pair_count)
    assert VideoTubes.of([f1, odd], CATS) is None
    assert video_state([f1, odd], CATS).tp.sum() == video_state([f1, odd], CATS, tracks=True).tp.sum()


def test_unknown_category_is_refused():
    f1 = frame([[1]], [[5]], segs((1, CAR)), segs((5, CAR)))
    with pytest.raises(ValueError, match="outside the category set"):
        VideoTubes.of([f1], CategorySet((0, 1), (False, False)))
