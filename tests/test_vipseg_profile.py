"""The VIPSeg profile: the facts of panoVIPSeg_categories.json and of the official scripts."""

from __future__ import annotations

import hashlib
import json

import pytest

from vpskit.profiles import detect_benchmark, get_profile
from vpskit.profiles.vipseg import CATEGORY_TABLE, label_numbers, raw_category
from vpskit.synth.vipseg import categories_json_bytes


def test_categories_are_the_124_of_the_release():
    p = get_profile("vipseg")
    assert p.category_ids == tuple(range(124))
    assert sum(p.thing_flags) == 58
    names = {c.id: c.name for c in p.categories}
    assert (names[0], names[48], names[60], names[123]) == ("wall", "car", "person", "train")
    assert {c.id for c in p.categories if c.isthing} == set(p.stq_things)
    assert {2, 4, 8, 10, 48, 60, 123} <= set(p.stq_things) and not {0, 1, 6, 121} & set(p.stq_things)
    colours = [c for *_, c in CATEGORY_TABLE]
    assert len(set(colours)) == 123 and colours[6] == colours[48] == (140, 140, 140)


def test_categories_json_is_the_release_file():
    # sha256 of panoVIPSeg_categories.json and label_num_dic_final.json at the reference commit
    assert hashlib.sha256(categories_json_bytes()).hexdigest() == (
        "1d45670f47a2e12b77f9b88b456c515a081a37fcd6e19479241f5a9daf400d84")
    assert hashlib.sha256((json.dumps(label_numbers()) + "\n").encode()).hexdigest() == (
        "5342d178c358a54f226a332748bf75b0555e4afabcbdfdc49417f11ababfa0fb")
    cats = json.loads(categories_json_bytes())
    assert cats[0] == {"id": 0, "name": "wall", "isthing": 0, "color": [120, 120, 120]}
    assert cats[60] == {"id": 60, "name": "person", "isthing": 1, "color": [11, 200, 200]}
    assert len(cats) == 124


def test_windows_and_stq_conventions():
    p = get_profile("vipseg")
    assert p.vpq_window_frames == (1, 2, 4, 6, 8)
    assert p.vpq_spans == (0, 5, 15, 25, 35)
    assert p.stq_label_divisor == 1 << 16 and p.void == 255
    assert p.vpq_reference.file == "ClipPanoFCN/eval_vpq_vspw.py"
    assert p.evaluation_fields() == {"benchmark": "vipseg"}


@pytest.mark.parametrize(("value", "expected"), [
    (0, None), (1, (0, None)), (61, (60, None)), (124, (123, None)),
    (6100, (60, 0)), (6199, (60, 99)), (300, (2, 0)), (12401, (123, 1)), (125, (0, 25)),
])
def test_raw_mask_values(value, expected):
    assert raw_category(value) == expected


def test_detected_from_a_prepared_folder(tmp_path):
    (tmp_path / "panomasksRGB").mkdir()
    assert detect_benchmark(tmp_path).name == "vipseg"
    assert detect_benchmark(tmp_path, "cityscapes-vps").name == "cityscapes-vps"
