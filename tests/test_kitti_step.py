"""KITTI-STEP end to end: ``synth --benchmark kitti-step`` writes deeplab2's layout and encoding,
``eval`` gives deeplab2's numpy STQ (numbers recorded in tests/fixtures/kitti_step_reference.json
by running deeplab2's own code on the same data), bad input is one line."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kitti_step_cases import CASES, SYNTH_ARGS, write_prediction
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate
from vpskit.evaluation.report import format_per_class
from vpskit.formats.kitti_step import decode, encode
from vpskit.pngio import read_png, write_png
from vpskit.profiles import detect_benchmark

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "kitti_step_reference.json").read_text())


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kitti") / "kitti"
    assert main(["synth", str(root), *SYNTH_ARGS, "--jobs", "1"]) == 0
    return root


def _pixels_sha256(folder: Path) -> str:
    h = hashlib.sha256()
    for seq in sorted(p for p in folder.iterdir() if p.is_dir()):
        for png in sorted(seq.glob("*.png")):
            c, i = decode(read_png(png))
            h.update(f"{seq.name}/{png.stem}".encode())
            h.update(((c.astype(np.int64) << 16) | i.astype(np.int64)).astype("<i8").tobytes())
    return h.hexdigest()


def test_synth_writes_deeplab2_layout(kitti, tmp_path):
    maps, images = kitti / "panoptic_maps", kitti / "images"
    assert sorted(p.name for p in (maps / "val").iterdir()) == ["0001", "0002", "0003"]
    assert sorted(p.name for p in (maps / "train").iterdir()) == ["0000"]
    assert [p.name for p in sorted((maps / "val" / "0002").iterdir())] == [f"{t:06d}.png" for t in range(8)]
    for split in ("train", "val"):
        assert sorted(p.relative_to(maps) for p in maps.rglob("*.png")) != []
        assert (sorted(p.relative_to(images / split) for p in (images / split).rglob("*.png"))
                == sorted(p.relative_to(maps / split) for p in (maps / split).rglob("*.png")))
    rgb = read_png(maps / "val" / "0001" / "000003.png")
    assert rgb.shape == (80, 200, 3) and rgb.dtype == np.uint8
    assert read_png(images / "val" / "0001" / "000003.png").shape == (80, 200, 3)
    cats, inst, tracks = set(), set(), set()
    for png in maps.rglob("*.png"):
        c, i = decode(read_png(png))
        cats |= set(np.unique(c).tolist())
        assert not i[~np.isin(c, (11, 13))].any()  # instances only on person and car
        inst |= set(np.unique(i[np.isin(c, (11, 13))]).tolist())
        tracks |= {(png.parent.name, int(v)) for v in np.unique(c.astype(np.int64) * 65536 + i) if v % 65536}
    assert cats <= set(range(19)) | {255} and {11, 13, 255} <= cats
    assert 0 in inst and len(inst) > 3  # crowd regions and several objects
    assert len(tracks) >= 8
    assert _pixels_sha256(maps / "val") == FIXTURE["ground_truth_sha256"]
    again = tmp_path / "again"
    assert main(["synth", str(again), *SYNTH_ARGS, "--jobs", "2"]) == 0
    for png in maps.rglob("*.png"):
        assert (again / png.relative_to(kitti)).read_bytes() == png.read_bytes()


@pytest.mark.parametrize("case", sorted(CASES))
def test_stq_equals_deeplab2(kitti, tmp_path, case):
    pred = tmp_path / case
    write_prediction(kitti / "panoptic_maps" / "val", pred, case)
    out = tmp_path / "reports"
    assert main(["eval", str(pred), "--root", str(kitti), "--out", str(out)]) == 0
    got = json.loads((out / "results.json").read_text())
    ref = FIXTURE["cases"][case]
    assert got["evaluation"]["benchmark"] == "kitti-step"
    assert got["conventions"]["stq"]["agrees_with"] == FIXTURE["reference"]
    for key in ("stq", "aq", "iou"):
        assert got["stq"][key] == pytest.approx(ref[key], abs=1e-6)
    assert sorted(got["stq"]["per_sequence"]) == sorted(ref["per_sequence"])
    for seq, scores in ref["per_sequence"].items():
        for key in ("stq", "aq", "iou"):
            assert got["stq"]["per_sequence"][seq][key] == pytest.approx(scores[key], abs=1e-6)


def test_cases_differ_and_parallel_equals_serial(kitti, tmp_path):
    assert len({round(c["stq"], 6) for c in FIXTURE["cases"].values()}) == len(CASES)
    pred = tmp_path / "noisy"
    write_prediction(kitti / "panoptic_maps" / "val", pred, "noisy")
    one = evaluate(pred, root=kitti, jobs=1)
    two = evaluate(pred, root=kitti, jobs=2, benchmark="kitti-step")
    assert one["stq"] == two["stq"]
    part = evaluate(pred, root=kitti, jobs=1, videos=[range(2, 4)])
    assert sorted(part["stq"]["per_sequence"]) == ["0002", "0003"]
    assert part["stq"]["per_sequence"]["0002"] == one["stq"]["per_sequence"]["0002"]


def test_prediction_layouts_and_detection(kitti, tmp_path):
    assert detect_benchmark(kitti).name == "kitti-step"
    # the ground truth folder itself (PRED/panoptic_maps/val/…) scores perfectly
    res = evaluate(kitti, root=kitti, jobs=1)
    assert res["stq"]["stq"] == 1.0 and res["evaluation"]["metrics"] == ["vpq", "stq"]
    assert res["vpq"]["final"]["all"]["pq"] == 1.0
    table = format_per_class(res)  # thing/stuff as KITTI-STEP tracks them
    assert " 11  person         thing  100.0" in table and " 12  rider          stuff  100.0" in table


def _bad(kitti: Path, tmp_path: Path, change) -> str:
    pred = tmp_path / "pred"
    shutil.copytree(kitti / "panoptic_maps" / "val", pred)
    change(pred / "0002" / "000004.png")
    with pytest.raises(VpsError) as err:
        evaluate(pred, root=kitti, jobs=1)
    return str(err.value)


def test_bad_predictions_are_one_line(kitti, tmp_path, capsys):
    def category_77(png):
        c, i = decode(read_png(png))
        c[3, 4] = 77
        write_png(png, encode(c, i))

    msg = _bad(kitti, tmp_path / "a", category_77)
    assert "0002/000004.png" in msg and "category value 77" in msg
    msg = _bad(kitti, tmp_path / "b", lambda png: png.unlink())
    assert "0002/000004.png" in msg and "missing" in msg
    msg = _bad(kitti, tmp_path / "c", lambda png: write_png(png, np.zeros((80, 201, 3), np.uint8)))
    assert "0002/000004.png" in msg and "201x80" in msg
    msg = _bad(kitti, tmp_path / "d", lambda png: write_png(png, np.zeros((80, 200), np.uint8)))
    assert "8-bit RGB" in msg
    msg = _bad(kitti, tmp_path / "e", lambda png: png.write_bytes(png.read_bytes()[:100]))
    assert "0002/000004.png" in msg
    assert main(["eval", str(tmp_path / "nothing"), "--root", str(kitti)]) == 2
    assert main(["eval", str(kitti), "--root", str(kitti), "--metrics", "vpq,pq"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no such folder" in err[0] and "--metrics" in err[1] and "vpq,stq" in err[1]
    assert main(["eval", str(kitti), "--root", str(kitti), "--split", "test"]) == 2
    assert "panoptic_maps/test" in capsys.readouterr().err


def test_verify_counts_and_problems(kitti, tmp_path, capsys):
    assert main(["verify", str(kitti), "--splits", "train,val"]) == 0
    table = capsys.readouterr().out
    assert "verify: OK" in table
    assert [line.split() for line in table.splitlines()[2:4]] == [["train", "1", "6", "6", "8", "0"],
                                                                  ["val", "3", "21", "21", "22", "0"]]
    assert main(["verify", str(kitti)]) == 1  # no test split
    assert f"{kitti}/images/test: no sequence folders" in capsys.readouterr().err
    bad = tmp_path / "bad"
    shutil.copytree(kitti, bad)
    maps = bad / "panoptic_maps" / "val"
    c, i = decode(read_png(maps / "0001" / "000002.png"))
    c[0, 0], c[1, 1], i[1, 1] = 40, 3, 7
    write_png(maps / "0001" / "000002.png", encode(c, i))
    (bad / "images" / "train" / "0000" / "000003.png").unlink()
    (maps / "0003" / "000004.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    write_png(maps / "0002" / "000001.png", np.zeros((10, 10, 3), np.uint8))
    write_png(maps / "0002" / "000003.png", np.zeros((80, 200), np.uint8))
    (maps / "0002" / "000005.png").unlink()  # a gap: frame 5 gone from both sides
    (bad / "images" / "val" / "0002" / "000005.png").unlink()
    assert main(["verify", str(bad), "--benchmark", "kitti-step", "--splits", "train,val", "--jobs", "2"]) == 1
    err = [line.strip() for line in capsys.readouterr().err.strip().splitlines()]
    assert err == [
        "verify: 8 problem(s):",
        f"{bad}/images/train/0000/000003.png: missing (its panoptic map exists)",
        f"{maps}/0001/000002.png: category values 40 (R channel: 1 pixel) are neither a category (0-18) "
        "nor void (255)",
        f"{maps}/0001/000002.png: instance ids on 1 pixel of untracked categories 3 (only 11, 13 have instances)",
        f"{bad}/images/val/0002: frames 000005 missing (frames are numbered from 000000 without gaps)",
        f"{maps}/0002/000001.png: size 10x10 differs from its image's 200x80",
        f"{maps}/0002/000003.png: expected an 8-bit RGB PNG, found bit depth 8, colour type 0",
        f"{maps}/0002: frames of several sizes (10x10, 200x80)",
        f"{maps}/0003/000004.png: corrupt PNG (no IHDR header)",
    ]
    assert main(["verify", str(tmp_path / "none")]) == 2


def test_synth_kitti_step_options_are_checked(tmp_path, capsys):
    out = tmp_path / "k"
    assert main(["synth", "--benchmark", "kitti-step", str(out), "--videos", "3"]) == 2
    assert main(["synth", "--benchmark", "kitti-step", str(out), "--zip"]) == 2
    assert main(["synth", "--benchmark", "kitti-step", str(out), "--splits", "0,0,0"]) == 2
    assert main(["synth", "--benchmark", "kitti-step", str(out), "--frames", "0"]) == 2
    assert main(["synth", str(out), "--frames", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(":")[2].strip() for line in err] == ["--videos", "--zip", "--splits", "--frames", "--frames"]
    assert not out.exists()
    (out / "images").mkdir(parents=True)  # not written by synth: refused, left alone
    assert main(["synth", "--benchmark", "kitti-step", str(out), "--size", "64x32", "--splits", "1,0,0"]) == 2
    assert "not written by vpskit synth" in capsys.readouterr().err
    assert (out / "images").is_dir() and not any((out / "images").iterdir())
