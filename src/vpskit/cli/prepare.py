"""`vpskit prepare`, the four stage commands (`fetch`, `merge`, `panoptic`, `video`) and `vpskit verify`."""

from __future__ import annotations

import argparse
import sys

from ..naming import SPLITS
from .options import add_benchmark, add_jobs_and_progress


def _jobs(parser: argparse.ArgumentParser) -> None:
    add_jobs_and_progress(parser)


def _root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", metavar="ROOT", help="the Cityscapes-VPS folder (cityscapes_vps/)")


def _split(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument("--split", required=True, choices=choices, help="the split to process")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the parsers of ``prepare``, ``fetch``, ``merge``, ``panoptic``, ``video`` and ``verify``."""
    p = sub.add_parser(
        "prepare", help="build Cityscapes-VPS from the downloads (all four stages)",
        description="Build Cityscapes-VPS in ROOT from the Cityscapes downloads (each a folder or a "
        "zip, read without extracting): fetch the frames, merge the gtFine labels, make the "
        "panoptic labels and the video panoptic labels. Complete outputs are skipped, so an "
        "interrupted run is finished by running it again; files that differ from a corrected "
        "input are replaced and what was made from them is made again. One run at a time: "
        "ROOT is locked (ROOT/.vpskit.lock) and a second run on it stops at once.")
    _root(p)
    p.add_argument("images", metavar="IMAGES", help="leftImg8bit_sequence folder or zip (with --benchmark "
                   "vipseg: the VIPSeg download, a folder or zip holding imgs/, panomasks/ and the split lists)")
    p.add_argument("gtfine", metavar="GTFINE", nargs="?", default=None,
                   help="gtFine folder or zip (Cityscapes-VPS only)")
    p.add_argument("--benchmark", choices=("cityscapes-vps", "vipseg"), default="cityscapes-vps",
                   help="which benchmark to build (default cityscapes-vps); vipseg: ROOT becomes the "
                   "VIPSeg_720P folder the VIPSeg scripts make (720p images and masks, panomasksRGB/, "
                   "panoptic_gt_VIPSeg*.json), one job per video, resumable")
    p.add_argument("--release", metavar="ZIP", default=None,
                   help="cityscapes-vps-dataset-1.0.zip (or its folder): unpack its JSON files and "
                   "label folders into ROOT first")
    p.add_argument("--splits", default=",".join(SPLITS), metavar="LIST",
                   help="comma-separated splits (default: train,val,test)")
    p.add_argument("--link", choices=("copy", "hardlink", "symlink"), default="copy",
                   help="how frames are placed in img/ and img_all/ (default: copy; zips are always copied)")
    _jobs(p)
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("fetch", help="stage 1: frames into SPLIT/img and SPLIT/img_all",
                       description="Copy (or link) the annotated frames of a split into SPLIT/img/ "
                       "and, for val and test, all frames into SPLIT/img_all/.")
    _root(p)
    p.add_argument("images", metavar="IMAGES", help="leftImg8bit_sequence folder or zip")
    _split(p, SPLITS)
    p.add_argument("--link", choices=("copy", "hardlink", "symlink"), default="copy",
                   help="how frames are placed (default: copy)")
    _jobs(p)
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("merge", help="stage 2: gtFine labels of the 20th frames into SPLIT/cls, SPLIT/inst",
                       description="Copy the gtFine colour and instance labels of every 20th frame "
                       "into SPLIT/cls/ and SPLIT/inst/.")
    _root(p)
    p.add_argument("gtfine", metavar="GTFINE", help="gtFine folder or zip")
    _split(p, SPLITS)
    _jobs(p)
    p.set_defaults(func=_cmd_merge)

    p = sub.add_parser("panoptic", help="stage 3: SPLIT/labelmap and SPLIT/panoptic_inst",
                       description="Make the semantic label maps and the panoptic labels of every "
                       "annotated frame from its cls/inst pair.")
    _root(p)
    _split(p, SPLITS)
    _jobs(p)
    p.set_defaults(func=_cmd_panoptic)

    p = sub.add_parser("video", help="stage 4: SPLIT/panoptic_video and panoptic_gt_SPLIT_city_vps.json",
                       description="Colour the panoptic labels with one id per track (unique within "
                       "the split) and write the ground-truth JSON.")
    _root(p)
    _split(p, SPLITS)
    _jobs(p)
    p.set_defaults(func=_cmd_video)

    p = sub.add_parser("verify", help="check a prepared Cityscapes-VPS folder (or a KITTI-STEP folder or zip, or a "
                       "VIPSeg folder)",
                       description="Check file counts, JSON file names, image sizes, panoptic_video "
                       "against its JSON, and unique thing colours, and the release's "
                       "instances_SPLIT_city_vps_rle.json (when present) against the objects of the "
                       "cls/inst labels, by image and object; print a summary table. Exits 1 "
                       "and lists the problems when something is wrong. Refuses (exit 2) while a "
                       "run is preparing ROOT, and keeps runs from starting while it reads.")
    _root(p)
    p.add_argument("--splits", default=",".join(SPLITS), metavar="LIST",
                   help="comma-separated splits (default: train,val,test)")
    add_benchmark(p, "ROOT", "checks images/{split}/{seq:04d}/{frame:06d}.png and panoptic_maps/{train,val}/…: "
                  "frames numbered without gaps, a map for every image and the same size, 8-bit RGB maps "
                  "with categories 0-18 or 255 and instance ids only on person (11) and car (13); ROOT may be a zip "
                  "of the KITTI-STEP folder (images/ and panoptic_maps/ at any depth in it), each problem then "
                  "naming zip:member. "
                  "vipseg (a VIPSeg_720P folder, found from its panomasksRGB/): split lists against the "
                  "folders, images/, panomasks/ and panomasksRGB/ frame by frame (720 high, same sizes), the "
                  "GT JSON files (well-formed, VIPSeg's 124 categories) against the segment maps (ids, areas, "
                  "categories, colours), raw mask values valid and one segment id per raw value in a video")
    p.add_argument("--download", metavar="DIR|ZIP", default=None,
                   help="vipseg only: the VIPSeg download (folder or zip with imgs/, panomasks/, split lists) "
                   "to compare with: frames and masks counted per video, each width int(720 * w / h) of the "
                   "source frame, and the split lists when ROOT has none")
    _jobs(p)
    p.set_defaults(func=_cmd_verify)


def _print_report(report) -> None:
    from ..text import plural

    print(f"{report.stage} {report.split}: {plural(report.frames, 'file')} in {plural(report.videos, 'video')}, "
          f"{report.written} written, {plural(report.skipped, 'video')} already complete ({report.seconds:.1f} s)")


def _cmd_prepare(args: argparse.Namespace) -> int:
    from ..errors import VpsError
    from ..preparation import prepare

    if args.benchmark == "vipseg":
        from ..preparation.vipseg_run import prepare_vipseg

        if args.gtfine is not None or args.release is not None:
            raise VpsError("--benchmark vipseg", "takes ROOT and the VIPSeg download only (no GTFINE, no --release)")
        print(prepare_vipseg(args.images, args.root, jobs=args.jobs, progress=args.progress).text())
        return 0
    if args.gtfine is None:
        raise VpsError("GTFINE", "missing: Cityscapes-VPS is built from IMAGES and GTFINE (the gtFine folder or zip)")
    summary = prepare(args.root, args.images, args.gtfine, release=args.release, splits=args.splits,
                      jobs=args.jobs, link=args.link, progress=args.progress)
    print(summary.table())
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from ..preparation import stage_fetch

    _print_report(stage_fetch(args.root, args.images, args.split, jobs=args.jobs, link=args.link,
                        progress=args.progress))
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from ..preparation import stage_merge

    _print_report(stage_merge(args.root, args.gtfine, args.split, jobs=args.jobs, progress=args.progress))
    return 0


def _cmd_panoptic(args: argparse.Namespace) -> int:
    from ..preparation import stage_panoptic

    _print_report(stage_panoptic(args.root, args.split, jobs=args.jobs, progress=args.progress))
    return 0


def _cmd_video(args: argparse.Namespace) -> int:
    from ..preparation import stage_video

    _print_report(stage_video(args.root, args.split, jobs=args.jobs, progress=args.progress))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from ..verification import MAX_LISTED, verify

    report = verify(args.root, splits=args.splits, jobs=args.jobs, progress=args.progress,
                    benchmark=args.benchmark, download=args.download)
    print(report.table)
    if report.ok:
        print("verify: OK")
        return 0
    print(f"verify: {len(report.problems)} problem(s):", file=sys.stderr)
    for problem in report.problems[:MAX_LISTED]:
        print(f"  {problem}", file=sys.stderr)
    if len(report.problems) > MAX_LISTED:
        print(f"  … and {len(report.problems) - MAX_LISTED} more", file=sys.stderr)
    return 1
