"""`vpskit eval`: score a video panoptic prediction with VPQ and STQ."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import DEFAULT_VOID_RULE, VOID_RULES
from .options import add_benchmark, add_jobs_and_progress, add_vipseg_conventions, warnings_printed


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``eval`` parser."""
    p = sub.add_parser(
        "eval",
        help="score a prediction with VPQ and STQ",
        description="Score a video panoptic prediction against the ground truth of a prepared "
        "split: VPQ for windows of k = 0, 5, 10, 15 frames and the final VPQ, and STQ (AQ, IoU). "
        "PRED is a folder with pred.json and pan_pred/, a zip of such a folder, or a test-server "
        "submission.zip (pred.json + pan_pred.zip). Writes vpq-{0,5,10,15}.txt, vpq-final.txt and "
        "results.json (the scores, plus what was evaluated: vpskit version, split, videos, frames, "
        "ground truth, prediction, and each metric's conventions) into --out, all or nothing. "
        "A folder holding the reports of a different evaluation (another split, video subset, "
        "ground truth, prediction, metrics or STQ void rule) is refused with a hint: give another "
        "--out, or --replace. Running the same evaluation again replaces its reports. "
        "VIPSeg (--root the prepared VIPSeg_720P folder, found from its panomasksRGB/): PRED holds pred.json "
        "({'annotations': [{'video_id', 'annotations': [{'segments_info'}, ...]}]}, frames in the ground "
        "truth's order) and pan_pred/{video}/{frame}.png, as DVIS and the VIPSeg scripts write them; VPQ over "
        "the windows of eval_vpq_vspw.py (vpq-{0,5,15,25,35}.txt) and STQ as eval_stq_vspw.py. "
        "A VPQ window longer than every video scored holds no tube: its VPQ is 0 and still counts in the "
        "final mean, and a warning line on stderr says so.",
    )
    p.add_argument("pred", metavar="PRED", help="prediction folder, zip or submission.zip")
    p.add_argument("--root", help="prepared cityscapes_vps folder, or a zip of it (ground truth of --split); "
                   "for VIPSeg the prepared VIPSeg_720P folder")
    p.add_argument("--split", default="val", help="split to evaluate against (default: val)")
    p.add_argument("--gt-json", help="ground-truth JSON (instead of --root), with --gt-dir")
    p.add_argument("--gt-dir", help="folder of the ground-truth panoptic PNGs, with --gt-json")
    p.add_argument("--out", help="folder for the reports (default: PRED itself for a folder; for "
                   "X.zip, the folder X-reports beside it)")
    p.add_argument("--replace", action="store_true",
                   help="replace reports of a different evaluation found in --out")
    p.add_argument("--metrics", default=None,
                   help="comma-separated: vpq, stq (default: both; kitti-step: VPQ over windows of 1-4 "
                   "consecutive frames, as the STEP paper, and STQ)")
    add_benchmark(p, "--root", "--root is the KITTI-STEP folder (panoptic_maps/{split}/{seq:04d}/{frame:06d}.png) "
                  "or a zip of it, and PRED a folder or zip of the same PNGs, PRED/{seq:04d}/{frame:06d}.png "
                  "(R = category, G*256 + B = instance); VPQ over windows of 1-4 frames as the STEP paper, "
                  "STQ as deeplab2's numpy STQ (person and car tracked, 255 void)")
    p.add_argument("--videos", type=video_list, metavar="LIST",
                   help="score only these videos: comma-separated numbers and ranges, e.g. 1-20,35 "
                   "(default: all; only their frames then need a prediction)")
    p.add_argument("--stq-void", choices=VOID_RULES, default=DEFAULT_VOID_RULE,
                   help="how STQ counts a labelled pixel predicted void: 'class' (default, as "
                   "deeplab2 and every published STQ: void becomes one more class of the IoU mean, "
                   "with IoU 0) or 'miss' (only a miss of its ground-truth category)")
    add_vipseg_conventions(p)
    p.add_argument("--per-class", action="store_true",
                   help="also print per category: VPQ (its mean over k and its PQ at each k) and "
                   "STQ's IoU")
    p.add_argument("--per-video", action="store_true",
                   help="also print per video: VPQ (final, Things, Stuff, PQ at each k) and STQ, AQ, IoU")
    add_jobs_and_progress(p, "worker processes (default: all cores; one for a small split)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the reports and print the table."""
    from ..evaluation import evaluate
    from ..evaluation.report import format_per_class, format_per_video, format_table

    with warnings_printed():
        results = evaluate(args.pred, root=args.root, split=args.split, gt_json=args.gt_json,
                           gt_dir=args.gt_dir, out=default_out(args.pred, args.out), metrics=args.metrics,
                           jobs=args.jobs, progress=args.progress, videos=args.videos,
                           stq_void=args.stq_void, replace=args.replace, benchmark=args.benchmark,
                           vpq_windows=args.vpq_windows, stq_gt_instances=args.stq_gt_instances)
    print(format_table(results))
    if args.per_class:
        print()
        print(format_per_class(results))
    if args.per_video:
        print()
        print(format_per_video(results))
    print(f"\nreports written to {default_out(args.pred, args.out)}")
    return 0


def default_out(pred: str, out: str | None) -> Path:
    """Where the reports go: ``out``, else PRED itself (a folder) or ``X-reports`` beside ``X.zip``."""
    if out:
        return Path(out)
    path = Path(pred)
    if path.is_dir():
        return path
    stem = path.name[:-4] if path.name.lower().endswith(".zip") else path.name
    return path.with_name(stem + "-reports")


def video_list(text: str) -> list[int | range]:
    """Video numbers and ranges from ``"1-20,35"`` (a range is kept as a ``range``, never expanded)."""
    out: list[int | range] = []
    for part in text.split(","):
        part = part.strip()
        first, sep, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if sep else lo
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a video number or a range like 1-20") from None
        if lo < 1 or hi < lo:
            raise argparse.ArgumentTypeError(f"{part!r} is not a video number or a range like 1-20")
        out.append(range(lo, hi + 1) if sep else lo)
    return out
