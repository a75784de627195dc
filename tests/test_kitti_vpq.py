"""KITTI-STEP VPQ: Kim et al.'s VPQ over windows of 1, 2, 3 and 4 consecutive frames (the STEP
paper's setting). The numbers of mcahny/vps ``tools/eval_vpq.py`` on vpskit's synthetic KITTI-STEP
data are in tests/fixtures/kitti_step_vpq_reference.json (recorded by running that script's own
matching on the same maps); a tiny sequence is also scored by hand."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kitti_step_cases import CASES, SYNTH_ARGS, write_prediction
from vpskit.cli import main
from vpskit.evaluation import evaluate
from vpskit.evaluation.category_instance import open_maps_ground_truth, sequence_states
from vpskit.formats.kitti_step import encode
from vpskit.pngio import write_png
from vpskit.profiles import get_profile

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = json.loads((FIXTURES / "kitti_step_vpq_reference.json").read_text())
STQ_FIXTURE = json.loads((FIXTURES / "kitti_step_reference.json").read_text())
SPANS = ("0", "1", "2", "3")
GROUPS = ("all", "things", "stuff")
TOL = 1e-9


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kitti_vpq") / "kitti"
    assert main(["synth", str(root), *SYNTH_ARGS, "--jobs", "1"]) == 0
    return root


def _prediction(kitti: Path, tmp_path: Path, case: str) -> Path:
    pred = tmp_path / case
    write_prediction(kitti / "panoptic_maps" / "val", pred, case)
    return pred


def test_fixture_is_of_the_stq_fixture_data():
    # same synthetic ground truth (test_kitti_step checks its pixels against this digest)
    assert FIXTURE["ground_truth_sha256"] == STQ_FIXTURE["ground_truth_sha256"]
    assert sorted(FIXTURE["cases"]) == sorted(CASES)
    assert FIXTURE["reference"] == get_profile("kitti-step").vpq_reference.to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_vpq_equals_eval_vpq(kitti, tmp_path, case):
    pred = _prediction(kitti, tmp_path, case)
    out = tmp_path / "reports"
    assert main(["eval", str(pred), "--root", str(kitti), "--metrics", "vpq,stq", "--out", str(out)]) == 0
    got = json.loads((out / "results.json").read_text())
    ref = FIXTURE["cases"][case]
    conv = got["conventions"]["vpq"]
    assert conv["agrees_with"] == FIXTURE["reference"]
    assert (conv["window_spans_k"], conv["window_frames"]) == ([0, 1, 2, 3], [1, 2, 3, 4])
    assert "deeplab2 issue #64" in conv["windows_source"]
    vpq = got["vpq"]
    for k in SPANS:
        for g in GROUPS:
            for m in ("pq", "sq", "rq"):
                assert vpq[k][g][m] == pytest.approx(ref[k][g][m], abs=TOL), (case, k, g, m)
            assert vpq[k][g]["n"] == ref[k][g]["n"], (case, k, g)
        counted = {c for c, v in vpq[k]["per_class"].items() if v["tp"] + v["fp"] + v["fn"]}
        assert counted == set(ref[k]["per_class"]), (case, k)
        for c, rc in ref[k]["per_class"].items():
            gc = vpq[k]["per_class"][c]
            assert (gc["tp"], gc["fp"], gc["fn"]) == (rc["tp"], rc["fp"], rc["fn"]), (case, k, c)
            for m in ("pq", "sq", "rq", "iou"):
                assert gc[m] == pytest.approx(rc[m], abs=TOL), (case, k, c, m)
    for g in GROUPS:
        assert vpq["final"][g]["pq"] == pytest.approx(ref["final"][g], abs=TOL), (case, g)
    # the reference tool's text reports, named by the KITTI-STEP windows
    assert sorted(p.name for p in out.glob("vpq-*.txt")) == ["vpq-0.txt", "vpq-1.txt", "vpq-2.txt", "vpq-3.txt",
                                                            "vpq-final.txt"]
    assert (out / "vpq-final.txt").read_text().splitlines()[0] == f"vpq_all:{100 * ref['final']['all']:.4f}"
    assert got["stq"]["stq"] == pytest.approx(STQ_FIXTURE["cases"][case]["stq"], abs=1e-6)


def test_cases_exercise_windows_and_crowd_rule():
    finals = {case: r["final"]["all"] for case, r in FIXTURE["cases"].items()}
    assert finals["perfect"] == 1.0 and len({round(v, 9) for v in finals.values()}) == len(finals)
    # an id switch costs only in windows of two frames or more
    switched = FIXTURE["cases"]["switched"]
    assert switched["0"]["things"]["pq"] == 1.0 and switched["3"]["things"]["pq"] < switched["1"]["things"]["pq"] < 1
    # marking no crowd region would change the numbers of most cases
    changed = [c for c, r in FIXTURE["cases"].items() if abs(r["final"]["all"] - r["final_all_without_crowd"]) > 1e-4]
    assert {"crowd", "noisy", "switched", "stuff_ids"} <= set(changed)


def _tiny(tmp_path: Path) -> tuple[Path, Path]:
    """One sequence of 4 frames of 1x6 pixels: road, road, car 1, car 1, car crowd, void; the
    prediction has road over the void pixel, car 5 over the crowd, and car 1 renamed 2 from
    the third frame on."""
    road, car, void = 0, 13, 255
    gt_cat = np.array([[road, road, car, car, car, void]], np.uint8)
    gt_inst = np.array([[0, 0, 1, 1, 0, 0]], np.uint16)
    root, pred = tmp_path / "kitti", tmp_path / "pred"
    for t in range(4):
        name = f"{t:06d}.png"
        write_png(root / "panoptic_maps" / "val" / "0000" / name, encode(gt_cat, gt_inst))
        p_cat = np.array([[road, road, car, car, car, road]], np.uint8)
        p_inst = np.array([[0, 0, 1 if t < 2 else 2, 1 if t < 2 else 2, 5, 0]], np.uint16)
        write_png(pred / "0000" / name, encode(p_cat, p_inst))
    return root, pred


def test_tiny_sequence_by_hand(tmp_path):
    root, pred = _tiny(tmp_path)
    res = evaluate(pred, root=root, jobs=1, metrics="vpq")
    assert "stq" not in res
    vpq = res["vpq"]
    # road: every window a TP of IoU 1 (the void pixel under it leaves its union).
    # car 1 (2 px a frame) against predicted 1 then 2: IoU 1 in one frame; over 2 frames 1, 0.5
    # (no match: FN + 2 FP), 1; over 3 frames 4/6 twice (+1 FP each); over 4 frames 0.5 (FN + 2 FP).
    # Car 5 lies on the crowd region: never a false positive.
    car = {"0": (4, 0, 0, Fraction(4)), "1": (2, 2, 1, Fraction(2)), "2": (2, 2, 0, Fraction(4, 3)),
           "3": (0, 2, 1, Fraction(0))}
    road_tp = {"0": 4, "1": 3, "2": 2, "3": 1}
    finals = {g: Fraction(0) for g in GROUPS}
    for k, (tp, fp, fn, iou) in car.items():
        c = vpq[k]["per_class"]["13"]
        assert (c["tp"], c["fp"], c["fn"]) == (tp, fp, fn)
        assert c["iou"] == pytest.approx(float(iou), abs=1e-12)
        car_pq = iou / (tp + Fraction(fp + fn, 2))
        r = vpq[k]["per_class"]["0"]
        assert (r["tp"], r["fp"], r["fn"], r["pq"]) == (road_tp[k], 0, 0, 1.0)
        want = {"all": (1 + car_pq) / 2, "things": car_pq, "stuff": Fraction(1)}
        for g in GROUPS:
            assert vpq[k][g]["pq"] == pytest.approx(float(want[g]), abs=1e-12), (k, g)
            finals[g] += want[g] / 4
        assert vpq[k]["all"]["n"] == 2
    for g in GROUPS:
        assert vpq["final"][g]["pq"] == pytest.approx(float(finals[g]), abs=1e-12)
    assert float(finals["all"]) == pytest.approx((1 + Fraction(11, 14) + Fraction(13, 18) + Fraction(1, 2)) / 4)


def test_jobs_and_merged_states_agree(kitti, tmp_path):
    pred = _prediction(kitti, tmp_path, "noisy")
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        assert main(["eval", str(pred), "--root", str(kitti), "--jobs", jobs, "--out", str(out)]) == 0
        outs.append(out)
    for name in ("results.json", "vpq-0.txt", "vpq-3.txt", "vpq-final.txt"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    whole = json.loads((outs[0] / "results.json").read_text())["vpq"]
    profile = get_profile("kitti-step")
    gt = open_maps_ground_truth(kitti, "val", profile)
    first, _ = sequence_states(gt, ["0001"], pred, ("vpq",), "class", 1, False)
    rest, _ = sequence_states(gt, ["0002", "0003"], pred, ("vpq",), "class", 1, False)
    merged = first.merge(rest).result()
    assert merged == whole


def test_cli_vpq_only_and_tables(kitti, tmp_path, capsys):
    pred = _prediction(kitti, tmp_path, "switched")
    assert main(["eval", str(pred), "--root", str(kitti), "--metrics", "vpq", "--per-video"]) == 0
    text = capsys.readouterr().out
    assert "VPQ (%)" in text and "STQ" not in text
    assert all(f"k={k}" in text for k in SPANS) and "k=5" not in text
    assert "0002" in text
