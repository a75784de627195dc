"""`vpskit show`: the ground truth or a prediction of one video drawn on its frames."""

from __future__ import annotations

import argparse

from ..choices import CITYSCAPES_VPS_SPANS as SPANS

DESCRIPTION = """\
Draw one video of a prepared split on its RGB frames:

  vpskit show ROOT --split val --video 3 --out gt.png                 the ground truth
  vpskit show PRED --root ROOT --split val --video 3 --out pred.png   a prediction

The positional argument is a prediction exactly when --root is given. ROOT is a prepared
cityscapes_vps folder or a zip of it; PRED a folder with pred.json and pan_pred/, a zip of
one, or a submission.zip. What --out ends in decides what is drawn:

  .png   a contact sheet of the 6 annotated frames
  .gif   every frame of the 30-frame snippet ({split}/img_all, listed by
         im_all_info_{split}_city_vps.json; for a split without it, as train, the
         annotated frames only, and the command says so), the annotated ones drawn on,
         10 frames a second, looping
  .mp4   the same as an H.264 video; needs the ffmpeg of the package imageio-ffmpeg
         (pip install 'vpskit[video]')

Colours: stuff takes its Cityscapes category colour; each thing track of the ground truth
one colour for the whole video; a predicted track takes the colour of the GT track it is
matched to (VPQ's tube matching over all the annotated frames of the video), an unmatched
one a colour no GT segment has. Colours are blended half and half on the frame, and the
segments outlined in a darker shade of their colour.

--errors shows each annotated frame as ground truth | prediction | error map. Each pixel of
the map is one of: correct; wrong category; wrong track (the pixel's predicted segment is
matched to another GT segment, or to none, in the window); predicted void on a labelled
pixel; prediction on GT void; GT void predicted void (dark). Frame i (of T annotated
frames) is judged in the VPQ window of span K (--span, n = K/5 + 1 annotated frames) that
starts at min(i, T - n), or in all the frames when T < n; the caption names the window.
GT crowd pixels are correct where the predicted category is theirs. In a .gif or .mp4 with
--errors, the frames between annotated ones show the frame twice and an empty map.

The file is written whole or not at all, and the same command gives the same bytes."""


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a scale is above 0 and at most 1, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``show`` parser."""
    p = sub.add_parser("show", help="draw the ground truth or a prediction of a video on its frames",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", metavar="ROOT|PRED",
                   help="prepared cityscapes_vps folder or zip (ground truth); with --root, a prediction")
    p.add_argument("--root", help="prepared cityscapes_vps folder or zip: makes the positional a prediction")
    p.add_argument("--split", default="val", help="split of the video (default: val)")
    p.add_argument("--video", required=True, metavar="N", help="video number, e.g. 3 or 0003")
    p.add_argument("--out", required=True, metavar="FILE", help="picture to write: .png, .gif or .mp4")
    p.add_argument("--errors", action="store_true",
                   help="ground truth | prediction | error map per annotated frame (needs a prediction)")
    p.add_argument("--labels", action="store_true",
                   help="write 'car 3' (category and track number in the video; a matched prediction "
                   "shows its GT track's number) or the stuff name on each segment large enough")
    p.add_argument("--span", type=int, choices=SPANS, default=15, metavar="K",
                   help="window span in frames for --errors: 0, 5, 10 or 15 (default 15: windows of "
                   "4 annotated frames)")
    p.add_argument("--scale", type=_scale, default=1.0, metavar="S",
                   help="shrink the pictures by S (0 < S <= 1, default 1): ids by nearest neighbour, "
                   "frames by area, before drawing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draw and say where."""
    from ..visualize.showing import show

    pred, root = (args.path, args.root) if args.root is not None else (None, args.path)
    out = show(args.out, root=root, split=args.split, video=args.video, pred=pred, errors=args.errors,
               labels=args.labels, span=args.span, scale=args.scale)
    print(f"wrote {out}")
    return 0
