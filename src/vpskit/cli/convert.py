"""`vpskit convert` and `vpskit export`: outside formats of video panoptic maps, in and out."""

from __future__ import annotations

import argparse

from ..choices import EXPORT_FORMATS as EXPORT_NAMES
from ..choices import FORMATS
from ..profiles import available_benchmarks
from .options import add_jobs_and_progress

_FORMATS_HELP = (
    "cat-ins: two single-channel PNGs per frame, *_cat.png (category) and *_ins.png (instance), "
    "8- or 16-bit; 2ch: one 8-bit PNG, category in channel 0, instance in channel 1 "
    "(--instance-channel); divisor: one map of category*D + instance (--divisor D, default 1000) "
    "as a 16-bit gray PNG, a 24/32-bit RGB(A) PNG packing R + 256*G + 65536*B (+ 2**24*A), or "
    ".npy; kitti-step: one 8-bit RGB PNG, R = category, G*256 + B = instance; coco-panoptic: a COCO "
    "panoptic PNG per frame (id = R + 256*G + 65536*B) and one JSON with their segments_info (the "
    "PNG of an annotation's file_name beside the JSON, or in the folder named like it, as COCO lays "
    "them out; SRC holds exactly one JSON), ids "
    "free to change from frame to frame: a 'track_id' (or 'instance_id') key links segments across "
    "frames, a thing segment without one is an object of its frame only, iscrowd 1 is no object."
)
_BENCHMARKS_HELP = (
    "Other benchmarks (--benchmark): vipseg writes what 'vpskit eval --benchmark vipseg', DVIS and "
    "the VIPSeg scripts read, OUT/pan_pred/{video}/{frame}.png and OUT/pred.json ({\"annotations\": "
    "[{\"video_id\", \"annotations\": [{\"image_id\", \"file_name\", \"segments_info\"}, …]}]}, "
    "frames in the ground truth's order) for every frame of ROOT/panoptic_gt_VIPSeg_SPLIT.json; "
    "categories are VIPSeg's 0 … 123 (its 58 things carry objects); a source file names its "
    "frame by its folder (the video, e.g. 1622_4dOzamcDxJO) and its name without the format's "
    "ending (the frame, e.g. 00000026), as in SRC/1622_4dOzamcDxJO/00000026_cat.png. kitti-step "
    "writes OUT/{seq:04d}/{frame:06d}.png as deeplab2 does (8-bit RGB, R = category, G*256 + B = "
    "instance) for every frame of ROOT/panoptic_maps/SPLIT/, read back by 'vpskit eval --benchmark "
    "kitti-step'; only person and car carry objects (the instance of other categories is "
    "ignored); an object's instance is its k above (1, 2, … per category in order of appearance), "
    "crowd regions, stuff and void get instance 0, void R = 255; a source file names its frame "
    "by its folder (the sequence, 0002 or 2) and its name (the frame number, 000013 or 13), as "
    "in SRC/0002/000013.png. For both, files of other videos or frames are skipped and counted, "
    "and coco-panoptic annotations name their frame by a file_name such as {video}/{frame}.png "
    "(or an image_id of that form, or a video_id key beside a bare file_name)."
)
_VALUES_HELP = (
    "Values: --categories gives the numbering of the category values, void values (--void) are "
    "unlabelled pixels. A stuff pixel's instance is ignored. A thing pixel of instance 0 belongs "
    "to no object (a crowd region) with --thing-zero crowd, the default, as KITTI-STEP, deeplab2 "
    "and Cityscapes-DVPS write it; with --thing-zero object it is an object like any other. A "
    "non-zero --no-instance value on a thing pixel is a crowd region too. An object is a "
    "(category, instance) pair, the same in every frame of its video."
)


def _value_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one value")
    return values


def _add_value_options(p: argparse.ArgumentParser, benchmarks: bool = False) -> None:
    other = (" With --benchmark vipseg the values are VIPSeg's category ids 0 … 123 ('id', the "
             "default there; 'trainid' and 'labelid' are for the Cityscapes categories of "
             "cityscapes-vps and kitti-step), and a mapping file maps to them.") if benchmarks else ""
    p.add_argument("--categories", default=None if benchmarks else "trainid", metavar="trainid|labelid|id|FILE",
                   help="numbering of the category values: 'trainid' (default: the 19 Cityscapes "
                   "train ids 0 … 18, which are the Cityscapes-VPS ids), 'labelid' (Cityscapes label "
                   "ids 7 … 33; labels that are no Cityscapes-VPS category are void), or a JSON file "
                   "mapping each value to a category id or null (void), e.g. {\"7\": 0, \"26\": 13, \"0\": null}."
                   + other)
    p.add_argument("--void", type=_value_list, default=(255,), metavar="V[,V…]",
                   help="category values of void pixels (default: 255; export writes the first)")
    p.add_argument("--no-instance", type=int, default=0, metavar="V",
                   help="instance value of pixels that belong to no object: stuff, and a thing's "
                   "crowd regions (default: 0)")
    p.add_argument("--thing-zero", choices=("crowd", "object"), default="crowd",
                   help="instance 0 of a thing category: 'crowd' (default: no object, a crowd "
                   "region) or 'object' (an object like any other)")
    p.add_argument("--instance-channel", type=int, default=1, metavar="C",
                   help="2ch: channel of the instance id, 1 … 3 (default: 1; the category is channel 0)")
    p.add_argument("--divisor", type=int, default=1000, metavar="D",
                   help="divisor: value = category*D + instance (default: 1000)")


def _value_kwargs(args: argparse.Namespace) -> dict:
    return {"categories": args.categories, "void": args.void, "no_instance": args.no_instance,
            "thing_zero": args.thing_zero, "instance_channel": args.instance_channel,
            "divisor": args.divisor, "jobs": args.jobs, "progress": args.progress}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``convert`` and ``export`` parsers."""
    p = sub.add_parser(
        "convert",
        help="turn a model's output in another format into a prediction vpskit eval scores",
        description="Convert a model's output (SRC: a folder or a zip) into the prediction format "
        "of 'vpskit eval': for Cityscapes-VPS (the default; VIPSeg and KITTI-STEP at the end) "
        "OUT/pred.json and OUT/pan_pred/{image_id}.png for every annotated frame "
        "of --split (the frames listed in ROOT/panoptic_im_SPLIT_city_vps.json). "
        f"Formats (--from): {_FORMATS_HELP} "
        "Frames: a file names its frame by its name without the format's ending, tried in this "
        "order: it starts with an image id ({video:04d}_{index:04d}_{city}_{seq:06d}_{frame:06d}); "
        "it starts with the raw Cityscapes name {city}_{seq:06d}_{frame:06d}; or it sits in a folder "
        "named by the video number (0001 or 1) and starts with the frame's 0-based position in the "
        "video's 30-frame snippet (0 … 29; the annotated frames are 4, 9, 14, 19, 24, 29), e.g. "
        "0001/000019.png. Any of these may be followed by _, . or - and more. Files of frames that "
        "are not annotated frames of the split are skipped and counted; hidden files and other "
        "endings are ignored. "
        f"{_VALUES_HELP} "
        "Segment ids: a stuff category c, and the no-object pixels of a thing category c, get "
        "id c+1; the k-th object of category c to appear in a video (k = 1, 2, …, within a frame "
        "by increasing instance) gets c+1+256*k in every frame of that video, so the red channel "
        "is always the category + 1. The same input gives the same bytes whatever --jobs. "
        "Missing frames, two files for one frame, an unknown category value, more objects than "
        "segment ids can number, a size that is not the frame's: one line naming the file, exit "
        "2, and OUT left as it was (pred.json is written last). "
        f"{_BENCHMARKS_HELP}",
    )
    p.add_argument("src", metavar="SRC", help="the model's output: a folder or a zip")
    p.add_argument("out", metavar="OUT", help="prediction folder to write (pred.json, pan_pred/; "
                   "kitti-step: {seq}/{frame}.png)")
    p.add_argument("--from", dest="from_format", required=True, choices=FORMATS, metavar="FORMAT",
                   help=f"format of SRC: {', '.join(FORMATS)}")
    p.add_argument("--root", required=True,
                   help="Cityscapes-VPS folder holding panoptic_im_SPLIT_city_vps.json (prepared or the "
                   "release); with --benchmark vipseg the prepared VIPSeg_720P folder (its "
                   "panoptic_gt_VIPSeg_SPLIT.json lists the frames); with --benchmark kitti-step the "
                   "KITTI-STEP folder (or zip) holding panoptic_maps/SPLIT/")
    p.add_argument("--split", default="val", help="split the output is for (default: val)")
    p.add_argument("--benchmark", choices=available_benchmarks(), default=None,
                   help="the benchmark whose prediction format to write (default: found from --root: "
                   "a folder holding panomasksRGB/ is vipseg, one holding panoptic_maps/ (or a zip holding "
                   "it at any depth) kitti-step, else cityscapes-vps); see the end of the description")
    _add_value_options(p, benchmarks=True)
    add_jobs_and_progress(p)
    p.set_defaults(func=run_convert)

    e = sub.add_parser(
        "export",
        help="write the ground truth of a prepared split in another format",
        description="Write the ground truth of a prepared split (panoptic_gt_SPLIT_city_vps.json "
        "and SPLIT/panoptic_video/, in ROOT, a folder or a zip) in an outside format, the reverse "
        "of 'vpskit convert': convert with the same options reads it back into the same segments. "
        f"Formats (--to): {_FORMATS_HELP} "
        "Files: {image_id}_cat.png + {image_id}_ins.png (cat-ins: categories 8-bit, instances "
        "16-bit), {image_id}.png (2ch: RGB; divisor: 16-bit gray, or RGBA when a value needs more "
        "bits; kitti-step: RGB), and for coco-panoptic panoptic_SPLIT.json with "
        "panoptic_SPLIT/{image_id}.png (the ground truth's segment ids, a track_id on every "
        "object's record, bbox and area; for image-level training). "
        "Objects are numbered per video from 1 in the order they appear, skipping the values that "
        "mean no object; stuff gets the --no-instance value; crowd regions are --no-instance of "
        "their thing category; void pixels the first --void value. "
        f"{_VALUES_HELP} "
        "coco-instances: OUT/instances_SPLIT_city_vps_rle.json, the COCO instance annotations "
        "the release ships, made again from SPLIT/cls and SPLIT/inst: one annotation per thing "
        "object of each frame (an instance value whose majority colour is a thing colour), its "
        "mask as a pycocotools RLE, inst_id its instance value (the same in every frame of its "
        "video: the track id), category_id its Cityscapes-VPS category; the value options do "
        "not apply. 'vpskit verify' compares the release's file with it.",
    )
    e.add_argument("root", metavar="ROOT", help="prepared cityscapes_vps folder, or a zip of it")
    e.add_argument("--split", default="val", help="split to export (train or val; default: val)")
    e.add_argument("--to", dest="to_format", required=True, choices=EXPORT_NAMES, metavar="FORMAT",
                   help=f"format to write: {', '.join(EXPORT_NAMES)}")
    e.add_argument("out", metavar="OUT", help="folder to write the files into")
    _add_value_options(e)
    add_jobs_and_progress(e)
    e.set_defaults(func=run_export)


def run_convert(args: argparse.Namespace) -> int:
    """Convert and print what was written."""
    from ..conversion import convert
    from ..text import plural

    s = convert(args.src, args.out, from_format=args.from_format, root=args.root, split=args.split,
                benchmark=args.benchmark, **_value_kwargs(args))
    skipped = (f"; skipped {plural(s.skipped, 'frame')} that {'is' if s.skipped == 1 else 'are'} not "
               f"annotated in {args.split}") if s.skipped else ""
    print(f"{s.out}: {plural(s.frames, 'frame')} of {plural(s.videos, 'video')}, "
          f"{plural(s.segments, 'segment')}, {plural(s.objects, 'object')}{skipped}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export and print what was written."""
    from ..exporting import export
    from ..text import plural

    s = export(args.root, args.out, split=args.split, to_format=args.to_format, **_value_kwargs(args))
    print(f"{s.out}: {plural(s.files, 'file')} in {args.to_format} for {plural(s.frames, 'frame')} "
          f"of {plural(s.videos, 'video')}, {plural(s.objects, 'object')}")
    return 0
