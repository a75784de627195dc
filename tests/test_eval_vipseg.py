"""``vpskit eval`` on VIPSeg agrees with the official eval_vpq_vspw.py and eval_stq_vspw.py, run on
the same synthetic data (numbers recorded in fixtures/vipseg_reference.json), end to end through
the CLI; bad predictions are one line, exit 2, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate
from vpskit.pngio import read_png, write_png
from vpskit.preparation.vipseg_run import prepare_vipseg
from vpskit.profiles import get_profile
from vpskit.synth.vipseg import synthesize_vipseg, write_predictions

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "vipseg_reference.json").read_text())
KINDS = list(FIXTURE["evaluation"]["predictions"])
GROUPS = (("all", "all"), ("thing", "things"), ("stuff", "stuff"))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The fixture's synthetic download, prepared, with one prediction of each kind in pred/{kind}."""
    root = tmp_path_factory.mktemp("vipseg-eval")
    synthesize_vipseg(root / "VIPSeg", **FIXTURE["synth"])
    prepare_vipseg(root / "VIPSeg", root / "VIPSeg_720P", jobs=1, progress=False)
    for kind in KINDS:
        write_predictions(root / "VIPSeg_720P", "val", root / "pred" / kind, kind)
    return root


def _val_videos(data: Path) -> list[str]:
    doc = json.loads((data / "VIPSeg_720P" / "panoptic_gt_VIPSeg_val.json").read_text())
    return [v["video_id"] for v in doc["videos"]]


def _check_stq(stq: dict, ref: dict, videos: list[str]) -> None:
    assert stq["stq"] == pytest.approx(ref["STQ"], abs=1e-6)
    assert stq["aq"] == pytest.approx(ref["AQ"], abs=1e-6)
    assert stq["iou"] == pytest.approx(ref["IoU"], abs=1e-6)
    for i, video in enumerate(videos):
        if "STQ_per_seq" in ref:
            seq = stq["per_sequence"][video]
            assert seq["stq"] == pytest.approx(ref["STQ_per_seq"][i], abs=1e-6)
            assert seq["aq"] == pytest.approx(ref["AQ_per_seq"][i], abs=1e-6)
            assert seq["iou"] == pytest.approx(ref["IoU_per_seq"][i], abs=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_agrees_with_the_official_scripts(data, kind):
    ref = FIXTURE["evaluation"]["predictions"][kind]
    res = evaluate(data / "pred" / kind, root=data / "VIPSeg_720P", split="val", jobs=1, progress=False)
    vpq = res["vpq"]
    assert [k for k in vpq if k not in ("final", "per_video")] == [str(w["k"]) for w in ref["vpq_windows"]]
    for w in ref["vpq_windows"]:
        for theirs, ours in GROUPS:
            assert 100 * vpq[str(w["k"])][ours]["pq"] == pytest.approx(w[theirs], abs=1e-9)
    for theirs, ours in GROUPS:
        assert 100 * vpq["final"][ours]["pq"] == pytest.approx(ref["vpq_final"][theirs], abs=1e-9)
    videos = _val_videos(data)
    _check_stq(res["stq"], ref["stq"], videos)
    # GT segments numbered from 1: no crowd region (the fixture's variant of the script)
    one = evaluate(data / "pred" / kind, root=data / "VIPSeg_720P", split="val", jobs=1, progress=False,
                   metrics="stq", stq_gt_instances="from-1")
    _check_stq(one["stq"], ref["stq_gt_instances_from_1"], videos)
    assert one["conventions"]["stq"]["gt_instances"] == "from-1" and "vpq" not in one


def test_the_two_stq_numberings_differ_where_a_thing_is_listed_first():
    refs = FIXTURE["evaluation"]["predictions"]
    assert any(abs(r["stq"]["AQ"] - r["stq_gt_instances_from_1"]["AQ"]) > 1e-3 for r in refs.values())


def test_cli_reports_jobs_and_paper_windows(data, tmp_path, capsys):
    pred, gt = data / "pred" / "noisy", data / "VIPSeg_720P"
    ref = FIXTURE["evaluation"]["predictions"]["noisy"]
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        assert main(["eval", str(pred), "--root", str(gt), "--split", "val", "--out", str(out), "--jobs", jobs,
                     "--per-video", "--per-class"]) == 0
        outs.append(out)
    printed = capsys.readouterr().out
    assert sorted(p.name for p in outs[0].iterdir()) == sorted(
        ["results.json", "vpq-final.txt"] + [f"vpq-{k}.txt" for k in (0, 5, 15, 25, 35)])
    assert (outs[0] / "results.json").read_bytes() == (outs[1] / "results.json").read_bytes()
    assert (outs[0] / "vpq-final.txt").read_text() == ref["vpq_final_txt"]  # the official file, to the byte
    res = json.loads((outs[0] / "results.json").read_text())
    assert res["evaluation"]["benchmark"] == "vipseg"
    conv = res["conventions"]
    assert conv["vpq"]["window_frames"] == [1, 2, 4, 6, 8] and conv["vpq"]["windows"] == "official"
    assert conv["vpq"]["agrees_with"]["file"] == "ClipPanoFCN/eval_vpq_vspw.py"
    assert conv["stq"]["agrees_with"]["commit"] == FIXTURE["reference"]["commit"]
    assert conv["stq"]["gt_instances"] == "from-0"
    videos = _val_videos(data)
    assert sorted(res["stq"]["per_sequence"]) == sorted(videos) == sorted(res["vpq"]["per_video"])
    assert "k=35" in printed and videos[0] in printed
    # --per-class names the categories found (those STQ gives an IoU), and how many others it leaves out
    names = {str(c.id): c.name for c in get_profile("vipseg").categories}
    found = [c for c, iou in res["stq"]["per_class_iou"].items() if iou is not None]
    assert found and all(f" {names[c]} " in printed for c in found)
    assert f"({len(names) - len(found)} categories absent from both the ground truth and the prediction are not " \
           "listed)" in printed
    # the paper's windows: 1, 2, 4 and 6 frames, each window's VPQ the official one's
    paper = tmp_path / "paper"
    assert main(["eval", str(pred), "--root", str(gt), "--out", str(paper), "--vpq-windows", "paper",
                 "--jobs", "1"]) == 0
    res = json.loads((paper / "results.json").read_text())
    assert res["conventions"]["vpq"]["window_frames"] == [1, 2, 4, 6]
    assert not (paper / "vpq-35.txt").exists()
    windows = {w["k"]: w for w in ref["vpq_windows"]}
    for k in (0, 5, 15, 25):
        assert 100 * res["vpq"][str(k)]["all"]["pq"] == pytest.approx(windows[k]["all"], abs=1e-9)
    mean4 = sum(windows[k]["all"] for k in (0, 5, 15, 25)) / 4
    assert 100 * res["vpq"]["final"]["all"]["pq"] == pytest.approx(mean4, abs=1e-9)
    assert abs(mean4 - ref["vpq_final"]["all"]) > 0.1
    # one video, chosen by the number its name starts with
    one = evaluate(pred, root=gt, jobs=1, videos=[int(videos[1].split("_")[0])], progress=False)
    assert one["evaluation"]["videos"] == [videos[1]]
    assert one["stq"]["per_sequence"][videos[1]] == res["stq"]["per_sequence"][videos[1]]


def test_options_of_another_benchmark_are_refused(data):
    with pytest.raises(VpsError, match="no window set 'five'"):
        evaluate(data / "pred" / "perfect", root=data / "VIPSeg_720P", vpq_windows="five")
    with pytest.raises(VpsError, match="--stq-gt-instances"):
        evaluate(data / "pred" / "perfect", root=data / "VIPSeg_720P", stq_gt_instances="from-2")


def _frame(pred: Path, video: int = 0, frame: int = 0) -> tuple[dict, Path]:
    doc = json.loads((pred / "pred.json").read_text())
    entry = doc["annotations"][video]
    ann = entry["annotations"][frame]
    return doc, pred / "pan_pred" / entry["video_id"] / ann["file_name"]


def _break_missing_png(pred: Path) -> str:
    _, png = _frame(pred, 1, 3)
    png.unlink()
    return f"{png}: missing"


def _break_frame_count(pred: Path) -> str:
    doc, _ = _frame(pred)
    doc["annotations"][0]["annotations"].pop()
    (pred / "pred.json").write_text(json.dumps(doc))
    return "8 frame annotations, but the ground truth has 9 frames"


def _break_json_missing(pred: Path) -> str:
    (pred / "pred.json").unlink()
    return "no pred.json"


def _break_json_syntax(pred: Path) -> str:
    (pred / "pred.json").write_text('{"annotations": [')
    return "pred.json"


def _break_json_shape(pred: Path) -> str:
    doc, _ = _frame(pred)
    doc["annotations"][1]["annotations"] = {"segments_info": []}
    (pred / "pred.json").write_text(json.dumps(doc))
    return f"video {doc['annotations'][1]['video_id']}: 'annotations' is an object of 1 key, not a list"


def _break_missing_video(pred: Path) -> str:
    doc, _ = _frame(pred)
    gone = doc["annotations"].pop(1)["video_id"]
    (pred / "pred.json").write_text(json.dumps(doc))
    return f"missing video: no entry with video_id '{gone}'"


def _break_unlisted_id(pred: Path) -> str:
    doc, _ = _frame(pred, 0, 2)
    dropped = doc["annotations"][0]["annotations"][2]["segments_info"].pop()
    (pred / "pred.json").write_text(json.dumps(doc))
    return f"segment id {dropped['id']} "


def _break_unknown_category(pred: Path) -> str:
    doc, _ = _frame(pred, 1, 0)
    doc["annotations"][1]["annotations"][0]["segments_info"][0]["category_id"] = 124
    (pred / "pred.json").write_text(json.dumps(doc))
    return "unknown category_id 124"


def _break_size(pred: Path) -> str:
    _, png = _frame(pred, 0, 4)
    write_png(png, read_png(png)[:-1])
    return f"{png}: size"


def _break_grey(pred: Path) -> str:
    _, png = _frame(pred, 0, 5)
    write_png(png, read_png(png)[..., 0].copy())
    return "expected an 8-bit RGB PNG"


BAD = {"missing frame": _break_missing_png, "frame count": _break_frame_count, "no pred.json": _break_json_missing,
       "pred.json syntax": _break_json_syntax, "pred.json shape": _break_json_shape,
       "missing video": _break_missing_video, "id not in pred.json": _break_unlisted_id,
       "unknown category": _break_unknown_category, "image size": _break_size, "grey PNG": _break_grey}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_prediction_is_one_line(data, tmp_path, capsys, case):
    pred = tmp_path / "pred"
    shutil.copytree(data / "pred" / "noisy", pred)
    expected = BAD[case](pred)
    before = sorted(p.relative_to(pred) for p in pred.rglob("*"))
    out = tmp_path / "out"
    code = main(["eval", str(pred), "--root", str(data / "VIPSeg_720P"), "--out", str(out), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vpskit: error: ") and expected in lines[0], err
    assert "Traceback" not in err and not out.exists()
    assert sorted(p.relative_to(pred) for p in pred.rglob("*")) == before


def test_a_png_id_missing_from_pred_json_is_named_with_its_file(data, tmp_path):
    pred = tmp_path / "pred"
    shutil.copytree(data / "pred" / "perfect", pred)
    _, png = _frame(pred, 0, 1)
    rgb = read_png(png)
    rgb[:2, :2] = np.array([7, 0, 0], dtype=np.uint8)  # id 7: listed nowhere
    write_png(png, rgb)
    with pytest.raises(VpsError, match=r"segment id 7 \(RGB 7,0,0\) is in the PNG but not in") as err:
        evaluate(pred, root=data / "VIPSeg_720P", jobs=1, progress=False)
    assert str(png) in str(err.value)
