"""Benchmark of `vpskit eval --benchmark vipseg` against the official VIPSeg scripts
(``eval_vpq_vspw.py`` + ``eval_stq_vspw.py``) on the same synthetic 720p data.

Builds, once per ``--work`` folder, a synthetic VIPSeg download of the largest ``--videos`` count
(``vpskit synth --benchmark vipseg``: every video in val, ``--frames`` frames each, 720p once
prepared: 1280x720, 1026x720, 977x720 and 995x720 in turn), prepares it (``vpskit prepare
--benchmark vipseg``) and writes the 'noisy' prediction of it in the format both tools read
(``pan_pred/{video}/{frame}.png`` + ``pred.json``). Then, for each ``--videos`` count N (the first
N videos, given to both tools as a ground-truth JSON of those videos,
``VIPSeg_720P/panoptic_gt_VIPSeg_valN.json``), ``--repeat`` rounds
interleaved so that a change of load on the machine hits both alike, the best of each kept:

- vpskit: ``vpskit eval PRED --root VIPSeg_720P --split valN --benchmark vipseg --jobs 2`` (VPQ
  over the official windows and STQ, in one pass) in a fresh interpreter;
- with ``--reference DIR`` (a VIPSeg-Dataset checkout: ``DIR/ClipPanoFCN/eval_vpq_vspw.py``, or a
  folder holding the three scripts, ``segmentation_and_tracking_quality.py`` included) and
  ``--reference-python PATH`` (a Python with their dependencies: numpy < 2, Pillow, tqdm), the
  official scripts, unchanged, imported and run one after the other in a fresh interpreter of that
  Python: ``eval_vpq_vspw.py --num_processes 2`` (a pool of 2 processes, which it hands videos 5 at a
  time: below 6 videos only one works), then
  ``eval_stq_vspw.py`` (it has no process count: one process).

Prints, per N: seconds of each tool (the official ones split into VPQ and STQ), the ratio, the
peak RSS of the largest process of each (the evaluating process or one of its workers), and both
tools' final VPQ and STQ, which must agree. Without ``--reference`` it prints vpskit's figures only.

Usage::

    uv run python benchmarks/vipseg.py [--videos 4,12,50] [--frames 24] [--repeat 3] [--work DIR]
        [--reference DIR --reference-python PATH [--reference-videos 12] [--reference-repeat 1]]

(``--work`` keeps the data for the next run.) A throwaway environment for the official scripts::

    uv venv /tmp/vipseg-py --python 3.11 && uv pip install -p /tmp/vipseg-py "numpy<2" pillow tqdm
    git clone https://github.com/VIPSeg-Dataset/VIPSeg-Dataset /tmp/VIPSeg-Dataset
    uv run python benchmarks/vipseg.py --reference /tmp/VIPSeg-Dataset --reference-python /tmp/vipseg-py/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from common import PEAK, run_fresh, work_folder

SPLIT = "val"
JOBS = 2
SCRIPTS = ("eval_vpq_vspw.py", "eval_stq_vspw.py", "segmentation_and_tracking_quality.py")

_VPSKIT = PEAK + r"""
from vpskit.cli import main
pred, root, split, out, jobs = sys.argv[1:6]
t0 = time.perf_counter()
code = main(["eval", pred, "--root", root, "--split", split, "--benchmark", "vipseg", "--jobs", jobs,
             "--out", out, "--replace", "--no-progress"])
seconds = time.perf_counter() - t0
assert code == 0, code
res = json.loads((Path(out) / "results.json").read_text())
done(seconds, vpq=res["vpq"]["final"]["all"]["pq"], stq=res["stq"]["stq"])
"""

_OFFICIAL = PEAK + r"""
import contextlib, io
scripts, pred, gt_json, gt_dir, jobs = sys.argv[1:6]
sys.path.insert(0, scripts)
import eval_vpq_vspw as vpq
import eval_stq_vspw as stq
import segmentation_and_tracking_quality as numpy_stq
found = {}
result = numpy_stq.STQuality.result
def keep(self):
    found["stq"] = result(self)
    return found["stq"]
numpy_stq.STQuality.result = keep  # only to read the STQ it prints; the computation is untouched
common = ["--submit_dir", pred, "--truth_dir", gt_dir, "--pan_gt_json_file", gt_json]
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    t0 = time.perf_counter()
    sys.argv = ["eval_vpq_vspw.py", *common, "--num_processes", jobs]
    vpq.main()
    t1 = time.perf_counter()
    sys.argv = ["eval_stq_vspw.py", *common]
    stq.main()
    t2 = time.perf_counter()
final = dict(line.split(":") for line in (Path(pred) / "vpq-final.txt").read_text().split())
done(t2 - t0, vpq_seconds=t1 - t0, stq_seconds=t2 - t1, vpq=float(final["vpq_all"]) / 100,
     stq=float(found["stq"]["STQ"]))
"""


def _scripts(reference: Path) -> Path:
    """The folder of the official scripts in ``reference`` (a checkout or the folder itself)."""
    for folder in (reference / "ClipPanoFCN", reference):
        if all((folder / s).is_file() for s in SCRIPTS):
            return folder
    raise SystemExit(f"{reference}: no {', '.join(SCRIPTS)} (in ClipPanoFCN/ or at its top)")


def build(work: Path, videos: int, frames: int) -> tuple[Path, Path, dict]:
    """(prepared folder, prediction folder, its val GT JSON) of ``videos`` videos of ``frames``
    frames, made once per ``work`` (remade when the counts differ)."""
    from vpskit.preparation.vipseg_run import prepare_vipseg
    from vpskit.synth.vipseg import synthesize_vipseg, write_predictions

    root, pred, marker = work / "VIPSeg_720P", work / "pred", work / "vipseg-bench.json"
    want = {"videos": videos, "frames": frames}
    if not marker.is_file() or json.loads(marker.read_text()) != want:
        for folder in (root, pred):  # prepare would keep the videos of an earlier build
            shutil.rmtree(folder, ignore_errors=True)
        synthesize_vipseg(work / "VIPSeg", videos=videos, frames=frames, test_videos=0, val=videos, seed=0)
        prepare_vipseg(work / "VIPSeg", root, jobs=JOBS, progress=False)
        write_predictions(root, SPLIT, pred, "noisy")
        marker.write_text(json.dumps(want))
    return root, pred, json.loads((root / f"panoptic_gt_VIPSeg_{SPLIT}.json").read_text())


def subset_split(root: Path, doc: dict, n: int) -> str:
    """The name of a split of the first ``n`` videos of ``doc``, whose GT JSON
    (``panoptic_gt_VIPSeg_{name}.json``) is written into ``root``."""
    from vpskit.preparation.vipseg import split_document

    name = f"{SPLIT}{n}"
    path = root / f"panoptic_gt_VIPSeg_{name}.json"
    path.write_text(json.dumps(split_document(doc, [v["video_id"] for v in doc["videos"][:n]])))
    return name


def _fmt(r: dict | None, key: str = "seconds") -> str:
    return f"{r[key]:8.2f}" if r is not None else f"{'-':>8}"


def main() -> None:
    """Build the data, run both tools interleaved, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default="4,12,50", help="comma-separated video counts (default 4,12,50)")
    ap.add_argument("--frames", type=int, default=24, help="frames per video (default 24)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds (the best of each is kept)")
    ap.add_argument("--reference", type=Path, help="a VIPSeg-Dataset checkout (or a folder of its eval scripts)")
    ap.add_argument("--reference-python", help="a Python with the official scripts' dependencies")
    ap.add_argument("--reference-videos", type=int, help="run the official scripts only on video counts up to "
                    "this (default: all; they take about 2 s per frame)")
    ap.add_argument("--reference-repeat", type=int, help="rounds of the official scripts (default: --repeat), "
                    "the first ones of the interleaved rounds")
    args = ap.parse_args()
    if (args.reference is None) != (args.reference_python is None):
        raise SystemExit("give --reference and --reference-python together")
    scripts = _scripts(args.reference) if args.reference is not None else None
    counts = sorted(int(v) for v in args.videos.split(","))
    with work_folder(args.work) as work:
        t0 = time.perf_counter()
        root, pred, doc = build(work, counts[-1], args.frames)
        gt_dir = root / "panomasksRGB"
        subsets = {n: subset_split(root, doc, n) for n in counts}
        print(f"data: {counts[-1]} videos of {args.frames} frames at 720p ({work}, {time.perf_counter() - t0:.0f} s); "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs: dict[tuple[int, str], list[dict]] = {}
        rounds = max(1, args.repeat)
        ref_rounds = rounds if args.reference_repeat is None else max(1, args.reference_repeat)
        ref_upto = counts[-1] if args.reference_videos is None else args.reference_videos
        for r in range(max(rounds, ref_rounds)):
            for n in counts:
                if r < rounds:
                    runs.setdefault((n, "vpskit"), []).append(
                        run_fresh(sys.executable, _VPSKIT, pred, root, subsets[n], work / f"out-{n}", JOBS))
                if scripts is not None and r < ref_rounds and n <= ref_upto:
                    runs.setdefault((n, "official"), []).append(
                        run_fresh(args.reference_python, _OFFICIAL, scripts, pred,
                                  root / f"panoptic_gt_VIPSeg_{subsets[n]}.json", gt_dir, JOBS))
        print(f"best of {rounds} interleaved rounds (official scripts: {ref_rounds}), {JOBS} processes each; "
              "load average at end "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        head = (f"{'videos':>6} {'frames':>6}  {'vpskit s':>8} {'official':>8} {'(VPQ':>8} {'+ STQ)':>8} "
                f"{'ratio':>7}  {'RSS MB vpskit':>13} {'official':>8}  VPQ / STQ (vpskit; official)")
        print(head)
        print("-" * len(head))
        for n in counts:
            ours = min(runs[(n, "vpskit")], key=lambda r: r["seconds"])
            theirs = min(runs[(n, "official")], key=lambda r: r["seconds"]) if (n, "official") in runs else None
            ratio = f"{theirs['seconds'] / ours['seconds']:6.1f}x" if theirs else f"{'-':>7}"
            scores = f"{100 * ours['vpq']:.4f} / {100 * ours['stq']:.4f}"
            if theirs:
                scores += f"; {100 * theirs['vpq']:.4f} / {100 * theirs['stq']:.4f}"
            rss = f"{theirs['rss_kb'] / 1024:8.0f}" if theirs else f"{'-':>8}"
            frames = sum(len(v["images"]) for v in doc["videos"][:n])
            print(f"{n:>6} {frames:>6}  {_fmt(ours)} {_fmt(theirs)} {_fmt(theirs, 'vpq_seconds')} "
                  f"{_fmt(theirs, 'stq_seconds')} {ratio}  {ours['rss_kb'] / 1024:>13.0f} {rss}  {scores}")


if __name__ == "__main__":
    main()
