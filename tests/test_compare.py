"""`vpskit compare` and the paired bootstrap over videos: B = A gives nothing, fixing half the
track switches gives an interval above 0, the weighted sums are the accumulators' own numbers,
the percentile interval is what a plain loop over replicates finds, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vpskit
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate, evaluate_videos
from vpskit.evaluation.metrics import STQAccumulator, VPQAccumulator
from vpskit.evaluation.metrics.sums import weighted_sum
from vpskit.visualize import stats
from vpskit.visualize.stats import METRICS, VideoStates, compare_accumulators, percentile_interval

SPANS = ("0", "5", "10", "15")
KEYS = [key for key, _ in METRICS]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A prepared val split of 14 synthetic videos at 128x64, and two predictions made from it
    with the same seed: A switches each track with probability 0.6, B with 0.3 (B's switches are
    a subset of A's: about half)."""
    base = tmp_path_factory.mktemp("compare")
    down = base / "down"
    vpskit.synthesize(down, videos=16, size=(128, 64), seed=3, as_zip=True, jobs=1, progress=False,
                      splits={"train": 1, "val": 14, "test": 1})
    vpskit.prepare(base / "root", down / "leftImg8bit_sequence_trainvaltest.zip", down / "gtFine_trainvaltest.zip",
                   release=down / "cityscapes-vps-dataset-1.0.zip", splits="val", jobs=1, progress=False)
    counts = {}
    for name, p in (("a", 0.6), ("b", 0.3)):
        record = vpskit.perturb(base / "root", base / name, split="val", switch=p, seed=5, jobs=1, progress=False)
        counts[name] = record["counts"]["switch"]["tracks"]
    assert 0 < counts["b"] < counts["a"]
    return {"root": base / "root", "a": base / "a", "b": base / "b"}


@pytest.fixture(scope="module")
def accumulators(data) -> dict[str, tuple[VPQAccumulator, STQAccumulator]]:
    return {name: evaluate_videos(data[name], root=data["root"], split="val", jobs=1, progress=False)
            for name in ("a", "b")}


def headline(results: dict) -> dict[str, float]:
    """The metrics of eval's results, by the keys of a comparison."""
    vpq, stq = results["vpq"], results["stq"]
    out = {"vpq": vpq["final"]["all"]["pq"], "vpq_things": vpq["final"]["things"]["pq"],
           "vpq_stuff": vpq["final"]["stuff"]["pq"]}
    out |= {f"vpq_k{k}": vpq[k]["all"]["pq"] for k in SPANS}
    return out | {"stq": stq["stq"], "aq": stq["aq"], "iou": stq["iou"]}


# --------------------------------------------------------------------------- the two synthetic pairs


def test_b_equal_to_a_differs_by_nothing(data):
    res = vpskit.compare([data["a"], data["a"]], root=data["root"], names=["A", "A again"], reps=300,
                         jobs=1, progress=False)
    (pair,) = res["pairs"]
    assert list(pair["metrics"]) == KEYS
    for key, row in pair["metrics"].items():
        assert row["a"] == row["b"] and row["delta"] == 0.0, key
        low, high = row["interval"]
        assert low <= 0.0 <= high and not row["excludes_zero"], key
    assert all(v["delta"] == 0.0 for row in pair["per_video"].values() for v in row.values())
    assert all(s["delta"] in (0.0, None) for row in pair["per_class"].values() for s in row["pq"].values())


def test_fixing_half_the_track_switches_is_a_sure_gain(data):
    res = vpskit.compare([data["a"], data["b"]], root=data["root"], reps=1000, jobs=1, progress=False)
    assert [p["name"] for p in res["predictions"]] == ["a", "b"]
    rows = res["pairs"][0]["metrics"]
    for key in ("vpq", "vpq_things", "vpq_k5", "vpq_k10", "vpq_k15", "stq", "aq"):
        low, high = rows[key]["interval"]
        assert rows[key]["delta"] > 0 and 0 < low <= rows[key]["delta"] <= high, (key, rows[key])
        assert rows[key]["excludes_zero"], key
    # a switch costs nothing within one frame, nor in the semantic term or on stuff
    for key in ("vpq_k0", "iou", "vpq_stuff"):
        assert rows[key]["delta"] == 0.0 and rows[key]["interval"] == [0.0, 0.0], key
        assert not rows[key]["excludes_zero"]
    # longer windows see more switches: the gain grows with k
    assert rows["vpq_k5"]["delta"] < rows["vpq_k10"]["delta"] < rows["vpq_k15"]["delta"]
    # the numbers compared are eval's, each prediction evaluated as eval does
    for entry, name in zip(res["predictions"], ("a", "b"), strict=True):
        assert entry["scores"] == headline(evaluate(data[name], root=data["root"], jobs=1))
        assert entry["prediction"]["absolute"] == str(data[name].resolve())
    assert res["evaluation"]["videos"] == sorted(res["pairs"][0]["per_video"])
    assert res["comparison"] == {"method": stats.METHOD, "unit": "video", "videos": 14, "reps": 1000,
                                 "seed": 0, "level": 0.95, "baseline": "a"}


def test_per_class_and_per_video_deltas_are_evals_numbers(data, accumulators):
    res = compare_accumulators([("a", *accumulators["a"]), ("b", *accumulators["b"])], reps=10)
    ra = evaluate(data["a"], root=data["root"], jobs=1)
    rb = evaluate(data["b"], root=data["root"], jobs=1)
    pair = res["pairs"][0]
    car = pair["per_class"]["13"]
    assert car["name"] == "car"
    for k in SPANS:
        assert car["pq"][k] == {"a": ra["vpq"][k]["per_class"]["13"]["pq"], "b": rb["vpq"][k]["per_class"]["13"]["pq"],
                                "delta": rb["vpq"][k]["per_class"]["13"]["pq"] - ra["vpq"][k]["per_class"]["13"]["pq"]}
    assert car["pq"]["final"]["a"] == pytest.approx(sum(ra["vpq"][k]["per_class"]["13"]["pq"] for k in SPANS) / 4)
    assert car["iou"]["a"] == ra["stq"]["per_class_iou"]["13"] == 1.0
    for video, row in pair["per_video"].items():
        assert row["vpq"]["b"] == rb["vpq"]["per_video"][video]["final"]["all"]
        assert row["stq"]["delta"] == rb["stq"]["per_sequence"][video]["stq"] - ra["stq"]["per_sequence"][video]["stq"]
    # a category absent from the ground truth and both predictions has no PQ and no IoU
    absent = [cid for cid, row in pair["per_class"].items() if row["iou"]["a"] is None]
    for cid in absent:
        assert all(v == {"a": None, "b": None, "delta": None} for v in pair["per_class"][cid]["pq"].values())


# --------------------------------------------------------------------------- weighted sums = accumulators


def test_weights_all_one_give_exactly_the_accumulator_results(accumulators):
    vpq, stq = accumulators["a"]
    states = VideoStates.of(vpq, stq)
    n = len(states.videos)
    got = states.scores(np.ones((1, n), dtype=np.int64))
    want = headline({"vpq": vpq.result(), "stq": stq.result()})
    assert {k: float(v[0]) for k, v in got.items()} == want  # to the bit
    # identity weights: every video alone, as eval's per-video numbers
    alone = states.scores(np.eye(n, dtype=np.int64))
    per_video, per_sequence = vpq.result()["per_video"], stq.result()["per_sequence"]
    for i, video in enumerate(states.videos):
        assert alone["vpq"][i] == per_video[video]["final"]["all"]
        assert alone["vpq_things"][i] == per_video[video]["final"]["things"]
        assert (alone["stq"][i], alone["aq"][i], alone["iou"][i]) == tuple(per_sequence[video][m] for m in ("stq", "aq", "iou"))


def test_a_weight_of_two_is_the_video_added_twice(accumulators):
    vpq, stq = accumulators["b"]
    states = VideoStates.of(vpq, stq)
    videos = states.videos
    twice, dropped = videos[2], videos[5]
    weights = np.ones((1, len(videos)), dtype=np.int64)
    weights[0, 2], weights[0, 5] = 2, 0
    v2, s2 = VPQAccumulator(vpq.categories), STQAccumulator(stq.categories, stq.void_rule)
    for video in videos:
        if video != dropped:
            v2.add_state(video, vpq.videos[video])
            s2.add_state(video, stq.videos[video])
    v2.add_state("copy of " + twice, vpq.videos[twice])
    s2.add_state("copy of " + twice, stq.videos[twice])
    got = {k: float(v[0]) for k, v in states.scores(weights).items()}
    want = headline({"vpq": v2.result_spans(), "stq": s2.result()})
    assert got == pytest.approx(want, abs=1e-12)
    assert got["vpq"] != pytest.approx(headline({"vpq": vpq.result_spans(), "stq": stq.result()})["vpq"], abs=1e-6)
    total = v2.totals()
    for i, name in enumerate(("iou", "tp", "fp", "fn")):
        summed = weighted_sum(states.vpq[i], weights)[0]
        if name == "iou":
            np.testing.assert_allclose(summed, total.iou, rtol=0, atol=1e-9)
        else:
            assert np.array_equal(summed, getattr(total, name))
    assert np.array_equal(weighted_sum(states.stq[2], weights)[0], sum(st.confusion for st in s2.videos.values()))


# --------------------------------------------------------------------------- the bootstrap by hand


def _linear_percentile(values: list[float], q: float) -> float:
    """The q-th percentile with linear interpolation between the sorted values (numpy's default)."""
    xs = sorted(values)
    rank = q / 100 * (len(xs) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (rank - lo) * (xs[hi] - xs[lo])


def test_a_small_bootstrap_is_a_plain_loop_over_replicates(accumulators):
    """3 videos, seed 7: each replicate draws 3 videos with replacement from one PCG64 stream and
    scores fresh accumulators holding the drawn videos (a video drawn twice is added twice)."""
    three = {}
    for name, (vpq, stq) in accumulators.items():
        v, s = VPQAccumulator(vpq.categories), STQAccumulator(stq.categories, stq.void_rule)
        for video in sorted(vpq.videos)[3:6]:
            v.add_state(video, vpq.videos[video])
            s.add_state(video, stq.videos[video])
        three[name] = (v, s)
    reps, seed = 150, 7
    got = compare_accumulators([("a", *three["a"]), ("b", *three["b"])], reps=reps, seed=seed)

    videos = sorted(three["a"][0].videos)
    rng = np.random.Generator(np.random.PCG64(seed))
    deltas: dict[str, list[float]] = {key: [] for key in KEYS}
    for _ in range(reps):
        drawn = [videos[i] for i in rng.integers(0, 3, size=3)]
        scores = []
        for vpq, stq in (three["a"], three["b"]):
            v, s = VPQAccumulator(vpq.categories), STQAccumulator(stq.categories, stq.void_rule)
            for j, video in enumerate(drawn):
                v.add_state(f"{video}#{j}", vpq.videos[video])
                s.add_state(f"{video}#{j}", stq.videos[video])
            scores.append(headline({"vpq": v.result_spans(), "stq": s.result()}))
        for key in KEYS:
            deltas[key].append(scores[1][key] - scores[0][key])
    rows = got["pairs"][0]["metrics"]
    moved = 0
    for key in KEYS:
        low, high = _linear_percentile(deltas[key], 2.5), _linear_percentile(deltas[key], 97.5)
        assert rows[key]["interval"] == pytest.approx([low, high], abs=1e-12), key
        moved += low != high
    assert moved >= 5  # the replicates differ: the check has teeth


def test_replicates_in_blocks_are_one_stream(accumulators, monkeypatch):
    named = [("a", *accumulators["a"]), ("b", *accumulators["b"])]
    whole = compare_accumulators(named, reps=50, seed=1)
    monkeypatch.setattr(stats, "_CHUNK", 7)
    assert compare_accumulators(named, reps=50, seed=1) == whole
    weights = np.concatenate(list(stats.replicate_weights(14, 50, 1)))
    assert weights.shape == (50, 14) and (weights.sum(axis=1) == 14).all()
    assert compare_accumulators(named, reps=50, seed=2) != whole


def test_percentile_interval_by_hand():
    assert percentile_interval(np.arange(41) / 40) == pytest.approx((0.025, 0.975))
    assert percentile_interval([3.0, 1.0, 2.0]) == pytest.approx((1.05, 2.95))
    assert percentile_interval([0.5]) == (0.5, 0.5)


def test_predictions_scored_on_other_videos_are_refused(data, accumulators):
    vpq, stq = evaluate_videos(data["b"], root=data["root"], jobs=1, progress=False, videos=range(1, 6))
    with pytest.raises(VpsError, match="other videos than a"):
        compare_accumulators([("a", *accumulators["a"]), ("b", vpq, stq)])
    with pytest.raises(VpsError, match="two or more"):
        compare_accumulators([("a", *accumulators["a"])])
    with pytest.raises(VpsError, match="more than once: a"):
        compare_accumulators([("a", *accumulators["a"]), ("a", *accumulators["b"])])
    for reps in (0, -3, 2.5, True):
        with pytest.raises(VpsError, match="--reps"):
            compare_accumulators([("a", *accumulators["a"]), ("b", *accumulators["b"])], reps=reps)
    miss = STQAccumulator(stq.categories, "miss")
    miss.videos = dict(accumulators["b"][1].videos)
    with pytest.raises(VpsError, match="void rule"):
        compare_accumulators([("a", *accumulators["a"]), ("b", accumulators["b"][0], miss)])


# --------------------------------------------------------------------------- the command line


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # a usage error found by the parser
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_prints_the_table_and_writes_the_same_bytes_whatever_jobs(data, tmp_path, capsys):
    one, two = tmp_path / "one.json", tmp_path / "two" / "compare.json"
    (tmp_path / "two").mkdir()
    code, out, err = _run(capsys, "compare", data["a"], data["b"], "--root", data["root"], "--names", "noisy,better",
                          "--out", one, "--jobs", "1", "--reps", "400", "--no-progress")
    assert code == 0, err
    assert one.is_file() and f"comparison written to {one}" in out
    lines = out.splitlines()
    assert lines[0].startswith("A = noisy (the baseline), B = better: ")
    row = {line[:12].strip(): line for line in lines[2:12]}
    assert list(row) == [label for _, label in METRICS]
    assert row["VPQ"].endswith("*") and row["AQ"].endswith("*") and row["STQ"].endswith("*")
    assert not row["IoU"].endswith("*") and not row["VPQ k=0"].endswith("*")
    res = json.loads(one.read_text())
    vpq = res["pairs"][0]["metrics"]["vpq"]
    assert f"{100 * vpq['delta']:+.2f}" in row["VPQ"] and f"{100 * vpq['interval'][0]:+.2f}" in row["VPQ"]
    assert "Categories that differ most" in out and "Videos that differ most" in out
    # the same comparison on two processes, into a folder: the same bytes
    code, _, err = _run(capsys, "compare", data["a"], data["b"], "--root", data["root"], "--names", "noisy,better",
                        "--out", tmp_path / "two", "--jobs", "2", "--reps", "400", "--no-progress")
    assert code == 0, err
    assert two.read_bytes() == one.read_bytes()
    assert res == json.loads(json.dumps(vpskit.compare([data["a"], data["b"]], root=data["root"],
                                                        names=["noisy", "better"], reps=400, jobs=1)))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["compare.json", "one.json", "two"]


def _one_line(err: str, *words: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def test_cli_bad_inputs_are_one_line(data, tmp_path, capsys):
    a, b, root = data["a"], data["b"], data["root"]
    out = tmp_path / "c.json"
    cases = [
        (["compare", a, "--root", root, "--out", out], ("PRED", "two or more predictions, got 1")),
        (["compare", a, b, "--root", root, "--out", out, "--reps", "0"], ("--reps", "at least 1")),
        (["compare", a, b, "--root", root, "--out", out, "--names", "x"], ("--names", "1 names for 2 predictions")),
        (["compare", a, b, "--root", root, "--out", out, "--names", "x,x"], ("--names", "more than once: x")),
        (["compare", a, b, "--root", root, "--out", out, "--names", "x,"], ("--names",)),
        (["compare", a, tmp_path / "nothing", "--root", root, "--out", out], ("nothing",)),
        (["compare", a, b, "--root", root, "--split", "test", "--out", out], ("--split",)),
        (["compare", a, b, "--out", out], ("--root",)),
    ]
    for argv, words in cases:
        code, _, err = _run(capsys, *argv, "--jobs", "1", "--no-progress")
        assert code == 2, (argv, err)
        assert _one_line(err, *words).startswith(("vpskit: error:", "vpskit compare: error:"))
    assert not out.exists()


def test_cli_never_overwrites_a_file_it_did_not_write(data, tmp_path, capsys):
    out = tmp_path / "results.json"
    out.write_text('{"not": "a comparison"}\n')
    argv = ["compare", data["a"], data["b"], "--root", data["root"], "--out", out, "--reps", "20", "--jobs", "1"]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "--replace" in _one_line(err, str(out), "not a comparison")
    assert out.read_text() == '{"not": "a comparison"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    assert _run(capsys, *argv, "--replace")[0] == 0
    first = json.loads(out.read_text())
    assert first["comparison"]["reps"] == 20
    # its own output is replaced without a word
    code, _, err = _run(capsys, *argv[:-4], "--reps", "30", "--jobs", "1")
    assert code == 0, err
    assert json.loads(out.read_text())["comparison"]["reps"] == 30
