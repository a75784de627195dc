"""`vpskit perturb`: each kind of error, alone, moves VPQ and STQ the way its definition says, and
what perturb.json counts is what the metrics see."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

import vpskit
from vpskit import naming
from vpskit.categories import pack_color
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate
from vpskit.perturbation.rules import Errors, Labels, erode, place_ghosts, plan_video
from vpskit.pngio import read_png, rgb2id

SPANS = ("0", "5", "10", "15")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A prepared val split of 2 synthetic videos at 128x64."""
    base = tmp_path_factory.mktemp("perturb")
    vpskit.synthesize(base / "down", videos=4, size=(128, 64), seed=0, as_zip=True, jobs=1, progress=False,
                      splits={"train": 1, "val": 2, "test": 1})
    down = base / "down"
    vpskit.prepare(base / "root", down / "leftImg8bit_sequence_trainvaltest.zip", down / "gtFine_trainvaltest.zip",
                   release=down / "cityscapes-vps-dataset-1.0.zip", splits="val", jobs=1, progress=False)
    return base / "root"


def run(root: Path, out: Path, **errors) -> tuple[dict, dict]:
    """Perturb the val split into ``out`` and score it: (perturb.json's record, eval's results)."""
    record = vpskit.perturb(root, out, split="val", jobs=1, progress=False, **errors)
    assert json.loads((out / "perturb.json").read_text()) == record
    return record, evaluate(out, root=root, split="val", jobs=1)


def totals(results: dict, k: str) -> dict[str, int]:
    """TP, FP and FN of VPQ at span ``k``, summed over the categories."""
    per_class = results["vpq"][k]["per_class"].values()
    return {m: sum(c[m] for c in per_class) for m in ("tp", "fp", "fn")}


def pq(results: dict, k: str, what: str = "pq") -> float:
    return results["vpq"][k]["all"][what]


def test_no_errors_is_the_ground_truth(root, tmp_path):
    record, res = run(root, tmp_path / "p")
    for k in (*SPANS, "final"):
        assert res["vpq"][k]["all"]["pq"] == 1.0
    assert res["stq"]["stq"] == res["stq"]["aq"] == res["stq"]["iou"] == 1.0
    c = record["counts"]
    assert c["ground_truth"]["videos"] == 2 and c["ground_truth"]["frames"] == 12
    assert c["ground_truth"]["segments"] == totals(res, "0")["tp"] > 0
    assert all(n == 0 for kind, v in c.items() if kind != "ground_truth" for n in v.values())
    assert record["errors"] == {"drop": 0.0, "switch": 0.0, "confuse": 0.0, "erode": 0, "false_positive": 0.0}
    # the same ids, pixel for pixel
    gt = json.loads((root / naming.panoptic_gt_json("val")).read_text())
    for ann in gt["annotations"]:
        want = rgb2id(read_png(root / "val" / "panoptic_video" / ann["file_name"]))
        got = rgb2id(read_png(tmp_path / "p" / "pan_pred" / naming.pan_pred_file(ann["image_id"])))
        assert np.array_equal(got, want)


def test_a_track_switch_costs_vpq_over_time_and_aq_but_not_pq(root, tmp_path):
    record, res = run(root, tmp_path / "p", switch=0.5)
    assert record["counts"]["switch"]["tracks"] > 0
    assert pq(res, "0") == 1.0 and totals(res, "0")["fp"] == 0
    for k in ("5", "10", "15"):
        assert pq(res, k) < 1.0
    assert pq(res, "15") < pq(res, "5")  # longer windows see more switches
    assert res["stq"]["aq"] < 1.0 and res["stq"]["iou"] == 1.0


def test_erosion_costs_sq_not_rq(root, tmp_path):
    for px in (1, 3):
        record, res = run(root, tmp_path / f"p{px}", erode=px)
        eroded = record["counts"]["erode"]
        assert eroded["pixels"] > 0
        for k in SPANS:
            for part in ("all", "things", "stuff"):
                assert res["vpq"][k][part]["rq"] == 1.0, (px, k, part)
            assert res["vpq"][k]["all"]["sq"] < 1.0
        assert totals(res, "0") == {"tp": record["counts"]["ground_truth"]["segments"], "fp": 0, "fn": 0}
        assert res["stq"]["iou"] < 1.0 and res["stq"]["aq"] < 1.0
    assert eroded["segments_eroded_less"] > 0  # at 3 px, small segments keep more than half


def test_a_missed_track_is_one_fn_per_frame(root, tmp_path):
    record, res = run(root, tmp_path / "p", drop=0.3)
    dropped, segments = record["counts"]["drop"]["segments"], record["counts"]["ground_truth"]["segments"]
    assert record["counts"]["drop"]["tracks"] > 0 and dropped >= record["counts"]["drop"]["tracks"]
    assert totals(res, "0") == {"tp": segments - dropped, "fp": 0, "fn": dropped}
    assert pq(res, "0", "rq") < 1.0 and pq(res, "0", "sq") == 1.0
    assert res["vpq"]["0"]["things"]["rq"] < 1.0 and res["vpq"]["0"]["stuff"]["rq"] == 1.0
    assert res["stq"]["aq"] < 1.0


def test_a_confused_category_is_one_fn_and_one_fp_per_frame(root, tmp_path):
    record, res = run(root, tmp_path / "p", confuse=0.3)
    confused = record["counts"]["confuse"]
    assert confused["tracks"] > 0 and confused["stuff_segments"] > 0
    segments = record["counts"]["ground_truth"]["segments"]
    assert totals(res, "0") == {"tp": segments - confused["segments"], "fp": confused["segments"],
                                "fn": confused["segments"]}
    assert pq(res, "0") < 1.0 and res["stq"]["iou"] < 1.0
    assert res["stq"]["aq"] == 1.0  # the tracks are whole: AQ does not look at categories


def test_false_positives_are_counted_as_such(root, tmp_path):
    record, res = run(root, tmp_path / "p", false_positive=0.5)
    fp = record["counts"]["false_positive"]
    assert fp["tracks"] > 0 and fp["segments"] >= fp["tracks"] and fp["pixels"] > 0
    assert totals(res, "0") == {"tp": record["counts"]["ground_truth"]["segments"], "fp": fp["segments"], "fn": 0}
    assert res["vpq"]["0"]["things"]["rq"] < 1.0 and res["vpq"]["0"]["stuff"]["rq"] == 1.0
    assert res["stq"]["aq"] == 1.0 and res["stq"]["iou"] < 1.0


def test_same_bytes_whatever_jobs_and_more_probability_only_adds_errors(root, tmp_path):
    errors = {"drop": 0.2, "switch": 0.3, "confuse": 0.2, "erode": 1, "false_positive": 0.3}

    def files(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    a = vpskit.perturb(root, tmp_path / "a", seed=3, jobs=1, progress=False, **errors)
    b = vpskit.perturb(root, tmp_path / "b", seed=3, jobs=2, progress=False, **errors)
    assert a == b and files(tmp_path / "a") == files(tmp_path / "b")
    assert len(files(tmp_path / "a")) == 12 + 2
    vpskit.perturb(root, tmp_path / "c", seed=4, jobs=1, progress=False, **errors)
    assert files(tmp_path / "c") != files(tmp_path / "a")
    # dropping: every pixel void at P = 0.2 is void at P = 0.5
    low = vpskit.perturb(root, tmp_path / "low", drop=0.2, jobs=1, progress=False)
    high = vpskit.perturb(root, tmp_path / "high", drop=0.5, jobs=1, progress=False)
    assert 0 < low["counts"]["drop"]["tracks"] < high["counts"]["drop"]["tracks"]
    for name in sorted(p.name for p in (tmp_path / "low" / "pan_pred").iterdir()):
        void_low = rgb2id(read_png(tmp_path / "low" / "pan_pred" / name)) == 0
        void_high = rgb2id(read_png(tmp_path / "high" / "pan_pred" / name)) == 0
        assert not (void_low & ~void_high).any()


def test_command_line(root, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["perturb", str(root), "--split", "val", str(out), "--drop", "0.3", "--erode", "1",
                 "--jobs", "1", "--no-progress"]) == 0
    text = capsys.readouterr().out
    record = json.loads((out / "perturb.json").read_text())
    d = record["counts"]["drop"]
    assert f"{d['tracks']} of {record['counts']['ground_truth']['tracks']} tracks missed" in text
    assert "erode 1 px" in text and "switch" not in text and str(out / "pred.json") in text
    assert record["split"] == "val" and record["errors"]["drop"] == 0.3 and record["seed"] == 0
    assert sum(v["drop"]["segments"] for v in record["per_video"].values()) == d["segments"]
    # again into the same folder: replaced, with no PNG of the earlier run left over
    (out / "pan_pred" / "stale.png").write_bytes(b"x")
    assert main(["perturb", str(root), str(out), "--jobs", "1"]) == 0
    assert "the prediction is the ground truth" in capsys.readouterr().out
    assert not (out / "pan_pred" / "stale.png").exists() and len(list((out / "pan_pred").iterdir())) == 12


@pytest.mark.parametrize(("args", "message"), [
    (["--drop", "1.5"], "argument --drop: a probability is from 0 to 1, got 1.5"),
    (["--erode", "-1"], "argument --erode: must be 0 or more, got -1"),
    (["--split", "test"], "split 'test': has no public labels"),
    (["--split", "dev"], "split 'dev': unknown (known: train, val, test)"),
])
def test_bad_arguments_are_one_line(root, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    try:
        code = main(["perturb", str(root), str(out), *args])
    except SystemExit as exc:  # a usage error, from argparse
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (out / "pred.json").exists()


def test_a_foreign_folder_is_refused_and_left_alone(root, tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("precious")
    assert main(["perturb", str(root), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no earlier 'vpskit perturb' output" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_python_api_checks_its_arguments(root, tmp_path):
    with pytest.raises(VpsError, match="--false-positive: must be a probability from 0 to 1, got -0.1"):
        vpskit.perturb(root, tmp_path / "p", false_positive=-0.1)
    with pytest.raises(VpsError, match="--erode: must be a whole number of pixels"):
        vpskit.perturb(root, tmp_path / "p", erode=1.5)
    with pytest.raises(VpsError, match="--seed: must be a non-negative integer"):
        vpskit.perturb(root, tmp_path / "p", seed=-1)
    importlib.import_module("vpskit.perturbation")  # the package beside the function
    assert callable(vpskit.perturb) and "perturb" in vpskit.__all__


def test_crowd_regions_are_kept_and_never_tracks(tmp_path):
    from test_eval import write_split

    write_split(tmp_path / "gt")
    record, res = run(tmp_path / "gt", tmp_path / "p")
    assert pq(res, "final") == 1.0 and res["stq"]["stq"] == 1.0
    record = vpskit.perturb(tmp_path / "gt", tmp_path / "p", drop=1.0, jobs=1)
    assert record["counts"]["ground_truth"]["tracks"] == record["counts"]["drop"]["tracks"] == 4  # 2 cars x 2
    for png in sorted((tmp_path / "p" / "pan_pred").iterdir()):
        video = int(png.name[:4])
        ids = set(np.unique(rgb2id(read_png(png))).tolist())
        assert pack_color((220, 20 + video, 60)) in ids  # the crowd region is still there
        assert not ids & {pack_color((10 + video, 0, 142)), pack_color((20 + video, 0, 142))}  # no car


# --------------------------------------------------------------------------- the rules on arrays


def test_erode_hand_computed():
    ids = np.array([[1, 1, 1, 1, 2, 2],
                    [1, 1, 1, 1, 2, 2],
                    [1, 1, 1, 1, 2, 2],
                    [1, 1, 1, 1, 2, 2],
                    [0, 0, 0, 0, 2, 2]], np.uint32)
    # 1 px: segment 1 loses the 7 pixels next to 2 or void and keeps 9 of 16; segment 2 would
    # keep 5 of 10, not more than half, so it is left whole (the image border is no edge)
    out, pixels, less = erode(Labels.of(ids), 1)
    assert out.values().tolist() == [[1, 1, 1, 0, 2, 2],
                            [1, 1, 1, 0, 2, 2],
                            [1, 1, 1, 0, 2, 2],
                            [0, 0, 0, 0, 2, 2],
                            [0, 0, 0, 0, 2, 2]]
    assert (pixels, less) == (7, 1)
    # 2 px would leave segment 1 with 4 of 16: it is eroded by 1 px only
    out2, pixels2, less2 = erode(Labels.of(ids), 2)
    assert np.array_equal(out2.values(), out.values()) and (pixels2, less2) == (7, 2)
    same, pixels0, less0 = erode(Labels.of(ids), 0)
    assert np.array_equal(same.values(), ids) and (pixels0, less0) == (0, 0)
    # with no void in the map, void is added to the table
    out3, pixels3, _ = erode(Labels.of(ids[:4]), 1)
    assert out3.values()[:, 3].tolist() == [0, 0, 0, 0] and pixels3 == 4
    # a one-pixel segment is never eroded away
    dot = np.zeros((3, 3), np.uint32)
    dot[1, 1] = 7
    assert erode(Labels.of(dot), 1)[0].values()[1, 1] == 7


def test_place_ghosts_takes_only_stuff_and_never_half_a_segment():
    # stuff 1 (9 px), thing 5 (2 px wide), thing 7 (1 px wide), stuff 2 (2 px), void
    gt = np.array([[1, 1, 5, 5, 1, 1, 7, 2],
                   [1, 1, 5, 5, 1, 1, 7, 2],
                   [1, 0, 5, 5, 0, 0, 0, 0]], np.uint32)
    stuff = np.array([1, 2], np.uint32)
    labels = Labels.of(gt, [1, 2, 5, 7])

    def ghosts(*which):
        pred, placed = place_ghosts(labels, labels, stuff, which)
        return pred.values().tolist(), placed

    # 5 moved right by its width: 4 pixels of stuff 1 (void skipped); 7 moved right would take
    # all of stuff 2, so it takes none
    assert ghosts((5, 9, 1), (7, 8, 1)) == ([[1, 1, 5, 5, 9, 9, 7, 2],
                                             [1, 1, 5, 5, 9, 9, 7, 2],
                                             [1, 0, 5, 5, 0, 0, 0, 0]], {9: 4})
    # 7 moved left lands where 5's ghost already is: nothing left for it
    assert ghosts((5, 9, 1), (7, 8, -1))[1] == {9: 4}
    # 5 moved left would take 5 of stuff 1's 9 pixels: none taken
    assert ghosts((5, 9, -1)) == (gt.tolist(), {})
    # a source absent from the frame makes no ghost
    assert ghosts((6, 9, 1)) == (gt.tolist(), {})
    assert np.array_equal(labels.values(), gt)  # the labels given are left as they were


def test_labels_tell_unknown_ids():
    ids = np.array([[0, 3], [70000, 3]], np.uint32)
    assert Labels.of(ids, [3, 70000]).unknown is None
    assert Labels.of(ids, [3]).unknown == 70000
    assert Labels.of(ids, [3, 70000 + 65536, 70000]).values().tolist() == ids.tolist()  # low bits shared


def test_plan_draws_are_stable_and_nested():
    from vpskit.evaluation.metrics.categories import CategorySet

    cats = CategorySet.default()
    segments = {1000 + i: (13, False, [0, 1, 2]) for i in range(40)} | {5: (0, False, [0, 1, 2])}
    low = plan_video(segments, cats, Errors(drop=0.2, switch=0.2), seed=1, video=3)
    high = plan_video(segments, cats, Errors(drop=0.5, switch=0.2), seed=1, video=3)
    assert low.dropped < high.dropped
    # a switch is drawn the same whatever the drops, unless the track is missed
    assert low.switches and not low.switches.keys() & low.dropped
    assert ({t: s[0] for t, s in high.switches.items()}
            == {t: s[0] for t, s in low.switches.items() if t not in high.dropped})
    confused = plan_video(segments, cats, Errors(confuse=1.0), seed=1, video=3)
    assert all(confused.category[t] in range(11, 19) and confused.category[t] != 13 for t in segments if t != 5)
    assert confused.category[5] in range(1, 11)
    assert plan_video(segments, cats, Errors(drop=0.2), seed=2, video=3).dropped != low.dropped


def test_ground_truth_from_a_zip_and_a_broken_one(tmp_path, capsys):
    import zipfile

    from test_eval import write_split

    gt = tmp_path / "gt"
    write_split(gt)
    vpskit.perturb(gt, tmp_path / "a", drop=0.5, erode=1, jobs=1)
    with zipfile.ZipFile(tmp_path / "gt.zip", "w") as zf:
        for f in sorted(gt.rglob("*")):
            zf.write(f, "cityscapes_vps/" + f.relative_to(gt).as_posix())
    vpskit.perturb(tmp_path / "gt.zip", tmp_path / "b", drop=0.5, erode=1, jobs=1)
    for f in sorted((tmp_path / "a").rglob("*.png")):
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()
    assert (tmp_path / "a" / "pred.json").read_bytes() == (tmp_path / "b" / "pred.json").read_bytes()
    # a PNG id the JSON does not list
    doc = json.loads((gt / naming.panoptic_gt_json("val")).read_text())
    ann = doc["annotations"][2]
    ann["segments_info"] = ann["segments_info"][1:]
    (gt / naming.panoptic_gt_json("val")).write_text(json.dumps(doc))
    assert main(["perturb", str(gt), str(tmp_path / "c"), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ann["file_name"] in err and "not in the ground-truth JSON" in err
    assert not (tmp_path / "c" / "pred.json").exists()
