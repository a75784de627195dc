"""``vpskit synth``: write a synthetic Cityscapes-VPS download (or KITTI-STEP dataset, or VIPSeg download)."""

from __future__ import annotations

import argparse
import re

from ..profiles import available_benchmarks
from .options import add_jobs_and_progress

DESCRIPTION = """\
Write a synthetic Cityscapes-VPS download into OUT, in the exact formats of the three real inputs:

  OUT/leftImg8bit_sequence/val/{city}/{city}_{seq}_{frame}_leftImg8bit.png
      30 consecutive 8-bit RGB frames per video
  OUT/gtFine/val/{city}/{city}_{seq}_{frame}_gtFine_{color,labelIds,instanceIds}.png, _polygons.json
      fine labels of the 20th frame of each video (RGBA colours, 8-bit label ids,
      16-bit instance ids)
  OUT/cityscapes_vps/
      panoptic_im_{train,val,test}_city_vps.json, im_all_info_{val,test}_city_vps.json,
      instances_{train,val}_city_vps_rle.json, and {train,val}/cls, {train,val}/inst for the
      five other annotated frames (5th, 10th, 15th, 25th, 30th) of each video

With --zip the same content is written as OUT/leftImg8bit_sequence_trainvaltest.zip,
OUT/gtFine_trainvaltest.zip and OUT/cityscapes-vps-dataset-1.0.zip instead of folders.

Videos are numbered 1…N and split 8:1:1 into train/val/test like the real benchmark's
400/50/50 (val and test get N/10 rounded, at least one each for N >= 3; train the rest),
interleaved over the numbers; --splits TRAIN,VAL,TEST states the counts instead. Cities are
frankfurt, lindau and munster. Scenes hold stuff and void regions of every kind, crowd regions,
moving objects with persistent instance ids (entering, leaving, occluding each other), caravans
and trailers, and in the VPS-annotated frames an object with two thing colours and one whose
majority colour is void. The same arguments give byte-identical files, whatever --jobs.
Running again into the same OUT replaces the earlier output; an OUT that already holds such
folders or zips not written by this command is refused."""


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT (e.g. 2048x1024), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _splits(text: str) -> dict[str, int]:
    m = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected TRAIN,VAL,TEST video counts (e.g. 8,2,2), got {text!r}")
    return dict(zip(("train", "val", "test"), (int(g) for g in m.groups()), strict=True))


def _run(args: argparse.Namespace) -> int:
    from ..errors import VpsError

    if args.benchmark == "kitti-step":
        return _run_kitti_step(args)
    if args.benchmark == "vipseg":
        return _run_vipseg(args)
    if args.benchmark != "cityscapes-vps":
        raise VpsError("--benchmark", f"synth cannot write {args.benchmark} yet")
    if args.frames is not None:
        raise VpsError("--frames", "only for --benchmark kitti-step (a Cityscapes-VPS video has 30 frames)")
    from ..synth import synthesize

    videos = args.videos
    if args.splits is not None:
        total = sum(args.splits.values())
        if videos is not None and videos != total:
            raise VpsError("--splits", f"{total} videos in all, but --videos says {videos}")
        videos = total
    result = synthesize(args.out, videos=6 if videos is None else videos, size=args.size or (2048, 1024),
                        seed=args.seed, as_zip=args.zip, jobs=args.jobs, progress=args.progress,
                        splits=args.splits)
    print(result.summary())
    return 0


def _run_kitti_step(args: argparse.Namespace) -> int:
    from ..errors import VpsError
    from ..synth.kitti import DEFAULT_SIZE, synthesize_kitti_step

    if args.videos is not None:
        raise VpsError("--videos", "KITTI-STEP sequences are counted per split: give --splits TRAIN,VAL,TEST")
    if args.zip:
        raise VpsError("--zip", "KITTI-STEP is written as folders only (images/, panoptic_maps/)")
    result = synthesize_kitti_step(args.out, splits=args.splits, frames=8 if args.frames is None else args.frames,
                                   size=args.size or DEFAULT_SIZE, seed=args.seed, jobs=args.jobs,
                                   progress=args.progress)
    print(result.summary())
    return 0


def _run_vipseg(args: argparse.Namespace) -> int:
    from ..errors import VpsError
    from ..synth.vipseg import SIZES, synthesize_vipseg

    if args.zip:
        raise VpsError("--zip", "VIPSeg is written as a folder (imgs/, panomasks/, split lists)")
    if args.size is not None:
        raise VpsError("--size", "VIPSeg frames come in several sizes, as the real ones do: "
                       + ", ".join(f"{w}x{h}" for w, h in SIZES))
    if args.videos is not None and args.splits is not None:
        raise VpsError("--splits", "give --videos or --splits, not both")
    splits = args.splits or {"train": 4, "val": 2, "test": 1}
    if args.videos is not None:
        splits = {"train": args.videos - max(1, args.videos // 3), "val": max(1, args.videos // 3), "test": 1}
    with_masks = splits["train"] + splits["val"]
    frames = 9 if args.frames is None else args.frames
    synthesize_vipseg(args.out, videos=with_masks, frames=frames, test_videos=splits["test"], seed=args.seed,
                      val=splits["val"])
    print(f"wrote a synthetic VIPSeg download into {args.out}: videos train {splits['train']}, val {splits['val']}, "
          f"test {splits['test']}; {frames} frames each, masks for train and val")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``synth`` parser."""
    p = sub.add_parser("synth", help="write a synthetic Cityscapes-VPS download (folders or zips)",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", metavar="OUT", help="output folder (created if missing)")
    p.add_argument("--videos", type=int, default=None, metavar="N",
                   help="number of videos, 1…1666 (default 6; the real benchmark has 500)")
    p.add_argument("--splits", type=_splits, default=None, metavar="TRAIN,VAL,TEST",
                   help="videos of each split, e.g. 8,2,2 (default: 8:1:1 of --videos; kitti-step: "
                   "sequences, default 2,2,1)")
    p.add_argument("--size", type=_size, default=None, metavar="WxH",
                   help="frame size (default 2048x1024, the Cityscapes size; KITTI-STEP 1242x375)")
    p.add_argument("--benchmark", choices=available_benchmarks(), default="cityscapes-vps",
                   help="which benchmark's download to write (default cityscapes-vps); kitti-step writes "
                   "OUT/images/{split}/{seq:04d}/{frame:06d}.png and OUT/panoptic_maps/{train,val}/… "
                   "(R = category, G*256 + B = instance), sequences per split from --splits (default 2,2,1); "
                   "vipseg writes OUT/imgs/{video}/{frame}.jpg, OUT/panomasks/{video}/{frame}.png (16-bit: 0 void, "
                   "category + 1 for stuff, (category + 1) * 100 + instance for things), OUT/{train,val,test}.txt, "
                   "OUT/label_num_dic_final.json, "
                   "videos per split from --splits (default 4,2,1; --videos N: a third of N in val, one test video)")
    p.add_argument("--frames", type=int, default=None, metavar="F",
                   help="kitti-step: frames of the shortest sequence (default 8; sequence i has F + i %% 3); "
                   "vipseg: frames per video (default 9)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--zip", action="store_true",
                   help="write the three downloads as zips instead of folders")
    add_jobs_and_progress(p)
    p.set_defaults(func=_run)
