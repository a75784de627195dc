"""Evaluation on a split made by `vpskit synth` and `vpskit prepare` (the real GT pipeline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vpskit import naming
from vpskit.cli import main

pytest.importorskip("vpskit.synth")
pytest.importorskip("vpskit.preparation")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("prepared")
    down, root = base / "download", base / "cityscapes_vps"
    assert main(["synth", str(down), "--videos", "3", "--size", "256x128", "--zip", "--jobs", "1"]) == 0
    assert main(["prepare", str(root), str(down / "leftImg8bit_sequence_trainvaltest.zip"),
                 str(down / "gtFine_trainvaltest.zip"), "--release", str(down / "cityscapes-vps-dataset-1.0.zip"),
                 "--splits", "train,val", "--jobs", "1", "--no-progress"]) == 0
    return root


def _copy_gt_as_prediction(root: Path, split: str, pred: Path) -> None:
    gt = json.loads((root / naming.panoptic_gt_json(split)).read_text())
    (pred / "pan_pred").mkdir(parents=True)
    anns = []
    for ann in gt["annotations"]:
        shutil.copy(root / split / "panoptic_video" / ann["file_name"],
                    pred / "pan_pred" / naming.pan_pred_file(ann["image_id"]))
        anns.append({"image_id": ann["image_id"],
                     "segments_info": [{"id": s["id"], "category_id": s["category_id"]} for s in ann["segments_info"]]})
    (pred / "pred.json").write_text(json.dumps({"annotations": anns}))


@pytest.mark.parametrize("split", ["train", "val"])
def test_ground_truth_scores_one_and_noisy_model_less(prepared, split, tmp_path, capsys):
    perfect = tmp_path / "perfect"
    _copy_gt_as_prediction(prepared, split, perfect)
    assert main(["eval", str(perfect), "--root", str(prepared), "--split", split, "--jobs", "1"]) == 0
    res = json.loads((perfect / "results.json").read_text())
    for k in ("0", "5", "10", "15"):
        assert res["vpq"][k]["all"]["pq"] == 1.0 and res["vpq"][k]["all"]["n"] > 0
    assert res["stq"]["stq"] == 1.0

    from vpskit.perturbation import write_noisy_prediction

    noisy = write_noisy_prediction(prepared / naming.panoptic_gt_json(split), prepared / split / "panoptic_video",
                                   tmp_path / "noisy", seed=0)
    assert main(["eval", str(noisy), "--root", str(prepared), "--split", split, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "final" in out and "STQ" in out
    res = json.loads((noisy / "results.json").read_text())
    assert 0.0 < res["vpq"]["final"]["all"]["pq"] < 1.0
    assert 0.0 < res["stq"]["stq"] < 1.0
