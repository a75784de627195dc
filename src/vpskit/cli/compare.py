"""`vpskit compare`: is B better than A? Scores side by side with bootstrap intervals."""

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

DESCRIPTION = """\
Score two or more predictions on the same ground truth and compare each with the first (the
baseline, A): VPQ (final, Things, Stuff, and at each k), STQ, AQ and IoU of A and B, the
difference B - A, and its 95 % interval from a paired bootstrap over videos. A replicate draws
as many videos as the split has, with replacement, and scores A and B on the same draw; the
interval holds the middle 95 % of the replicates' differences, and '*' marks an interval
that excludes 0: a difference the choice of videos alone hardly explains. The video is the
unit (its frames are not independent), so with 50 val videos the intervals are wide; they say
nothing about other cities or cameras.

Then the categories and videos whose scores differ most. Everything is also written to
--out (default ./compare.json): what was evaluated (as eval's results.json), each
prediction's scores, and per pair the intervals, per-category deltas (PQ at each k and
averaged over k; STQ's IoU) and per-video deltas (VPQ, STQ). The same command gives the
same bytes whatever --jobs (the draws come from --seed). A file at --out that is not a
comparison vpskit wrote is refused unless --replace.

KITTI-STEP and VIPSeg (--benchmark, or found from --root) are scored as 'vpskit eval' scores
them by default: VPQ over their own windows (KITTI-STEP k = 0-3: 1-4 frames; VIPSeg k = 0, 5,
15, 25, 35: 1, 2, 4, 6, 8 frames) and their STQ; the video unit is a sequence (KITTI-STEP,
by number) or a video (VIPSeg, by name)."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` parser."""
    p = sub.add_parser("compare", help="compare predictions: deltas with bootstrap intervals",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("preds", nargs="+", metavar="PRED",
                   help="two or more predictions (folder, zip or submission.zip); the first is the baseline A")
    p.add_argument("--root", help="the ground truth of --split: a prepared cityscapes_vps folder or zip, a "
                   "KITTI-STEP folder (panoptic_maps/) or zip, or a prepared VIPSeg_720P folder")
    p.add_argument("--split", default="val", help="split to evaluate against (default: val)")
    p.add_argument("--gt-json", help="ground-truth JSON (instead of --root), with --gt-dir")
    p.add_argument("--gt-dir", help="folder of the ground-truth panoptic PNGs, with --gt-json")
    p.add_argument("--names", type=name_list, metavar="A,B,...",
                   help="a name per prediction, comma-separated (default: their file or folder names, "
                   "or A, B, ... where these repeat)")
    add_benchmark(p, "--root", "PRED is a folder or zip of {seq:04d}/{frame:06d}.png (R = category, G*256 + B = "
                  "instance); vipseg (a folder holding panomasksRGB/): PRED holds pred.json and pan_pred/")
    add_vipseg_conventions(p)
    add_bootstrap(p)
    p.add_argument("--out", default="compare.json", metavar="FILE",
                   help="where to write the comparison as JSON (default: compare.json in the current "
                   "folder; a folder: FILE/compare.json)")
    p.add_argument("--replace", action="store_true",
                   help="overwrite --out even if it is not a comparison vpskit wrote")
    add_videos_and_stq_void(p, "compare on these videos only")
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="how many categories and videos to list whose scores differ most (default: 5)")
    add_jobs_and_progress(p, "worker processes per evaluation (default: all cores; one for a small split)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate every prediction, compare, write the JSON and print the tables."""
    from ..comparison import compare, compare_path, format_comparison

    with warnings_printed():
        result = compare(args.preds, root=args.root, split=args.split, gt_json=args.gt_json, gt_dir=args.gt_dir,
                         names=args.names, reps=args.reps, seed=args.seed, jobs=args.jobs, progress=args.progress,
                         videos=args.videos, stq_void=args.stq_void, out=args.out, replace=args.replace,
                         benchmark=args.benchmark, vpq_windows=args.vpq_windows,
                         stq_gt_instances=args.stq_gt_instances)
    print(format_comparison(result, top=max(args.top, 0)))
    print(f"\ncomparison written to {compare_path(args.out)}")
    return 0
