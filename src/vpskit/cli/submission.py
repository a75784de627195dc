"""`vpskit submission`: check a prediction and pack it for the test server."""

from __future__ import annotations

import argparse

from .options import add_jobs_and_progress


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``submission`` parser."""
    p = sub.add_parser(
        "submission",
        help="check a prediction and pack it as the test server's submission.zip",
        description="Check a prediction against the frames of a split (by default test, whose labels "
        "are not public) and write submission.zip: pred.json plus pan_pred.zip with one RGB PNG "
        "{image_id}.png per annotated frame. Checked without labels: a prediction for every frame "
        "listed in panoptic_im_SPLIT_city_vps.json, the image size, PNG ids against segments_info, "
        "known categories. PRED is a folder with pred.json and pan_pred/, a zip of such a folder, or "
        "a submission.zip. The same prediction always gives the same bytes.",
    )
    p.add_argument("pred", metavar="PRED", help="prediction folder, zip or submission.zip")
    p.add_argument("--root", required=True,
                   help="Cityscapes-VPS folder holding panoptic_im_SPLIT_city_vps.json (prepared or the release)")
    p.add_argument("--split", default="test", help="split the prediction is for (default: test)")
    p.add_argument("--out", help="the zip to write (default: PRED/submission.zip when PRED is a "
                   "folder, submission.zip in the zip's folder when PRED is a zip)")
    add_jobs_and_progress(p, "worker processes for the checks (default: all cores)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check, pack, and print what was written."""
    from ..submission import make_submission
    from ..text import plural

    s = make_submission(args.pred, args.root, split=args.split, out=args.out, jobs=args.jobs,
                        progress=args.progress)
    converted = f"; {s.converted} PNGs rewritten as 8-bit RGB" if s.converted else ""
    print(f"{s.path}: {plural(s.frames, 'frame')} of {plural(s.videos, 'video')}, "
          f"{plural(s.segments, 'segment')}{converted}")
    return 0
