"""Benchmark of `vpskit report` against `vpskit eval` on full-resolution synthetic data.

Builds the prepared split of ``benchmarks/eval.py`` (``vpskit synth`` + ``vpskit prepare`` at
2048x1024, its train split, at least ``--videos`` videos) and its noisy-model prediction, then
runs, in fresh processes and interleaved (``--repeat`` times, the best of each kept):

- ``vpskit eval PRED --root ROOT --split train`` (the reports into a scratch folder);
- ``vpskit report PRED --root ROOT --split train --out report.html`` (the page with its
  ``--worst`` thumbnails);

and prints both wall times (the whole command, start-up included) and their ratio; the goal is a
report costing at most 2x one eval. Both take ``--jobs`` (default: all cores). Python's bytecode
is cached (in the working folder, after an untimed first run of each command), as it is for an
installed package, even where ``PYTHONDONTWRITEBYTECODE`` is set: otherwise the report would
pay for compiling matplotlib on every run.

Usage: ``uv run python benchmarks/report.py [--videos 50] [--work DIR] [--repeat 3] [--jobs N]``
(``--work`` keeps the data for the next run.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import prepared_split, work_folder

from vpskit import naming

SPLIT = "train"
"""The split of the benchmark data (benchmarks/eval.py's: every synthetic video in it)."""

GOAL = 2.0
"""The most a report may cost, in evals of the same prediction."""


def _timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall time (s) of ``python -m vpskit ARGV`` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vpskit", *argv], capture_output=True, text=True, check=False,
                          env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"vpskit {' '.join(argv)} failed:\n{proc.stderr}")
    return seconds


def main() -> None:
    """Build the data, time eval and report, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=50,
                    help="videos evaluated (default 50, as the real val split; the data takes about 2 minutes to build once)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command (the best is kept)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes of both (default: all cores)")
    ap.add_argument("--worst", type=int, default=5, help="the report's thumbnailed videos (default 5)")
    args = ap.parse_args()
    with work_folder(args.work) as work:
        _run(work, args)


def _run(work: Path, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    root, split = prepared_split(work, args.videos, SPLIT), SPLIT
    gt_json, gt_dir = root / naming.panoptic_gt_json(split), root / split / "panoptic_video"
    pred = work / "pred-synth"
    if not (pred / "pred.json").is_file():
        from vpskit.perturbation import write_noisy_prediction

        write_noisy_prediction(gt_json, gt_dir, pred, seed=0)
    n_frames = len(json.loads(gt_json.read_text())["annotations"])
    print(f"data: {n_frames} frames ({n_frames // 6} videos of the {split} split) at 2048x1024, built in "
          f"{time.perf_counter() - t0:.1f} s ({work})")

    jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
    common = [str(pred), "--root", str(root), "--split", split, "--no-progress", *jobs]
    page = work / "report.html"
    # Modules are compiled once, as an installed package's are: the bytecode goes to a cache in
    # the working folder (never into the tree), and a first untimed run of each command fills it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    eval_argv = ["eval", *common, "--out", str(work / "eval-reports"), "--replace"]
    report_argv = ["report", *common, "--out", str(page), "--worst", str(args.worst)]
    _timed(eval_argv, env)
    _timed(report_argv, env)
    evals, reports = [], []
    for _ in range(max(1, args.repeat)):  # interleaved, so a change of load hits both alike
        evals.append(_timed(eval_argv, env))
        reports.append(_timed(report_argv, env))
    ev, rep = min(evals), min(reports)
    ratio = rep / ev
    print(f"vpskit eval:   {ev:.2f} s")
    print(f"vpskit report: {rep:.2f} s ({page.stat().st_size / 1e6:.1f} MB page, {args.worst} worst videos "
          "thumbnailed)")
    print(f"report / eval: {ratio:.2f} x (goal <= {GOAL:.0f} x: {'met' if ratio <= GOAL else 'NOT met'})")
    if args.repeat > 1:
        print("best of", args.repeat, "interleaved runs; all (s): eval", " ".join(f"{s:.2f}" for s in evals),
              "| report", " ".join(f"{s:.2f}" for s in reports))


if __name__ == "__main__":
    main()
