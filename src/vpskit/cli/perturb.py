"""`vpskit perturb`: a prediction made from the ground truth with chosen, counted errors."""

from __future__ import annotations

import argparse

from .options import add_jobs_and_progress

DESCRIPTION = """\
Write a prediction of a prepared split made from its ground truth with chosen errors, each
counted: OUT/pred.json and OUT/pan_pred/{image_id}.png (what 'vpskit eval' reads), and
OUT/perturb.json with the settings and the counts. With no error option the prediction is
the ground truth (VPQ = STQ = 1). Each kind of error alone shows what it costs:

  --drop P            each thing track is missed (its pixels become void)
  --switch P          each thing track takes a new id from one of its later frames on
  --confuse P         each thing track and stuff segment gets another category of the
                      same kind (thing for thing, stuff for stuff)
  --erode PX          every segment loses the pixels within PX pixels of another segment
                      or of void (they become void), but keeps more than half its area:
                      SQ falls, RQ does not
  --false-positive P  each thing track gets a spurious twin of its category, its shape
                      moved sideways by its width, on the stuff beside it

Choices are drawn per video from --seed: the same command gives the same bytes whatever
--jobs, and raising a probability only adds errors. OUT must be absent, empty, or an earlier
perturb output (replaced; pred.json is written last)."""


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is from 0 to 1, got {text}")
    return p


def _pixels(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of pixels: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``perturb`` parser."""
    p = sub.add_parser("perturb", help="a prediction made from the ground truth with chosen, counted errors",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", metavar="ROOT", help="prepared cityscapes_vps folder, or a zip of it")
    p.add_argument("out", metavar="OUT", help="folder for pred.json, pan_pred/ and perturb.json")
    p.add_argument("--split", default="val", help="split whose ground truth is perturbed (default: val)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--drop", type=_probability, default=0.0, metavar="P",
                   help="probability that a thing track is missed")
    p.add_argument("--switch", type=_probability, default=0.0, metavar="P",
                   help="probability that a thing track switches identity")
    p.add_argument("--confuse", type=_probability, default=0.0, metavar="P",
                   help="probability that a track or stuff segment changes category")
    p.add_argument("--erode", type=_pixels, default=0, metavar="PX",
                   help="pixels every segment is eroded by")
    p.add_argument("--false-positive", type=_probability, default=0.0, metavar="P",
                   help="probability that a thing track gets a spurious twin")
    add_jobs_and_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Perturb and print what was made."""
    from ..perturbation import format_summary, perturb

    record = perturb(args.root, args.out, split=args.split, seed=args.seed, drop=args.drop, switch=args.switch,
                     confuse=args.confuse, erode=args.erode, false_positive=args.false_positive,
                     jobs=args.jobs, progress=args.progress)
    print(format_summary(record, args.out))
    return 0
