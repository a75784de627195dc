"""`vpskit report`: one self-contained HTML page on one or more predictions."""

from __future__ import annotations

import argparse

from .options import (
    add_benchmark,
    add_bootstrap,
    add_jobs_and_progress,
    add_videos_and_stq_void,
    add_vipseg_conventions,
    name_list,
    warnings_printed,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` parser."""
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML page on one or more predictions",
        description="Score each prediction once against the ground truth of a prepared split and "
        "write one HTML page that needs no network (charts and pictures inline, small inline CSS "
        "and script: readable offline, attachable to an email): the VPQ and STQ numbers with the "
        "run's metadata, as results.json has them; VPQ against the window span k; per category "
        "PQ/SQ/RQ with bars; per video VPQ, STQ, AQ, TP/FP/FN (click a header to sort); per "
        "category the tube TP/FP/FN at each k and the ground-truth tracks matched at k=0 but lost "
        "at k=15 (where tracking breaks); the worst videos as ground truth | prediction | error "
        "thumbnails. With two predictions or more, each is compared with the first: deltas per "
        "category and per video, and 95%% paired bootstrap intervals over videos of the "
        "differences of VPQ and STQ, marked where they exclude 0. The same inputs give the same "
        "bytes. Prints the path it wrote. KITTI-STEP and VIPSeg (--benchmark, or found from --root) "
        "are scored as 'vpskit eval' scores them by default, with their own VPQ windows (KITTI-STEP "
        "k = 0-3, VIPSeg k = 0, 5, 15, 25, 35), category names and colours; their thumbnails show 6 "
        "frames spread over each worst video, judged in the longest window.",
    )
    p.add_argument("preds", nargs="+", metavar="PRED",
                   help="prediction folder, zip or submission.zip (several: compared with the first)")
    p.add_argument("--root", help="the ground truth of --split: a prepared cityscapes_vps folder or zip, a "
                   "KITTI-STEP folder (panoptic_maps/, images/) or a prepared VIPSeg_720P folder; its frames "
                   "make the thumbnails")
    p.add_argument("--split", default="val", help="split to evaluate against (default: val)")
    p.add_argument("--gt-json", help="ground-truth JSON (instead of --root, with --gt-dir; no thumbnails)")
    p.add_argument("--gt-dir", help="folder of the ground-truth panoptic PNGs, with --gt-json")
    p.add_argument("--out", default="report.html", help="the page to write (default: report.html)")
    p.add_argument("--names", type=name_list, metavar="A,B,…",
                   help="comma-separated display names, one per PRED (default: their file names)")
    p.add_argument("--worst", type=int, default=5, metavar="N",
                   help="show the N videos with the lowest final VPQ as thumbnails (default 5; 0: none)")
    add_benchmark(p, "--root", "PRED is a folder or zip of {seq:04d}/{frame:06d}.png (R = category, G*256 + B = "
                  "instance); vipseg (a folder holding panomasksRGB/): PRED holds pred.json and pan_pred/")
    add_vipseg_conventions(p)
    add_videos_and_stq_void(p)
    add_bootstrap(p)
    add_jobs_and_progress(p, "worker processes (default: all cores; one for a small split)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the page and print its path."""
    from ..visualize.page import report

    with warnings_printed():
        path = report(args.preds, root=args.root, split=args.split, out=args.out, names=args.names,
                      gt_json=args.gt_json, gt_dir=args.gt_dir, jobs=args.jobs, progress=args.progress,
                      videos=args.videos, stq_void=args.stq_void, worst=args.worst, reps=args.reps,
                      seed=args.seed, benchmark=args.benchmark, vpq_windows=args.vpq_windows,
                      stq_gt_instances=args.stq_gt_instances)
    print(path)
    return 0
