"""`vpskit export` and `vpskit convert` end to end on a synthetic prepared dataset: the ground
truth goes out in every format and comes back scoring VPQ = STQ = 1; bad inputs are one line,
exit 2, and leave OUT as it was."""

from __future__ import annotations

import inspect
import json
import shutil
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

import vpskit
from convertcases import read_prediction, tiny_root, tree
from vpskit import naming, pngio
from vpskit.cli import main
from vpskit.formats import NAMES

pytest.importorskip("vpskit.synth")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("convert")
    vpskit.synthesize(base / "down", videos=4, size=(128, 64), seed=3, progress=False,
                      splits={"train": 2, "val": 2, "test": 0})
    out = base / "cityscapes_vps"
    vpskit.prepare(out, base / "down" / "leftImg8bit_sequence", base / "down" / "gtFine",
                   release=base / "down" / "cityscapes_vps", splits="train,val", jobs=1, progress=False)
    return out


def _zip(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"model_output/{p.relative_to(folder).as_posix()}")
    return dest


@pytest.mark.parametrize("split", ["train", "val"])
@pytest.mark.parametrize("fmt", NAMES)
def test_ground_truth_round_trip_scores_one(root, fmt, split, tmp_path, capsys):
    exported = tmp_path / "exported"
    assert main(["export", str(root), "--split", split, "--to", fmt, str(exported), "--jobs", "1"]) == 0
    for kind, src in (("folder", exported), ("zip", _zip(exported, tmp_path / "exported.zip"))):
        pred = tmp_path / f"pred-{kind}"
        assert main(["convert", str(src), str(pred), "--from", fmt, "--root", str(root), "--split", split,
                     "--jobs", "1"]) == 0
        assert main(["eval", str(pred), "--root", str(root), "--split", split, "--jobs", "1"]) == 0
        res = json.loads((pred / "results.json").read_text())
        for k in ("0", "5", "10", "15"):
            assert res["vpq"][k]["all"]["pq"] == 1.0 and res["vpq"][k]["things"]["n"] > 0, (kind, k)
        assert res["stq"]["stq"] == 1.0 and res["stq"]["aq"] == 1.0, kind
    folder_pngs, zip_pngs = tree(tmp_path / "pred-folder" / "pan_pred"), tree(tmp_path / "pred-zip" / "pan_pred")
    assert folder_pngs == zip_pngs and len(folder_pngs) == 12
    # one segment per ground-truth segment, the same in every frame of a video
    gt = json.loads((root / naming.panoptic_gt_json(split)).read_text())
    infos, ids = read_prediction(tmp_path / "pred-folder")
    for ann in gt["annotations"]:
        gt_ids = pngio.rgb2id(pngio.read_png(root / split / "panoptic_video" / ann["file_name"]))
        pairs = np.unique(np.stack([gt_ids.ravel(), ids[ann["image_id"]].ravel()]), axis=1)
        assert len(set(pairs[0])) == len(set(pairs[1])) == pairs.shape[1]
        assert len(infos[ann["image_id"]]) == len(set(pairs[1]) - {0})
    capsys.readouterr()


def test_same_bytes_whatever_jobs_and_run_again(root, tmp_path):
    exported = tmp_path / "exported"
    assert main(["export", str(root), "--split", "train", "--to", "kitti-step", str(exported), "--jobs", "2"]) == 0
    outs = []
    for jobs, name in (("1", "a"), ("2", "b"), ("2", "b")):
        assert main(["convert", str(exported), str(tmp_path / name), "--from", "kitti-step", "--root", str(root),
                     "--split", "train", "--jobs", jobs]) == 0
        outs.append(tree(tmp_path / name))
    assert outs[0] == outs[1] == outs[2] and "pred.json" in outs[0]


def test_export_formats_write_what_they_say(root, tmp_path):
    gt = json.loads((root / naming.panoptic_gt_json("val")).read_text())
    first = gt["annotations"][0]
    gt_ids = pngio.rgb2id(pngio.read_png(root / "val" / "panoptic_video" / first["file_name"]))
    category = {s["id"]: s["category_id"] for s in first["segments_info"]}
    assert main(["export", str(root), "--to", "cat-ins", str(tmp_path / "ci")]) == 0
    cat = pngio.read_png(tmp_path / "ci" / f"{first['image_id']}_cat.png")
    ins = pngio.read_png(tmp_path / "ci" / f"{first['image_id']}_ins.png")
    assert cat.dtype == np.uint8 and ins.dtype == np.uint16
    want_cat = np.vectorize(lambda i: category.get(i, 255))(gt_ids)
    assert np.array_equal(cat, want_cat)
    things = (want_cat >= 11) & (want_cat != 255)
    assert (ins[~things] == 0).all() and (ins[things] > 0).all()
    assert main(["export", str(root), "--to", "coco-panoptic", str(tmp_path / "coco")]) == 0
    coco = json.loads((tmp_path / "coco" / "panoptic_val.json").read_text())
    assert [i["id"] for i in coco["images"]] == [a["image_id"] for a in gt["annotations"]]
    assert {c["id"] for c in coco["categories"]} == set(range(19))
    seg = coco["annotations"][0]["segments_info"]
    assert all(("track_id" in s) == (s["category_id"] >= 11) for s in seg)
    ys, xs = np.nonzero(gt_ids == seg[0]["id"])
    assert seg[0]["bbox"] == [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
    assert seg[0]["area"] == len(xs)


def test_export_crowd_is_no_instance_and_labelid_values(tmp_path):
    """A hand-made ground truth with a crowd region: exported as "no instance" of its category."""
    ids = tiny_root(tmp_path / "root", videos=1, split="val")
    png_dir = tmp_path / "root" / "val" / "panoptic_video"
    anns = []
    for iid in ids:
        frame = np.full((8, 8), 1, np.uint32)  # road segment id 1
        frame[0, :] = 0  # void
        frame[4:, 4:] = 500  # a crowd of cars
        frame[2:4, 0:2] = 700  # one car track
        name = naming.cls_file(iid)
        pngio.write_png(png_dir / name, pngio.id2rgb(frame))
        anns.append({"image_id": str(iid), "file_name": name, "segments_info": [
            {"id": 1, "category_id": 0, "iscrowd": 0, "area": 36}, {"id": 500, "category_id": 13, "iscrowd": 1, "area": 16},
            {"id": 700, "category_id": 13, "iscrowd": 0, "area": 4}]})
    (tmp_path / "root" / naming.panoptic_gt_json("val")).write_text(json.dumps(
        {"annotations": anns, "categories": vpskit.categories.categories_json()}))
    assert main(["export", str(tmp_path / "root"), "--to", "kitti-step", str(tmp_path / "ex"),
                 "--categories", "labelid", "--void", "0"]) == 0
    rgb = pngio.read_png(tmp_path / "ex" / f"{ids[0]}.png")
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[7, 7].tolist() == [26, 0, 0] and rgb[2, 0].tolist() == [26, 0, 1]
    assert rgb[5, 0].tolist() == [7, 0, 0]
    assert main(["convert", str(tmp_path / "ex"), str(tmp_path / "pred"), "--from", "kitti-step", "--root",
                 str(tmp_path / "root"), "--categories", "labelid", "--void", "0"]) == 0
    infos, got = read_prediction(tmp_path / "pred")
    assert infos[str(ids[0])] == [{"id": 1, "category_id": 0, "iscrowd": 0, "area": 36},
                                  {"id": 14, "category_id": 13, "iscrowd": 1, "area": 16},
                                  {"id": 270, "category_id": 13, "iscrowd": 0, "area": 4}]


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def good(root, tmp_path) -> tuple[Path, Path]:
    """A cat-ins export of val, and an earlier complete conversion of it in OUT."""
    src, out = tmp_path / "src", tmp_path / "out"
    assert main(["export", str(root), "--to", "cat-ins", str(src)]) == 0
    assert main(["convert", str(src), str(out), "--from", "cat-ins", "--root", str(root)]) == 0
    return src, out


def _fails(capsys, *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vpskit: error: ") and "Traceback" not in err, err
    return err


def _last(src: Path, ending: str = "_cat.png") -> Path:
    return sorted(src.glob(f"*{ending}"))[-1]


BREAKAGES = {
    "missing frame": (lambda src: _last(src).unlink(), "missing frame"),
    "two files for one frame": (lambda src: shutil.copy(_last(src), src / f"{_last(src).name.split('_', 2)[2]}"),
                                "two files for frame"),
    "a name that names no frame": (lambda src: shutil.copy(_last(src), src / "model_cat.png"), "names no frame"),
    "unknown category": (lambda src: pngio.write_png(_last(src), np.where(pngio.read_png(_last(src)) == 0, 19, pngio.read_png(_last(src))).astype(np.uint8)),
                         "unknown category value 19"),
    "size": (lambda src: pngio.write_png(_last(src, "_ins.png"), np.zeros((64, 127), np.uint16)),
             "size 127x64 differs from the frame's 128x64"),
    "corrupt": (lambda src: _last(src).write_bytes(_last(src).read_bytes()[:60]), "corrupt or truncated PNG"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_bad_input_is_one_line_and_leaves_out_as_it_was(root, good, breakage, capsys, tmp_path):
    src, out = good
    before = tree(out)
    damage, message = BREAKAGES[breakage]
    damage(src)
    for target in (out, tmp_path / "fresh"):
        err = _fails(capsys, "convert", str(src), str(target), "--from", "cat-ins", "--root", str(root), "--jobs", "2")
        assert message in err, err
        assert str(src) in err
    assert tree(out) == before  # the earlier conversion, untouched
    assert not (tmp_path / "fresh").exists()  # nothing that looks like a prediction


def test_too_many_objects_for_segment_ids(tmp_path, capsys):
    ids = tiny_root(tmp_path / "root", videos=1, size=(256, 256))
    src = tmp_path / "src"
    src.mkdir()
    for iid in ids:
        pngio.write_png(src / f"{iid}_cat.png", np.full((256, 256), 13, np.uint8))
        pngio.write_png(src / f"{iid}_ins.png", np.arange(256 * 256, dtype=np.uint16).reshape(256, 256))
    args = ["convert", str(src), str(tmp_path / "out"), "--from", "cat-ins", "--root", str(tmp_path / "root")]
    err = _fails(capsys, *args, "--thing-zero", "object")
    assert "more than 65535 objects of car in one video" in err and f"{ids[0]}_cat.png" in err
    assert not (tmp_path / "out").exists()
    assert main(args) == 0  # instance 0 a crowd region: 65535 objects fit


def test_usage_errors(root, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    err = _fails(capsys, "convert", str(src), str(src / "out"), "--from", "2ch", "--root", str(root))
    assert "is inside SRC" in err
    err = _fails(capsys, "convert", str(src), str(tmp_path / "o"), "--from", "2ch", "--root", str(root),
                 "--categories", "nonsense")
    assert "neither trainid nor labelid nor a JSON mapping file" in err
    err = _fails(capsys, "convert", str(src), str(tmp_path / "o"), "--from", "coco-panoptic", "--root", str(root))
    assert "no JSON file" in err
    err = _fails(capsys, "export", str(root), "--split", "test", "--to", "2ch", str(tmp_path / "o"))
    assert "has no public labels" in err
    err = _fails(capsys, "convert", str(src), str(tmp_path / "o"), "--from", "divisor", "--root", str(root),
                 "--void", "5")
    assert "value 5 is category 5 (pole)" in err


def test_a_json_category_mapping(root, tmp_path):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({str(100 + c): c for c in range(19)} | {"0": None}))
    args = ["--categories", str(mapping), "--void", "0"]
    assert main(["export", str(root), "--to", "2ch", str(tmp_path / "ex"), *args]) == 0
    first = sorted((tmp_path / "ex").glob("*.png"))[0]
    assert set(np.unique(pngio.read_png(first)[..., 0])) <= {0, *range(100, 119)}
    assert main(["convert", str(tmp_path / "ex"), str(tmp_path / "pred"), "--from", "2ch", "--root", str(root),
                 *args]) == 0
    assert main(["eval", str(tmp_path / "pred"), "--root", str(root), "--split", "val", "--jobs", "1"]) == 0
    res = json.loads((tmp_path / "pred" / "results.json").read_text())
    assert res["vpq"]["final"]["all"]["pq"] == 1.0 and res["stq"]["stq"] == 1.0


def test_python_api(root, tmp_path):
    assert isinstance(vpskit.convert, types.FunctionType) and isinstance(vpskit.export, types.FunctionType)
    assert {"convert", "export", "VideoTracks"} <= set(vpskit.__all__)
    for fn, params in ((vpskit.convert, ["src", "out", "from_format", "root", "split", "categories", "void",
                                         "no_instance", "thing_zero", "instance_channel", "divisor", "jobs"]),
                       (vpskit.export, ["root", "out", "split", "to_format", "categories", "jobs"])):
        assert set(params) <= set(inspect.signature(fn).parameters) and fn.__doc__
    ex = vpskit.export(root, tmp_path / "ex", split="val", to_format="divisor", jobs=1, progress=False)
    assert (ex.videos, ex.frames, ex.files) == (2, 12, 12)
    s = vpskit.convert(tmp_path / "ex", tmp_path / "pred", from_format="divisor", root=root, split="val",
                       jobs=1, progress=False)
    assert (s.videos, s.frames, s.skipped) == (2, 12, 0) and s.objects == ex.objects > 0


def test_help_states_the_rules(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("{city}_{seq:06d}_{frame:06d}", "0001/000019.png", "c+1+256*k", "--thing-zero crowd",
                  "same bytes whatever --jobs", "skipped and counted"):
        assert words in text, words
