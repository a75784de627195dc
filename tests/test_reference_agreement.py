"""vpskit's VPQ and STQ agree with the public reference implementations.

``fixtures/reference_metrics.json`` holds the numbers that mcahny/vps ``tools/eval_vpq.py`` (VPQ)
and google-research/deeplab2 ``evaluation/numpy/segmentation_and_tracking_quality.py`` (STQ)
computed on the cases of ``evalcases.py`` (commits and label-map encoding are recorded in the
file). Each case is regenerated here, checked against the digest stored with its numbers, and
scored by :func:`vpskit.evaluation.evaluate`.

STQ's default void rule is deeplab2's: its confusion matrix gives a void prediction on labelled
ground truth a column of its own, averaged into the IoU term as an extra class with IoU 0. The
other rule, ``stq_void="miss"`` (a predicted-void pixel only a miss of its GT category), is checked
against the same numbers: where a sequence has such pixels, its IoU is the reference's mean
rescaled from n + 1 to n classes (the per-class IoUs are the same).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from evalcases import (
    CASES,
    GT_DIR,
    GT_JSON,
    PAN_PRED_DIR,
    PRED_DIR,
    PRED_JSON,
    Frame,
    case_digest,
    write_case,
    write_frames,
)
from vpskit import naming, pngio

FIXTURE = Path(__file__).parent / "fixtures" / "reference_metrics.json"
REFERENCE = json.loads(FIXTURE.read_text())
VPQ_TOL = 1e-9
STQ_TOL = 1e-6
SPANS = ("0", "5", "10", "15")
GROUPS = ("all", "things", "stuff")


def _evaluate(root: Path, jobs: int = 1, stq_void: str = "class") -> dict:
    """Score the prediction written under ``root`` with vpskit (VPQ and STQ)."""
    from vpskit.evaluation import evaluate

    return evaluate(root / PRED_DIR, gt_json=root / GT_JSON, gt_dir=root / GT_DIR,
                    metrics=("vpq", "stq"), jobs=jobs, progress=False, stq_void=stq_void)


@pytest.fixture(scope="module")
def case_dirs(tmp_path_factory) -> dict[str, Path]:
    """Every case, generated once for the module."""
    base = tmp_path_factory.mktemp("evalcases")
    return {name: write_case(spec, base / name) for name, spec in sorted(CASES.items())}


@pytest.fixture(scope="module")
def scored(case_dirs):
    """A function giving vpskit's results for a case, each computed once."""
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = _evaluate(case_dirs[name])
        return cache[name]

    return get


def _close(actual: object, expected: float, tol: float, what: str) -> None:
    assert isinstance(actual, (int, float, np.floating, np.integer)), f"{what}: not a number: {actual!r}"
    assert math.isfinite(float(actual)), f"{what}: {actual!r}"
    assert abs(float(actual) - expected) <= tol, f"{what}: vpskit {float(actual)!r} != reference {expected!r}"


# --------------------------------------------------------------------------- the fixture itself


def test_fixture_covers_every_case():
    assert sorted(REFERENCE["cases"]) == sorted(CASES)
    for ref in REFERENCE["references"].values():
        assert len(ref["commit"]) == 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_matches_generator(name, case_dirs):
    """The stored numbers were computed on exactly the data the generator writes today."""
    ref = REFERENCE["cases"][name]
    assert ref["params"] == CASES[name].to_json()
    assert case_digest(case_dirs[name]) == ref["digest"], (
        f"case {name!r} no longer generates the data its reference numbers were computed on; "
        "recompute the reference numbers"
    )


def test_generator_is_deterministic(tmp_path):
    spec = CASES["mixed"]
    a = case_digest(write_case(spec, tmp_path / "a"))
    b = case_digest(write_case(spec, tmp_path / "b"))
    assert a == b


def test_perfect_case_reference_is_all_ones():
    ref = REFERENCE["cases"]["perfect"]
    for k in SPANS:
        for g in GROUPS:
            assert ref["vpq"][k][g]["pq"] == ref["vpq"][k][g]["sq"] == ref["vpq"][k][g]["rq"] == 1.0
        assert all(c["fp"] == c["fn"] == 0 for c in ref["vpq"][k]["per_class"].values())
    assert ref["stq"]["stq"] == ref["stq"]["aq"] == ref["stq"]["iou"] == 1.0


def test_cases_exercise_the_rules():
    """Across the cases the reference saw matches, misses, false positives and crowd."""
    totals = {"tp": 0, "fp": 0, "fn": 0}
    for name, ref in REFERENCE["cases"].items():
        for k in SPANS:
            for c in ref["vpq"][k]["per_class"].values():
                for key in totals:
                    totals[key] += c[key]
            assert ref["vpq"][k]["things"]["n"] > 0 and ref["vpq"][k]["stuff"]["n"] > 0, name
    assert min(totals.values()) > 100
    assert any(spec.crowd for spec in CASES.values())
    assert any(spec.pred_void == "anywhere" for spec in CASES.values())


# --------------------------------------------------------------------------- VPQ


@pytest.mark.parametrize("name", sorted(CASES))
def test_vpq_agrees_with_reference(name, scored):
    _check_vpq(name, scored(name)["vpq"])


def _check_vpq(name: str, got: dict) -> None:
    """Assert vpskit's VPQ results ``got`` equal the reference's for case ``name``."""
    ref = REFERENCE["cases"][name]["vpq"]
    for k in SPANS:
        for g in GROUPS:
            for m in ("pq", "sq", "rq"):
                _close(got[k][g][m], ref[k][g][m], VPQ_TOL, f"{name} k={k} {g} {m}")
            assert got[k][g]["n"] == ref[k][g]["n"], f"{name} k={k} {g} n"
        got_pc = {str(c): v for c, v in got[k]["per_class"].items()}
        for cat, rc in ref[k]["per_class"].items():
            counted = rc["tp"] + rc["fp"] + rc["fn"] > 0
            if not counted:
                if cat in got_pc:
                    assert (got_pc[cat]["tp"], got_pc[cat]["fp"], got_pc[cat]["fn"]) == (0, 0, 0)
                continue
            assert cat in got_pc, f"{name} k={k}: category {cat} missing"
            gc = got_pc[cat]
            for m in ("tp", "fp", "fn"):
                assert gc[m] == rc[m], f"{name} k={k} category {cat} {m}: {gc[m]} != {rc[m]}"
            for m in ("pq", "sq", "rq", "iou"):
                _close(gc[m], rc[m], VPQ_TOL, f"{name} k={k} category {cat} {m}")
        extra = {c for c, v in got_pc.items() if v["tp"] + v["fp"] + v["fn"] > 0} - set(ref[k]["per_class"])
        assert not extra, f"{name} k={k}: categories the reference does not count: {extra}"
    for g in GROUPS:
        _close(got["final"][g]["pq"], ref["final"][g], VPQ_TOL, f"{name} final {g}")


# --------------------------------------------------------------------------- STQ


def _semantic_maps(root: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per video: (GT category, predicted category) maps of every frame, 255 = void."""
    gt = json.loads((root / GT_JSON).read_text())
    pred = {a["image_id"]: a for a in json.loads((root / PRED_DIR / PRED_JSON).read_text())["annotations"]}
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for ann in gt["annotations"]:
        iid = ann["image_id"]
        maps = []
        for path, segs in (
            (root / GT_DIR / ann["file_name"], ann["segments_info"]),
            (root / PRED_DIR / PAN_PRED_DIR / naming.pan_pred_file(iid), pred[iid]["segments_info"]),
        ):
            ids = pngio.rgb2id(pngio.read_png(path))
            uniq, inv = np.unique(ids, return_inverse=True)
            cat = {s["id"]: s["category_id"] for s in segs}
            maps.append(np.array([cat.get(int(u), 255) for u in uniq])[inv.reshape(ids.shape)])
        out.setdefault(naming.video_name(naming.video_of(iid)), []).append((maps[0], maps[1]))
    return out


def _spec_rescale(frames: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Factor from the reference's SQ to SPEC's: (n+1)/n if void predictions hit labelled GT, else 1.

    n = number of categories whose union (GT non-void pixels of it, or predicted as it on GT
    non-void pixels) is not empty.
    """
    present: set[int] = set()
    void_hits = 0
    for g, p in frames:
        labelled = g != 255
        present |= set(np.unique(g[labelled]).tolist()) | set(np.unique(p[labelled]).tolist())
        void_hits += int(np.count_nonzero(labelled & (p == 255)))
    present.discard(255)
    n = len(present)
    return (n + 1) / n if void_hits else 1.0


@pytest.mark.parametrize("name", sorted(CASES))
def test_stq_agrees_with_reference(name, case_dirs, scored):
    """The default STQ, AQ, IoU and every per-sequence value are deeplab2's, as they are."""
    _check_stq(name, scored(name)["stq"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_stq_miss_rule_is_the_reference_rescaled(name, case_dirs):
    """``stq_void="miss"``: the same per-class IoUs, averaged without the void class."""
    got = _evaluate(case_dirs[name], stq_void="miss")["stq"]
    _check_stq_miss(name, got, case_dirs[name])


def _check_stq(name: str, got: dict) -> None:
    """Assert vpskit's default STQ results ``got`` equal deeplab2's for case ``name``."""
    ref = REFERENCE["cases"][name]["stq"]
    assert sorted(str(v) for v in got["per_sequence"]) == sorted(ref["per_sequence"])
    for m in ("stq", "aq", "iou"):
        _close(got[m], ref[m], STQ_TOL, f"{name} {m}")
        for vid, r in sorted(ref["per_sequence"].items()):
            _close(got["per_sequence"][vid][m], r[m], STQ_TOL, f"{name} {vid} {m}")


def _check_stq_miss(name: str, got: dict, root: Path) -> None:
    """Assert vpskit's "miss"-rule STQ results ``got`` equal the reference's for case ``name``
    written at ``root``, after the rescaling of the module doc."""
    ref = REFERENCE["cases"][name]["stq"]
    videos = _semantic_maps(root)
    assert sorted(str(v) for v in got["per_sequence"]) == sorted(ref["per_sequence"]) == sorted(videos)
    all_frames = [f for v in sorted(videos) for f in videos[v]]
    overall = _spec_rescale(all_frames)
    if CASES[name].pred_void != "anywhere":
        assert overall == 1.0, f"{name}: predicted void on labelled GT; not comparable as is"
    iou = ref["iou"] * overall
    _close(got["aq"], ref["aq"], STQ_TOL, f"{name} aq")
    _close(got["iou"], iou, STQ_TOL, f"{name} iou")
    _close(got["stq"], math.sqrt(ref["aq"] * iou), STQ_TOL, f"{name} stq")
    for vid in sorted(videos):
        r = ref["per_sequence"][vid]
        gs = got["per_sequence"][vid]
        seq_iou = r["iou"] * _spec_rescale(videos[vid])
        _close(gs["aq"], r["aq"], STQ_TOL, f"{name} {vid} aq")
        _close(gs["iou"], seq_iou, STQ_TOL, f"{name} {vid} iou")
        _close(gs["stq"], math.sqrt(r["aq"] * seq_iou), STQ_TOL, f"{name} {vid} stq")


@pytest.mark.parametrize("variant", ["reversed", "file_name_only", "by_position"])
def test_prediction_frames_matched_by_image_id_file_name_or_position(variant, case_dirs, tmp_path):
    """SPEC §4: annotations pair with GT frames by image_id, else file_name, else by position.

    The reference numbers were computed with pred.json in GT order (the reference pairs by
    position only); any of these layouts must give the same numbers.
    """
    name = "mixed"
    root = tmp_path / name
    shutil.copytree(case_dirs[name], root)
    pred_json = root / PRED_DIR / PRED_JSON
    pred = json.loads(pred_json.read_text())
    anns = pred["annotations"]
    if variant in ("reversed", "file_name_only"):
        anns.reverse()
        for ann in anns:
            ann["segments_info"].reverse()
    for ann in anns:
        if variant != "reversed":
            del ann["image_id"]
        if variant == "by_position":
            del ann["file_name"]
    pngio.atomic_write_bytes(pred_json, json.dumps(pred).encode())
    res = _evaluate(root)
    _check_vpq(name, res["vpq"])
    _check_stq(name, res["stq"])


def test_parallel_run_agrees_with_reference(case_dirs):
    """Two worker processes give the reference's numbers too (per-video states merged)."""
    res = _evaluate(case_dirs["mixed"], jobs=2)
    _check_vpq("mixed", res["vpq"])
    _check_stq("mixed", res["stq"])


def test_text_reports_carry_the_reference_numbers(case_dirs, tmp_path):
    """vpq-{k}.txt and vpq-final.txt (SPEC §4) show the reference's numbers at their precision."""
    from vpskit.evaluation import evaluate

    name = "mixed"
    root = case_dirs[name]
    evaluate(root / PRED_DIR, gt_json=root / GT_JSON, gt_dir=root / GT_DIR, out=tmp_path,
             metrics=("vpq",), jobs=1, progress=False)
    ref = REFERENCE["cases"][name]["vpq"]
    final = dict(line.split(":") for line in (tmp_path / "vpq-final.txt").read_text().split())
    for key, group in (("vpq_all", "all"), ("vpq_thing", "things"), ("vpq_stuff", "stuff")):
        assert final[key] == f"{100 * ref['final'][group]:.4f}"
    for k in SPANS:
        rows = {}
        for line in (tmp_path / f"vpq-{k}.txt").read_text().splitlines():
            head, sep, rest = line.partition("|")
            if sep and rest.split() and head.strip() and head.strip() != "IDX":
                rows[head.strip()] = rest.split()
        for label, group in (("All", "all"), ("Things", "things"), ("Stuff", "stuff")):
            pq, sq, rq, n = rows[label]
            for text, m in ((pq, "pq"), (sq, "sq"), (rq, "rq")):
                assert abs(float(text) - 100 * ref[k][group][m]) <= 0.05 + 1e-9, (k, label, m)
            assert int(n) == ref[k][group]["n"]
        for cat, rc in ref[k]["per_class"].items():
            pq, sq, rq, iou, tp, fp, fn = rows[cat]
            assert (int(tp), int(fp), int(fn)) == (rc["tp"], rc["fp"], rc["fn"]), (k, cat)
            for text, value in ((pq, 100 * rc["pq"]), (sq, 100 * rc["sq"]), (rq, 100 * rc["rq"]),
                                (iou, rc["iou"])):
                assert abs(float(text) - value) <= 0.05 + 1e-9, (k, cat)


def test_relabelled_case_has_ids_changing_category(case_dirs):
    """The ``relabelled`` case really reuses predicted ids with another category in a video.

    The reference gives such a tube, in each window, the category of its first frame there.
    """
    pred = json.loads((case_dirs["relabelled"] / PRED_DIR / PRED_JSON).read_text())
    seen: dict[tuple[str, int], set[int]] = {}
    for ann in pred["annotations"]:
        video = ann["image_id"][:4]
        for seg in ann["segments_info"]:
            seen.setdefault((video, seg["id"]), set()).add(seg["category_id"])
    assert sum(len(c) > 1 for c in seen.values()) >= 2


def test_void_prediction_case_differs_from_reference_as_documented(case_dirs):
    """The ``void_pred`` case really has void predictions on labelled GT in every video."""
    videos = _semantic_maps(case_dirs["void_pred"])
    assert all(_spec_rescale(frames) > 1.0 for frames in videos.values())


# --------------------------------------------------------------------------- SPEC rule, by hand


def _tiny_split(root: Path) -> Path:
    """One video of six identical 4x4 frames: road on top, sidewalk and a car below.

    GT (r = road 0, s = sidewalk 1, c = car 13)   prediction (. = void)
        r r r r                                       . r r r
        r r r r                                       r r r r
        c c s s                                       c c s s
        c c s s                                       c c s s
    """
    road, sidewalk, car = 0, 1, 13
    gt_road, gt_side, gt_car = 0x804080, 0xE823F4, 0x8E0005
    gt = np.array([[gt_road] * 4, [gt_road] * 4, [gt_car, gt_car, gt_side, gt_side],
                   [gt_car, gt_car, gt_side, gt_side]], dtype=np.uint32)
    pred = np.array([[0, 7, 7, 7], [7, 7, 7, 7], [9, 9, 8, 8], [9, 9, 8, 8]], dtype=np.uint32)
    gt_info = [{"id": gt_road, "category_id": road, "iscrowd": 0, "area": 8},
               {"id": gt_side, "category_id": sidewalk, "iscrowd": 0, "area": 4},
               {"id": gt_car, "category_id": car, "iscrowd": 0, "area": 4}]
    pred_info = [{"id": 7, "category_id": road}, {"id": 8, "category_id": sidewalk},
                 {"id": 9, "category_id": car}]
    frames = []
    for j in range(naming.ANNOTATED_PER_VIDEO):
        key = naming.FrameKey("frankfurt", 3, naming.ANNOTATED_OFFSETS[j])
        frames.append(Frame(naming.make_image_id(1, j, key), gt, gt_info, pred, pred_info))
    return write_frames(frames, root)


@pytest.mark.parametrize(("rule", "iou"), [("class", 23 / 32), ("miss", 23 / 24)])
def test_void_prediction_by_hand(tmp_path, rule, iou):
    """SPEC §4: road IoU 42/48 (6 of its 48 pixels predicted void), sidewalk 1, car 1.

    IoU term: rule "class" (deeplab2) averages a fourth, void class of IoU 0: (7/8 + 1 + 1) / 4
    = 23/32; rule "miss": (7/8 + 1 + 1) / 3 = 23/24. AQ = 1 (the car track is perfect);
    STQ = sqrt(IoU). VPQ: every window matches every segment, road tube IoU 7/8 -> PQ = SQ = 23/24,
    RQ = 1, whatever the STQ rule.
    """
    res = _evaluate(_tiny_split(tmp_path), stq_void=rule)
    stq = res["stq"]
    _close(stq["iou"], iou, 1e-12, "iou")
    _close(stq["aq"], 1.0, 1e-12, "aq")
    _close(stq["stq"], math.sqrt(iou), 1e-12, "stq")
    seq = stq["per_sequence"]["0001"]
    _close(seq["iou"], iou, 1e-12, "sequence iou")
    for k in SPANS:
        vpq = res["vpq"][k]
        _close(vpq["all"]["pq"], 23 / 24, 1e-12, f"k={k} pq")
        _close(vpq["all"]["rq"], 1.0, 1e-12, f"k={k} rq")
        _close(vpq["stuff"]["pq"], 15 / 16, 1e-12, f"k={k} stuff pq")
        _close(vpq["things"]["pq"], 1.0, 1e-12, f"k={k} things pq")
        windows = 6 - int(k) // 5
        road = {str(c): v for c, v in vpq["per_class"].items()}["0"]
        assert (road["tp"], road["fp"], road["fn"]) == (windows, 0, 0)
        _close(road["iou"], windows * 7 / 8, 1e-12, f"k={k} road iou sum")
