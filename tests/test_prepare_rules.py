"""Stage rules of SPEC §2 on hand-built arrays, and the vectorised stages against obvious ones."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpskit.categories import CATEGORY_BY_ID, LABEL_BY_NAME, pack_color
from vpskit.errors import VpsError
from vpskit.preparation import assign_colors, colorize, panoptic_from_labels, segments_info
from vpskit.preparation.video import COLOR_SPREAD, FORBIDDEN_IDS, category_of_value

C = {name: LABEL_BY_NAME[name].color for name in LABEL_BY_NAME}
L = {name: LABEL_BY_NAME[name].id for name in LABEL_BY_NAME}
BLACK = (0, 0, 0)


def cls_of(rows):
    """(H, W, 4) RGBA array from rows of colour names / tuples; alpha varies to prove it is ignored."""
    arr = np.array([[C[c] if isinstance(c, str) else c for c in row] for row in rows], dtype=np.uint8)
    alpha = (np.arange(arr.shape[0] * arr.shape[1], dtype=np.uint8) * 37).reshape(arr.shape[:2])
    return np.dstack([arr, alpha])


def inst_of(rows):
    return np.array(rows, dtype=np.uint16)


def test_stuff_void_and_polegroup():
    cls = cls_of([["road", "sky", "polegroup", "parking"],
                  ["building", "dynamic", "ground", BLACK]])
    inst = inst_of([[7, 23, 18, 9], [11, 5, 6, 0]])
    sem, pan = panoptic_from_labels(cls, inst)
    assert sem.dtype == np.uint8 and pan.dtype == np.uint16
    assert sem.tolist() == [[0, 10, 5, 255], [2, 255, 255, 255]]
    assert pan.tolist() == [[0, 10, 5, 255], [2, 255, 255, 255]]


def test_instance_k0_overrides_stuff_and_crowd_stays_void():
    # Object 26000 (car, k = 0): 3 car pixels, 1 sky pixel -> all four become 13000.
    # Car-coloured pixels with plain id 26 (a crowd region) stay 255 in pan, 13 in labelmap.
    cls = cls_of([["car", "car", "sky", "car"],
                  ["car", "car", "road", "road"]])
    inst = inst_of([[26000, 26000, 26000, 26000], [26, 26, 7, 7]])
    sem, pan = panoptic_from_labels(cls, inst)
    assert sem.tolist() == [[13, 13, 10, 13], [13, 13, 0, 0]]
    assert pan.tolist() == [[13000, 13000, 13000, 13000], [255, 255, 0, 0]]


def test_majority_tie_goes_to_smallest_packed_colour():
    # 2 car pixels, 2 person pixels: person (220,20,60) packs smaller than car (0,0,142).
    assert pack_color(C["person"]) < pack_color(C["car"])
    cls = cls_of([["car", "person", "car", "person"]])
    inst = inst_of([[26005, 26005, 26005, 26005]])
    _, pan = panoptic_from_labels(cls, inst)
    assert pan.tolist() == [[11005] * 4]


def test_each_raw_colour_is_its_own_candidate():
    # 2 black + 2 caravan + 3 car: the void colours do not pool, so car wins with 3.
    cls = cls_of([["car", "car", "car", BLACK, BLACK, "caravan", "caravan"]])
    inst = inst_of([[24002] * 7])
    _, pan = panoptic_from_labels(cls, inst)
    assert pan.tolist() == [[13002] * 7]
    # 3 black + 2 car: majority black, not a thing colour -> left as they were (255).
    cls = cls_of([[BLACK, BLACK, BLACK, "car", "car"]])
    _, pan = panoptic_from_labels(cls, inst_of([[26001] * 5]))
    assert pan.tolist() == [[255] * 5]


def test_object_with_stuff_majority_is_left_alone():
    cls = cls_of([["sky", "sky", "sky", "person"]])
    _, pan = panoptic_from_labels(cls, inst_of([[24001] * 4]))
    assert pan.tolist() == [[10, 10, 10, 255]]


def test_caravan_and_trailer_are_skipped():
    cls = cls_of([["caravan", "caravan", "trailer", "road"]])
    inst = inst_of([[29001, 29001, 30000, 7]])
    sem, pan = panoptic_from_labels(cls, inst)
    assert sem.tolist() == [[255, 255, 255, 0]]
    assert pan.tolist() == [[255, 255, 255, 0]]


def test_license_plate_counts_as_car_and_two_objects_merge():
    # A motorcycle id painted in bicycle colour and a bicycle id: both become 18007.
    cls = cls_of([["bicycle", "bicycle", "bicycle", "bicycle"],
                  ["license plate", "car", "road", "road"]])
    inst = inst_of([[33007, 33007, 32007, 32007], [26003, 26003, 7, 7]])
    _, pan = panoptic_from_labels(cls, inst)
    assert pan.tolist() == [[18007, 18007, 18007, 18007], [13003, 13003, 0, 0]]


def test_value_is_category_times_1000_plus_k_mod_1000():
    cls = cls_of([["rider", "train", "bus", "truck"]])
    inst = inst_of([[25999, 31012, 28040, 27001]])
    _, pan = panoptic_from_labels(cls, inst)
    assert pan.tolist() == [[12999, 16012, 15040, 14001]]


def test_rgb_without_alpha_and_bad_shapes():
    cls = cls_of([["car", "road"]])[..., :3]
    _, pan = panoptic_from_labels(cls, inst_of([[26001, 7]]))
    assert pan.tolist() == [[13001, 0]]
    with pytest.raises(ValueError):
        panoptic_from_labels(cls, inst_of([[1, 2, 3]]))


# -- the obvious implementation ----------------------------------------------------------
PALETTE = [C[n] for n in ("road", "sky", "pole", "car", "person", "bicycle", "rider", "caravan",
                          "parking", "dynamic")] + [BLACK, (1, 2, 3), (0, 0, 141)]
INST_VALUES = [0, 7, 18, 23, 26, 24000, 24001, 26000, 26001, 26999, 29001, 33005, 32005, 25001]
COLOR_TO_CAT = {c.color: c.id for c in CATEGORY_BY_ID.values()}


def obvious_panoptic(cls, inst):
    h, w = inst.shape
    sem = np.full((h, w), 255, dtype=np.uint8)
    pan = np.full((h, w), 255, dtype=np.uint16)
    for y in range(h):
        for x in range(w):
            cat = COLOR_TO_CAT.get(tuple(int(v) for v in cls[y, x, :3]), 255)
            sem[y, x] = cat
            if cat != 255 and not CATEGORY_BY_ID[cat].isthing:
                pan[y, x] = cat
    for v in sorted(set(inst.ravel().tolist())):
        if v < 1000:
            continue
        pixels = [(y, x) for y in range(h) for x in range(w) if inst[y, x] == v]
        votes = Counter(pack_color(cls[y, x, :3]) for y, x in pixels)
        best = min(votes, key=lambda c: (-votes[c], c))
        rgb = (best & 255, (best >> 8) & 255, best >> 16)
        cat = COLOR_TO_CAT.get(rgb, 255)
        if cat != 255 and CATEGORY_BY_ID[cat].isthing:
            for y, x in pixels:
                pan[y, x] = cat * 1000 + v % 1000
    return sem, pan


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.data())
def test_vectorised_stage3_equals_obvious(h, w, data):
    cidx = data.draw(st.lists(st.integers(0, len(PALETTE) - 1), min_size=h * w, max_size=h * w))
    vidx = data.draw(st.lists(st.integers(0, len(INST_VALUES) - 1), min_size=h * w, max_size=h * w))
    cls = np.array([PALETTE[i] for i in cidx], dtype=np.uint8).reshape(h, w, 3)
    inst = np.array([INST_VALUES[i] for i in vidx], dtype=np.uint16).reshape(h, w)
    sem, pan = panoptic_from_labels(cls, inst)
    sem2, pan2 = obvious_panoptic(cls, inst)
    assert np.array_equal(sem, sem2)
    assert np.array_equal(pan, pan2)


def test_vectorised_stage3_equals_obvious_on_random_images():
    rng = np.random.default_rng(7)
    for _ in range(5):
        cls = np.array(PALETTE, dtype=np.uint8)[rng.integers(0, len(PALETTE), (12, 17))]
        inst = np.array(INST_VALUES, dtype=np.uint16)[rng.integers(0, len(INST_VALUES), (12, 17))]
        a, b = panoptic_from_labels(cls, inst), obvious_panoptic(cls, inst)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# -- stage 4 -----------------------------------------------------------------------------
def test_category_of_value_and_void():
    assert [category_of_value(v) for v in (0, 10, 11, 18, 19, 255, 13001, 18999, 19000)] == \
        [0, 10, 11, 18, 255, 255, 13, 18, 255]


def test_assign_colors_rules():
    pairs = [(1, 0), (1, 10), (1, 255), (1, 13000), (1, 13001), (2, 13000), (2, 11), (3, 19000)]
    colors = assign_colors("val", pairs)
    assert colors[1, 0] == pack_color(C["road"])
    assert colors[1, 10] == pack_color(C["sky"])
    assert colors[1, 255] == 0 and colors[3, 19000] == 0
    things = [colors[p] for p in ((1, 13000), (1, 13001), (2, 13000), (2, 11))]
    assert len(set(things)) == 4
    for p, sid in zip(((1, 13000), (1, 13001), (2, 13000), (2, 11)), things, strict=True):
        base = CATEGORY_BY_ID[category_of_value(p[1])].color
        rgb = (sid & 255, (sid >> 8) & 255, sid >> 16)
        assert all(abs(a - b) <= COLOR_SPREAD for a, b in zip(rgb, base, strict=True))
        assert sid not in FORBIDDEN_IDS
    # Deterministic and independent of the order pairs are given in.
    assert assign_colors("val", list(reversed(pairs))) == colors
    assert assign_colors("train", pairs) != colors


def test_assign_colors_unique_when_crowded():
    # 29,791 colours fit around rider (255, 0, 0); 20,000 segments force many collisions.
    pairs = [(v, 12000 + k) for v in range(1, 21) for k in range(1000)]
    colors = assign_colors("train", pairs)
    assert len(set(colors.values())) == len(pairs)
    assert not set(colors.values()) & FORBIDDEN_IDS
    pairs = [(v, 12000 + k) for v in range(1, 31) for k in range(1000)]
    with pytest.raises(VpsError, match="too many 'rider' segments"):
        assign_colors("train", pairs)


def test_colorize_and_segments_info_golden():
    pan = np.array([[0, 0, 13001], [13001, 255, 11]], dtype=np.uint16)
    colors = {0: pack_color(C["road"]), 13001: 0x8E0005, 255: 0, 11: 0x3C14DC}
    rgb = colorize(pan, colors)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    assert rgb[0, 2].tolist() == [5, 0, 0x8E] and rgb[1, 1].tolist() == [0, 0, 0]
    assert segments_info(pan, colors) == [
        {"id": 0x3C14DC, "category_id": 11, "iscrowd": 1, "area": 1},
        {"id": pack_color(C["road"]), "category_id": 0, "iscrowd": 0, "area": 2},
        {"id": 0x8E0005, "category_id": 13, "iscrowd": 0, "area": 2},
    ]


PAN_VALUES = [0, 5, 10, 11, 13, 19, 255, 11001, 13000, 13001, 18999, 19000, 12005]


def obvious_video(split, frames):
    """Per pixel: colour of (video, value) and per-value areas, by plain loops."""
    colors = assign_colors(split, {(1, int(v)) for f in frames for v in f.ravel()})
    images, infos = [], []
    for f in frames:
        h, w = f.shape
        img = np.zeros((h, w, 3), dtype=np.uint8)
        areas = Counter()
        for y in range(h):
            for x in range(w):
                sid = colors[1, int(f[y, x])]
                img[y, x] = (sid & 255, (sid >> 8) & 255, sid >> 16)
                if category_of_value(int(f[y, x])) != 255:
                    areas[int(f[y, x])] += 1
        images.append(img)
        infos.append(sorted(({"id": colors[1, v], "category_id": category_of_value(v),
                              "iscrowd": int(v < 1000 and v >= 11), "area": a}
                             for v, a in areas.items()), key=lambda s: s["id"]))
    return colors, images, infos


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), st.data())
def test_vectorised_stage4_equals_obvious(n, h, w, data):
    frames = [np.array(data.draw(st.lists(st.sampled_from(PAN_VALUES), min_size=h * w, max_size=h * w)),
                       dtype=np.uint16).reshape(h, w) for _ in range(n)]
    colors, images, infos = obvious_video("val", frames)
    per_value = {v: sid for (_, v), sid in colors.items()}
    for f, img, info in zip(frames, images, infos, strict=True):
        assert np.array_equal(colorize(f, per_value), img)
        assert segments_info(f, per_value) == info
