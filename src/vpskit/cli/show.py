"""`vpskit show`: the ground truth or a prediction of one video drawn on its frames."""

from __future__ import annotations

import argparse

from .options import add_benchmark

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

KITTI-STEP and VIPSeg (--benchmark, or found from ROOT: a folder holding panoptic_maps/ is
KITTI-STEP, one holding panomasksRGB/ VIPSeg) annotate every frame:

  vpskit show PRED --root kitti-step --video 2 --errors --out e.png   (PRED/{seq:04d}/{frame:06d}.png)
  vpskit show PRED --root VIPSeg_720P --video 127 --errors --out e.png (PRED/pred.json + pan_pred/)

--video is the sequence number (KITTI-STEP) or the video's name or the number it starts with
(VIPSeg); the frames are ROOT/images/{split}/{seq}/ (KITTI-STEP) or ROOT/images/{video}/
(VIPSeg). A .png shows 6 frames spread over the video, an animation every frame; --frames
chooses them. Category colours and names are the benchmark's (KITTI-STEP: the 19 Cityscapes
classes, of which person and car are tracked; VIPSeg: its 124 categories). --errors judges
a frame in the window of the benchmark's span K (KITTI-STEP 0-3: K + 1 frames; VIPSeg 0, 5,
15, 25, 35: 1, 2, 4, 6, 8 frames; default the longest the video holds) of the whole video
that starts at it, or the last one; a window longer than the video is refused (VPQ scores
none there). The colours of predicted tracks come from the matching over the whole video.

The file is written whole or not at all, and the same command gives the same bytes."""


def _frames(text: str) -> list[int]:
    """Frame positions from ``"0-5,9"`` (0-based)."""
    out: list[int] = []
    for part in text.split(","):
        first, sep, last = part.strip().partition("-")
        try:
            lo, hi = int(first), int(last) if sep else int(first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a frame position or a range like 0-5") from None
        if lo < 0 or hi < lo:
            raise argparse.ArgumentTypeError(f"{part!r} is not a frame position or a range like 0-5")
        out += range(lo, hi + 1)
    return out


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
                   help="prepared cityscapes_vps folder or zip, KITTI-STEP folder or zip, or VIPSeg_720P folder "
                   "(ground truth); with --root, a prediction")
    p.add_argument("--root", help="the ground truth's folder (or Cityscapes-VPS or KITTI-STEP zip): makes the "
                   "positional a prediction")
    p.add_argument("--split", default="val", help="split of the video (default: val)")
    p.add_argument("--video", required=True, metavar="N",
                   help="video number, e.g. 3 or 0003 (VIPSeg: its name, or the number it starts with)")
    p.add_argument("--out", required=True, metavar="FILE", help="picture to write: .png, .gif or .mp4")
    p.add_argument("--errors", action="store_true",
                   help="ground truth | prediction | error map per annotated frame (needs a prediction)")
    p.add_argument("--labels", action="store_true",
                   help="write 'car 3' (category and track number in the video; a matched prediction "
                   "shows its GT track's number) or the stuff name on each segment large enough")
    p.add_argument("--span", type=int, default=None, metavar="K",
                   help="window span for --errors: Cityscapes-VPS 0, 5, 10 or 15 (default 15: windows of "
                   "4 annotated frames); KITTI-STEP 0-3; VIPSeg 0, 5, 15, 25, 35 (default: the longest)")
    p.add_argument("--frames", type=_frames, default=None, metavar="LIST",
                   help="KITTI-STEP and VIPSeg: the frames to draw, 0-based positions in the video and "
                   "ranges, e.g. 0-5,20 (default: 6 spread over the video for .png, all for .gif/.mp4)")
    add_benchmark(p, "ROOT", "ROOT holds panoptic_maps/{split}/ and images/{split}/, PRED is a folder of "
                  "{seq:04d}/{frame:06d}.png; vipseg (a folder holding panomasksRGB/): PRED holds pred.json "
                  "and pan_pred/")
    p.add_argument("--scale", type=_scale, default=1.0, metavar="S",
                   help="shrink the pictures by S (0 < S <= 1, default 1): ids by nearest neighbour, "
                   "frames by area, before drawing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draw and say where."""
    from ..visualize.showing import show

    pred, root = (args.path, args.root) if args.root is not None else (None, args.path)
    out = show(args.out, root=root, split=args.split, video=args.video, pred=pred, errors=args.errors,
               labels=args.labels, span=args.span, scale=args.scale, benchmark=args.benchmark, frames=args.frames)
    print(f"wrote {out}")
    return 0
