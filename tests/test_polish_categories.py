"""VIPSeg's per-category tables (``eval --per-class``, the report page, its comparison) list the
categories found in the ground truth or the predictions, not all 124, and one line says how
many were left out; Cityscapes-VPS and KITTI-STEP (19 categories) still list every one."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from kitti_step_cases import SYNTH_ARGS
from reportpage import read_page
from vpskit.cli import main
from vpskit.formats import kitti_step as kitti_format
from vpskit.pngio import read_png, write_png
from vpskit.profiles import get_profile
from vpskit.synth.vipseg import write_predictions

VIPSEG = len(get_profile("vipseg").categories)


def _categories_of(doc: dict) -> set[str]:
    """The category ids of every segment a VIPSeg ground-truth JSON or pred.json lists."""
    return {str(s["category_id"]) for video in doc["annotations"] for frame in video["annotations"]
            for s in frame["segments_info"]}


@pytest.fixture(scope="module")
def vipseg(tmp_path_factory) -> dict:
    """A prepared VIPSeg val split, a noisy prediction and the same with one of its segments
    given a category the ground truth lacks; the category ids each holds."""
    base = tmp_path_factory.mktemp("vipseg_categories")
    assert main(["synth", str(base / "VIPSeg"), "--benchmark", "vipseg", "--splits", "0,2,0", "--frames", "3"]) == 0
    root = base / "VIPSeg_720P"
    assert main(["prepare", str(root), str(base / "VIPSeg"), "--benchmark", "vipseg", "--jobs", "1",
                 "--no-progress"]) == 0
    noisy, other = base / "noisy", base / "other"
    write_predictions(root, "val", noisy, "noisy")
    shutil.copytree(noisy, other)
    gt = _categories_of(json.loads((root / "panoptic_gt_VIPSeg_val.json").read_text()))
    doc = json.loads((other / "pred.json").read_text())
    video = doc["annotations"][0]
    segment = video["annotations"][0]["segments_info"][0]["id"]
    new = str(min(int(c.id) for c in get_profile("vipseg").categories if str(c.id) not in gt))
    for frame in video["annotations"]:
        for s in frame["segments_info"]:
            if s["id"] == segment:
                s["category_id"] = int(new)
    (other / "pred.json").write_text(json.dumps(doc))
    cats = {"gt": gt, "noisy": _categories_of(json.loads((noisy / "pred.json").read_text())),
            "other": _categories_of(doc)}
    assert new in cats["other"] and new not in cats["gt"] | cats["noisy"]
    return {"root": root, "noisy": noisy, "other": other, "cats": cats, "new": new}


def _table_rows(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Per category"))
    return [line.split()[0] for line in lines[start + 2:] if line[:3].strip().isdigit()]


def test_eval_lists_the_categories_present(vipseg, tmp_path, capsys):
    present = vipseg["cats"]["gt"] | vipseg["cats"]["other"]
    capsys.readouterr()
    assert main(["eval", str(vipseg["other"]), "--root", str(vipseg["root"]), "--out", str(tmp_path / "out"),
                 "--jobs", "1", "--per-class"]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert sorted(rows, key=int) == rows and set(rows) == present and len(rows) == len(present)
    assert vipseg["new"] in rows  # found in the prediction only
    left = VIPSEG - len(present)
    assert left > 90
    assert f"({left} categories absent from both the ground truth and the prediction are not listed)" in out.splitlines()
    # results.json still holds every category
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(results["vpq"]["0"]["per_class"]) == len(results["stq"]["per_class_iou"]) == VIPSEG
    # STQ alone: the categories STQ gives an IoU
    assert main(["eval", str(vipseg["other"]), "--root", str(vipseg["root"]), "--out", str(tmp_path / "stq"),
                 "--jobs", "1", "--per-class", "--metrics", "stq"]) == 0
    assert set(_table_rows(capsys.readouterr().out)) == present


def _caption(html: str, ident: str) -> str:
    m = re.search(rf'<table id="{ident}"[^>]*><caption>([^<]*)</caption>', html)
    assert m is not None, ident
    return m.group(1)


def test_report_and_its_comparison_list_the_categories_present(vipseg, tmp_path):
    cats = vipseg["cats"]
    present = cats["gt"] | cats["noisy"] | cats["other"]
    out = tmp_path / "page.html"
    assert main(["report", str(vipseg["noisy"]), str(vipseg["other"]), "--root", str(vipseg["root"]),
                 "--worst", "0", "--reps", "20", "--out", str(out), "--jobs", "1"]) == 0
    page, html = read_page(out), out.read_text()
    note = f"{VIPSEG - len(present)} categories absent from the ground truth and every prediction are not listed"
    for ident in ("classes-0", "classes-1", "class-deltas-1"):
        rows = list(page.tables[ident].by("category"))
        assert set(rows) == present and len(rows) == len(present), ident
        assert _caption(html, ident).endswith(f"; {note}"), ident
    # the prediction-only category: counted in the second prediction, absent from the first
    classes = page.tables["classes-0"]
    first = dict(zip(classes.headers, classes.by("category")[vipseg["new"]].cells, strict=True))
    assert first["VPQ"].text == "–" and first["IoU (STQ)"].text == "–"
    second = page.tables["classes-1"]
    cells = dict(zip(second.headers, second.by("category")[vipseg["new"]].cells, strict=True))
    assert cells["VPQ"].value == 0.0  # a false positive


def test_kitti_step_lists_every_category(tmp_path, capsys):
    root = tmp_path / "kitti"
    assert main(["synth", str(root), *SYNTH_ARGS, "--jobs", "1"]) == 0
    maps = root / "panoptic_maps" / "val"
    for png in maps.rglob("*.png"):  # no bicycle (18) anywhere: it becomes motorcycle (17)
        cat, inst = kitti_format.decode(read_png(png))
        cat[cat == 18] = 17
        write_png(png, kitti_format.encode(cat, inst))
    capsys.readouterr()
    assert main(["eval", str(maps), "--root", str(root), "--jobs", "1", "--per-class",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows == [str(c) for c in range(19)]
    bicycle = next(line for line in out.splitlines() if line.split()[:2] == ["18", "bicycle"])
    assert bicycle.split()[2:] == ["stuff"] + ["-"] * 6
    assert "not listed" not in out
