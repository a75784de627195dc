"""KITTI-STEP ground truth and predictions given as zips: the same numbers as the folders, members
found at any depth, names never leaving the folder found, bad zips one line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from kitti_step_cases import SYNTH_ARGS, write_prediction
from kitti_step_cases import zip_folder as _zip
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> tuple[Path, Path]:
    """The synthetic KITTI-STEP root and a noisy prediction of its val split (folders)."""
    base = tmp_path_factory.mktemp("kitti_zip")
    root = base / "kitti"
    assert main(["synth", str(root), *SYNTH_ARGS, "--jobs", "1"]) == 0
    pred = base / "noisy"
    write_prediction(root / "panoptic_maps" / "val", pred, "noisy")
    return root, pred


def _scores(res: dict) -> tuple[dict, dict]:
    return res["vpq"], res["stq"]


def test_zips_score_as_the_folders(kitti, tmp_path):
    root, pred = kitti
    want = _scores(evaluate(pred, root=root, jobs=1))
    gt_zip = _zip(root, tmp_path / "kitti-step.zip", "data/KITTI_STEP/")  # panoptic_maps/ at some depth
    for arc in ("", "noisy/", "panoptic_maps/val/"):
        pred_zip = _zip(pred, tmp_path / f"pred{len(arc)}.zip", arc)
        out = tmp_path / f"out{len(arc)}"
        assert main(["eval", str(pred_zip), "--root", str(gt_zip), "--benchmark", "kitti-step",
                     "--jobs", "2", "--out", str(out)]) == 0
        got = json.loads((out / "results.json").read_text())
        assert _scores(got) == want
        assert got["evaluation"]["ground_truth"]["folder"] == "data/KITTI_STEP/panoptic_maps/val"
        assert got["evaluation"]["ground_truth"]["zip"] == str(gt_zip)
    # a zipped prediction against the ground truth folder, and the other way round
    assert _scores(evaluate(tmp_path / "pred0.zip", root=root, jobs=1)) == want
    assert _scores(evaluate(pred, root=gt_zip, jobs=1, benchmark="kitti-step")) == want


def test_zip_members_never_leave_the_folder(kitti, tmp_path):
    root, pred = kitti
    first = sorted((pred / "0001").iterdir())[0].read_bytes()
    # members whose names would escape are never seen: no sequence folder is found
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../0001/000000.png", first)
        zf.writestr("/0002/000000.png", first)
    with pytest.raises(VpsError) as err:
        evaluate(evil, root=root, jobs=1)
    assert "evil.zip" in str(err.value) and "no sequence folder" in str(err.value)
    # the same escaping names next to a real prediction play no part in it
    ok = _zip(pred, tmp_path / "ok.zip", "", {"../0001/000000.png": b"junk", "/0003/000000.png": b"junk"})
    assert _scores(evaluate(ok, root=root, jobs=1)) == _scores(evaluate(pred, root=root, jobs=1))


def test_bad_zips_are_one_line(kitti, tmp_path, capsys):
    root, pred = kitti
    twice = _zip(pred, tmp_path / "twice.zip", "a/", {f"b/0001/{n.name}": n.read_bytes()
                                                       for n in sorted((pred / "0001").iterdir())})
    short = tmp_path / "short.zip"
    with zipfile.ZipFile(short, "w") as zf:
        for path in sorted(pred.rglob("*.png")):
            if path.name != "000004.png" or path.parent.name != "0002":
                zf.write(path, path.relative_to(pred).as_posix())
    not_zip = tmp_path / "pred.zip"
    not_zip.write_bytes(b"not a zip at all")
    gt_zip = _zip(root / "images", tmp_path / "images.zip", "images/")  # no panoptic_maps/val inside
    cases = [
        ([str(twice), "--root", str(root)], ["twice.zip", "several places"]),
        ([str(short), "--root", str(root)], ["short.zip:0002/000004.png", "missing"]),
        ([str(not_zip), "--root", str(root)], ["pred.zip"]),
        ([str(pred), "--root", str(gt_zip), "--benchmark", "kitti-step"], ["images.zip", "panoptic_maps/val"]),
    ]
    for args, words in cases:
        assert main(["eval", *args, "--out", str(tmp_path / "never")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("vpskit: error:"), err
        assert all(w in err[0] for w in words), (words, err[0])
    assert not (tmp_path / "never").exists()
