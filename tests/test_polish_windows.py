"""VPQ windows longer than every video scored: ``eval``, ``report`` and ``compare`` print one
warning line naming them and the longest video, and the numbers are the documented rule's
(such a window's VPQ is 0 and it counts in the final mean); no warning when a video holds
every window. End to end through the command line on synthetic VIPSeg and KITTI-STEP data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kitti_step_cases import write_prediction
from vpskit.cli import main
from vpskit.evaluation.notices import short_windows
from vpskit.synth.vipseg import write_predictions

VIPSEG_WARNING = ("vpskit: warning: no video has 8 frames: the 8-frame window's VPQ (k = 35) counts as 0 in the "
                  "mean (longest video: 6 frames)")


@pytest.fixture(scope="module")
def vipseg(tmp_path_factory) -> tuple[Path, Path]:
    """A prepared VIPSeg set of two val videos of 6 frames, and a noisy prediction of it."""
    base = tmp_path_factory.mktemp("short_vipseg")
    assert main(["synth", str(base / "VIPSeg"), "--benchmark", "vipseg", "--splits", "0,2,0", "--frames", "6"]) == 0
    root = base / "VIPSeg_720P"
    assert main(["prepare", str(root), str(base / "VIPSeg"), "--benchmark", "vipseg", "--jobs", "1",
                 "--no-progress"]) == 0
    write_predictions(root, "val", base / "noisy", "noisy")
    return root, base / "noisy"


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> tuple[Path, Path]:
    """A KITTI-STEP set whose val sequences have 1, 2 and 3 frames, and a noisy prediction."""
    base = tmp_path_factory.mktemp("short_kitti")
    root = base / "kitti"
    assert main(["synth", str(root), "--benchmark", "kitti-step", "--size", "64x32", "--splits", "0,3,0",
                 "--frames", "1", "--seed", "3", "--jobs", "1"]) == 0
    write_prediction(root / "panoptic_maps" / "val", base / "noisy", "noisy")
    return root, base / "noisy"


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("vpskit: warning:")]


def _eval(capsys, pred: Path, root: Path, out: Path, *extra: str) -> tuple[dict, list[str]]:
    capsys.readouterr()
    assert main(["eval", str(pred), "--root", str(root), "--out", str(out), "--jobs", "1", *extra]) == 0
    return json.loads((out / "results.json").read_text()), _warnings(capsys.readouterr().err)


def test_the_message():
    assert short_windows((1, 2, 4, 6, 8), (0, 5, 15, 25, 35), [6, 3]) == VIPSEG_WARNING.split("warning: ")[1]
    assert short_windows((1, 2, 4, 6, 8), (0, 5, 15, 25, 35), [4]) == (
        "no video has 6 frames: the 6- and 8-frame windows' VPQ (k = 25 and 35) each count as 0 in the mean "
        "(longest video: 4 frames)")
    assert short_windows((1, 2, 3, 4), (0, 5, 10, 15), [3, 2], "annotated frame") == (
        "no video has 4 annotated frames: the 4-frame window's VPQ (k = 15) counts as 0 in the mean "
        "(longest video: 3 annotated frames)")
    assert short_windows((1, 2, 3, 4), (0, 1, 2, 3), [1]).endswith("(longest video: 1 frame)")
    assert short_windows((1, 2, 4, 6, 8), (0, 5, 15, 25, 35), [8, 2]) is None
    assert short_windows((1, 2), (0, 5), []) is None


def test_vipseg_eval_warns_and_the_window_counts_as_zero(vipseg, tmp_path, capsys):
    root, pred = vipseg
    official, warned = _eval(capsys, pred, root, tmp_path / "official")
    assert warned == [VIPSEG_WARNING]
    vpq = official["vpq"]
    assert vpq["35"]["all"] == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}
    assert all(c["tp"] + c["fp"] + c["fn"] == 0 for c in vpq["35"]["per_class"].values())
    assert 0 < vpq["25"]["all"]["pq"] < 1  # the 6-frame window fits: scored
    # the paper's windows (1, 2, 4, 6 frames) all fit: no warning, the same windows' numbers, and
    # the official final mean is theirs with a fifth window of 0
    paper, quiet = _eval(capsys, pred, root, tmp_path / "paper", "--vpq-windows", "paper")
    assert quiet == []
    for k in ("0", "5", "15", "25"):
        assert paper["vpq"][k] == vpq[k]
    for group in ("all", "things", "stuff"):
        spans = [vpq[k][group]["pq"] for k in ("0", "5", "15", "25", "35")]
        assert vpq["final"][group]["pq"] == pytest.approx(sum(spans) / 5, abs=1e-15)
        assert vpq["final"][group]["pq"] == pytest.approx(paper["vpq"]["final"][group]["pq"] * 4 / 5, abs=1e-15)
    assert (tmp_path / "official" / "vpq-35.txt").is_file()
    # STQ alone has no windows: nothing to say
    _, none = _eval(capsys, pred, root, tmp_path / "stq", "--metrics", "stq")
    assert none == []


def test_report_and_compare_warn_once(vipseg, tmp_path, capsys):
    root, pred = vipseg
    capsys.readouterr()
    assert main(["report", str(pred), str(pred), "--names", "a,b", "--root", str(root), "--worst", "0",
                 "--reps", "20", "--out", str(tmp_path / "page.html"), "--jobs", "1"]) == 0
    assert _warnings(capsys.readouterr().err) == [VIPSEG_WARNING]
    assert main(["compare", str(pred), str(pred), "--names", "a,b", "--root", str(root), "--reps", "20",
                 "--out", str(tmp_path / "compare.json"), "--jobs", "1"]) == 0
    assert _warnings(capsys.readouterr().err) == [VIPSEG_WARNING]
    assert main(["compare", str(pred), str(pred), "--names", "a,b", "--root", str(root), "--reps", "20",
                 "--out", str(tmp_path / "paper.json"), "--jobs", "1", "--vpq-windows", "paper"]) == 0
    assert _warnings(capsys.readouterr().err) == []


def test_kitti_step_names_the_windows_and_the_longest_sequence(kitti, tmp_path, capsys):
    root, pred = kitti
    results, warned = _eval(capsys, pred, root, tmp_path / "all")
    assert warned == ["vpskit: warning: no video has 4 frames: the 4-frame window's VPQ (k = 3) counts as 0 in "
                      "the mean (longest video: 3 frames)"]
    assert results["vpq"]["3"]["all"]["n"] == 0 and results["vpq"]["2"]["all"]["n"] > 0
    # the longest video is that of the videos scored
    _, warned = _eval(capsys, pred, root, tmp_path / "short", "--videos", "1")
    assert warned == ["vpskit: warning: no video has 3 frames: the 3- and 4-frame windows' VPQ (k = 2 and 3) each "
                      "count as 0 in the mean (longest video: 2 frames)"]


def test_no_warning_when_a_video_holds_every_window(tmp_path, capsys):
    root = tmp_path / "kitti"
    assert main(["synth", str(root), "--benchmark", "kitti-step", "--size", "64x32", "--splits", "0,1,0",
                 "--frames", "4", "--jobs", "1"]) == 0
    write_prediction(root / "panoptic_maps" / "val", tmp_path / "noisy", "noisy")
    results, warned = _eval(capsys, tmp_path / "noisy", root, tmp_path / "out")
    assert warned == [] and results["vpq"]["3"]["all"]["n"] > 0
