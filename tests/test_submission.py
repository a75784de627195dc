"""`vpskit submission`: checking a prediction without labels and packing the server's zip."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vpskit import naming, pngio
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate
from vpskit.perturbation import write_noisy_prediction
from vpskit.preparation import prepare
from vpskit.preparation.common import annotated_frames
from vpskit.submission import make_submission
from vpskit.synth import synthesize

ROAD, CAR = 0, 13


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("submission")
    # two val and two test videos: a video is a unit of both checks and scores
    synthesize(base / "down", videos=12, size=(160, 80), seed=2, progress=False,
               splits={"train": 8, "val": 2, "test": 2})
    out = base / "cityscapes_vps"
    prepare(out, base / "down" / "leftImg8bit_sequence", base / "down" / "gtFine",
            release=base / "down" / "cityscapes_vps", jobs=1, progress=False)
    return out


def write_test_prediction(root: Path, pred: Path) -> list[str]:
    """Two segments per test frame (road left, a car track right), keyed by image file name, reversed."""
    frames = annotated_frames(root / naming.panoptic_im_json("test"))
    (pred / "pan_pred").mkdir(parents=True)
    anns = []
    for f in frames:
        ids = np.full((f.height, f.width), 7, np.uint32)
        ids[:, f.width // 2:] = 1000 + f.iid.video
        pngio.write_png(pred / "pan_pred" / naming.pan_pred_file(f.image_id), pngio.id2rgb(ids))
        anns.append({"file_name": f.file_name, "segments_info": [{"id": 7, "category_id": ROAD},
                                                                  {"id": 1000 + f.iid.video, "category_id": CAR}]})
    (pred / "pred.json").write_text(json.dumps({"annotations": anns[::-1]}))
    return [f.image_id for f in frames]


def members(path: Path) -> tuple[list[str], dict, zipfile.ZipFile]:
    outer = zipfile.ZipFile(path)
    inner = zipfile.ZipFile(io.BytesIO(outer.read("pan_pred.zip")))
    return outer.namelist(), json.loads(outer.read("pred.json")), inner


def test_packed_val_prediction_scores_the_same_and_is_deterministic(root, tmp_path):
    pred = tmp_path / "pred"
    write_noisy_prediction(root / naming.panoptic_gt_json("val"), root / "val" / "panoptic_video", pred, seed=4)
    a = make_submission(pred, root, split="val", out=tmp_path / "a.zip", jobs=1, progress=False)
    b = make_submission(pred, root, split="val", out=tmp_path / "b.zip", jobs=2, progress=False)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert (a.videos, a.frames, a.converted) == (2, 12, 0) and a.segments > 24
    names, pred_json, inner = members(a.path)
    ids = [ann["image_id"] for ann in pred_json["annotations"]]
    assert names == ["pred.json", "pan_pred.zip"] and ids == sorted(ids) and len(ids) == 12
    assert inner.namelist() == [naming.pan_pred_file(i) for i in ids]
    packed, folder = evaluate(a.path, root=root, jobs=1), evaluate(pred, root=root, jobs=1)
    assert (packed["vpq"], packed["stq"]) == (folder["vpq"], folder["stq"])


def test_test_split_without_labels_and_a_palette_png(root, tmp_path, capsys):
    pred = tmp_path / "pred"
    ids = write_test_prediction(root, pred)
    # one PNG saved as a palette image: rewritten as 8-bit RGB with the same ids
    victim = pred / "pan_pred" / naming.pan_pred_file(ids[2])
    want = pngio.rgb2id(pngio.read_png(victim))
    Image.open(victim).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(victim)
    assert Image.open(victim).mode == "P"
    assert main(["submission", str(pred), "--root", str(root)]) == 0
    out = pred / "submission.zip"
    assert capsys.readouterr().out.strip() == (f"{out}: 12 frames of 2 videos, 24 segments; "
                                               "1 PNGs rewritten as 8-bit RGB")
    _, pred_json, inner = members(out)
    assert [a["image_id"] for a in pred_json["annotations"]] == ids
    assert pred_json["annotations"][0]["file_name"] == naming.pan_pred_file(ids[0])
    with Image.open(io.BytesIO(inner.read(naming.pan_pred_file(ids[2])))) as img:
        assert img.mode == "RGB"
        np.testing.assert_array_equal(pngio.rgb2id(np.asarray(img)), want)


def _expect_error(args: list[str], capsys, text: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and text in err, err


def test_bad_predictions_are_named_and_nothing_is_replaced(root, tmp_path, capsys):
    pred = tmp_path / "pred"
    ids = write_test_prediction(root, pred)
    out = tmp_path / "submission.zip"
    args = ["submission", str(pred), "--root", str(root), "--out", str(out), "--jobs", "1"]
    assert main(args) == 0
    good = out.read_bytes()
    capsys.readouterr()
    doc = json.loads((pred / "pred.json").read_text())
    # a category the benchmark does not have
    doc["annotations"][0]["segments_info"][1]["category_id"] = 40
    (pred / "pred.json").write_text(json.dumps(doc))
    _expect_error(args, capsys, "has unknown category_id 40")
    doc["annotations"][0]["segments_info"][1]["category_id"] = CAR
    # a segment listed but not drawn
    doc["annotations"][1]["segments_info"].append({"id": 99, "category_id": CAR})
    (pred / "pred.json").write_text(json.dumps(doc))
    _expect_error(args, capsys, "segment id 99 (RGB 99,0,0) is in segments_info but not in the PNG")
    doc["annotations"][1]["segments_info"].pop()
    (pred / "pred.json").write_text(json.dumps(doc))
    # a PNG of the wrong size, then a missing one
    png = pred / "pan_pred" / naming.pan_pred_file(ids[5])
    png.write_bytes(pngio.encode_png(np.zeros((8, 8, 3), np.uint8)))
    _expect_error(args, capsys, f"{png}: size 8x8 differs from the image's 160x80")
    png.unlink()
    # the annotation names its frame by the image's file name, so that name is tried next
    _expect_error(args, capsys, f"{pred / 'pan_pred' / naming.image_file(naming.parse_image_id(ids[5]))}: "
                  "missing: no prediction PNG for this frame")
    # a frame without annotation
    doc["annotations"] = [a for a in doc["annotations"] if not a["file_name"].startswith(ids[7])]
    (pred / "pred.json").write_text(json.dumps(doc))
    _expect_error(args, capsys, f"missing frame: no annotation for image {ids[7]}")
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred", "submission.zip"]
    with pytest.raises(VpsError, match="is the prediction itself"):
        make_submission(out, root, out=out)
    with pytest.raises(VpsError, match="unknown split 'dev'"):
        make_submission(pred, root, split="dev")


def test_a_prediction_for_another_split_is_named_so(root, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_noisy_prediction(root / naming.panoptic_gt_json("val"), root / "val" / "panoptic_video", pred)
    assert main(["submission", str(pred), "--root", str(root), "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a prediction for the val split, not test" in err[0] and "--split val" in err[0]
    assert not (pred / "submission.zip").exists()


def test_out_never_replaces_the_prediction(root, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_test_prediction(root, pred)
    before = {p.relative_to(pred): p.read_bytes() for p in pred.rglob("*") if p.is_file()}
    png = next((pred / "pan_pred").iterdir())
    for out in (pred / "pred.json", png, pred):
        assert main(["submission", str(pred), "--root", str(root), "--out", str(out), "--jobs", "1"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is the prediction itself or one of its files" in err[0]
    assert {p.relative_to(pred): p.read_bytes() for p in pred.rglob("*") if p.is_file()} == before
