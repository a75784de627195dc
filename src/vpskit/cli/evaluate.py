"""`vpskit eval`: score a video panoptic prediction with VPQ and STQ."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_jobs_and_progress


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``eval`` parser."""
    p = sub.add_parser(
        "eval",
        help="score a prediction with VPQ and STQ",
        description="Score a video panoptic prediction against the ground truth of a prepared "
        "split: VPQ for windows of k = 0, 5, 10, 15 frames and the final VPQ, and STQ (AQ, SQ). "
        "PRED is a folder with pred.json and pan_pred/, a zip of such a folder, or a test-server "
        "submission.zip (pred.json + pan_pred.zip). Writes vpq-{0,5,10,15}.txt, vpq-final.txt and "
        "results.json.",
    )
    p.add_argument("pred", metavar="PRED", help="prediction folder, zip or submission.zip")
    p.add_argument("--root", help="prepared cityscapes_vps folder, or a zip of it (ground truth of --split)")
    p.add_argument("--split", default="val", help="split to evaluate against (default: val)")
    p.add_argument("--gt-json", help="ground-truth JSON (instead of --root), with --gt-dir")
    p.add_argument("--gt-dir", help="folder of the ground-truth panoptic PNGs, with --gt-json")
    p.add_argument("--out", help="folder for the reports (default: PRED's folder)")
    p.add_argument("--metrics", default="vpq,stq", help="comma-separated: vpq, stq (default: both)")
    p.add_argument("--videos", type=video_list, metavar="LIST",
                   help="score only these videos: comma-separated numbers and ranges, e.g. 1-20,35 "
                   "(default: all; only their frames then need a prediction)")
    p.add_argument("--per-class", action="store_true",
                   help="also print VPQ per category (its mean over k and its PQ at each k)")
    add_jobs_and_progress(p, "worker processes (default: all cores; one for a small split)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the reports and print the table."""
    from ..evaluation import evaluate
    from ..evaluation.report import format_per_class, format_table

    pred = Path(args.pred)
    out = Path(args.out) if args.out else (pred if pred.is_dir() else pred.parent)
    results = evaluate(args.pred, root=args.root, split=args.split, gt_json=args.gt_json,
                       gt_dir=args.gt_dir, out=out, metrics=args.metrics, jobs=args.jobs,
                       progress=args.progress, videos=args.videos)
    print(format_table(results))
    if args.per_class and "vpq" in results:
        print()
        print(format_per_class(results))
    print(f"\nreports written to {out}")
    return 0


def video_list(text: str) -> list[int]:
    """Video numbers from ``"1-20,35"`` (sorted, without repeats)."""
    out: set[int] = set()
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
        out.update(range(lo, hi + 1))
    return sorted(out)
