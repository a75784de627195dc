"""Benchmark profiles: the Cityscapes-VPS profile states what the code did before profiles, and
benchmarks are found by name or from a dataset folder's files."""

from __future__ import annotations

import pytest

from vpskit.categories import CATEGORIES
from vpskit.errors import VpsError
from vpskit.evaluation.metrics import SPANS, CategorySet
from vpskit.profiles import available_benchmarks, detect_benchmark, get_profile


def test_cityscapes_vps_profile_holds_the_benchmark_facts():
    p = get_profile("cityscapes-vps")
    assert get_profile() is p
    assert p.category_ids == tuple(range(19))
    assert [c.name for c in p.categories] == [c.name for c in CATEGORIES]
    assert {c.id for c in p.categories if c.isthing} == {11, 12, 13, 14, 15, 16, 17, 18}
    assert p.vpq_spans == SPANS == (0, 5, 10, 15)
    assert p.vpq_window_frames == (1, 2, 3, 4)
    assert p.vpq_reference.to_json() == {"repository": "mcahny/vps", "file": "tools/eval_vpq.py",
                                         "commit": "138503edbc9e70de744dc0c9fa4b71c799a94d5d"}
    assert p.stq_reference.repository == "google-research/deeplab2"
    assert p.evaluation_fields() == {}
    assert CategorySet.of_profile(p) == CategorySet.default()


def test_unknown_benchmark_is_one_line():
    with pytest.raises(VpsError, match="unknown benchmark 'coco'.*cityscapes-vps"):
        get_profile("coco")


def test_detect_by_markers(tmp_path):
    assert detect_benchmark(tmp_path).name == "cityscapes-vps"
    assert detect_benchmark(None).name == "cityscapes-vps"
    assert "cityscapes-vps" in available_benchmarks()
