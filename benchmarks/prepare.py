"""Speed of the four preparation stages on full-resolution synthetic data.

Prints, per stage, seconds per labelled frame (the fastest of ``--repeat`` rounds) (train + val annotated frames) for each ``--jobs``,
and the ratio of the one-process time to the floor measured in the same run:

- panoptic: decode every ``cls`` and ``inst`` PNG once + encode every ``labelmap`` and
  ``panoptic_inst`` PNG once (same codec settings as the stage);
- video: decode every ``panoptic_inst`` PNG once + encode every ``panoptic_video`` PNG once;
- fetch, merge (byte copies, no codec involved): read every source file once + write it once.

Usage: ``uv run python benchmarks/prepare.py [--videos 12] [--size 2048x1024] [--jobs 1,2] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from vpskit.naming import LABELLED_SPLITS, SPLITS
from vpskit.pngio import atomic_write_bytes, decode_png, encode_png
from vpskit.preparation import stage_fetch, stage_merge, stage_panoptic, stage_video, unpack_release
from vpskit.preparation.fetch import plan as fetch_plan
from vpskit.preparation.merge import plan as merge_plan
from vpskit.preparation.panoptic import plan as panoptic_plan
from vpskit.preparation.video import plan as video_plan
from vpskit.sources import open_gtfine, open_images
from vpskit.synth import synthesize

STAGES = ("fetch", "merge", "panoptic", "video")


def run_stages(root: Path, dl: Path, jobs: int) -> dict[str, float]:
    """Prepare ``root`` from the folders of ``dl`` as ``vpskit prepare`` does; seconds per stage."""
    if root.exists():
        shutil.rmtree(root)
    images, gtfine = open_images(dl), open_gtfine(dl)
    unpack_release(root, dl, jobs=jobs, progress=False)
    times = {}
    t = time.perf_counter()
    stage_fetch(root, images, SPLITS, jobs=jobs, progress=False)
    times["fetch"] = time.perf_counter() - t
    t = time.perf_counter()
    stage_merge(root, gtfine, LABELLED_SPLITS, jobs=jobs, progress=False)
    times["merge"] = time.perf_counter() - t
    t = time.perf_counter()
    known = stage_panoptic(root, LABELLED_SPLITS, jobs=jobs, progress=False).values
    times["panoptic"] = time.perf_counter() - t
    t = time.perf_counter()
    stage_video(root, LABELLED_SPLITS, jobs=jobs, progress=False, known_values=known)
    times["video"] = time.perf_counter() - t
    return times


def floors(root: Path, dl: Path, scratch: Path) -> dict[str, float]:
    """The codec (or copy) floor of each stage, measured on the outputs of a finished ``root``."""
    out = dict.fromkeys(STAGES, 0.0)
    images, gtfine = open_images(dl), open_gtfine(dl)
    scratch.mkdir(parents=True, exist_ok=True)
    n = 0
    for split in SPLITS:
        for tasks in fetch_plan(root, split).values():
            for task in tasks:
                t = time.perf_counter()
                atomic_write_bytes(scratch / f"{n % 64}.png", images.read(task.src))
                out["fetch"] += time.perf_counter() - t
                n += 1
    for split in LABELLED_SPLITS:
        for tasks in merge_plan(root, split).values():
            for task in tasks:
                t = time.perf_counter()
                atomic_write_bytes(scratch / f"{n % 64}.png", gtfine.read(task.src))
                out["merge"] += time.perf_counter() - t
                n += 1
        base = root / split
        for tasks in panoptic_plan(root, split).values():
            for task in tasks:
                labelmap = decode_png((base / "labelmap" / task.cls_name).read_bytes())
                pan = decode_png((base / "panoptic_inst" / task.cls_name).read_bytes())
                t = time.perf_counter()
                decode_png((base / "cls" / task.cls_name).read_bytes())
                decode_png((base / "inst" / task.inst_name).read_bytes())
                encode_png(labelmap)
                encode_png(pan)
                out["panoptic"] += time.perf_counter() - t
        for tasks in video_plan(root, split).values():
            for task in tasks:
                rgb = decode_png((base / "panoptic_video" / task.pan_name).read_bytes())
                t = time.perf_counter()
                decode_png((base / "panoptic_inst" / task.pan_name).read_bytes())
                encode_png(rgb)
                out["video"] += time.perf_counter() - t
    shutil.rmtree(scratch)
    return out


def labelled_frames(root: Path) -> int:
    """Annotated frames of the labelled splits."""
    return sum(len(t) for s in LABELLED_SPLITS for t in panoptic_plan(root, s).values())


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=12, help="videos (12: 11 labelled, 1 test)")
    ap.add_argument("--size", default="2048x1024")
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time")
    ap.add_argument("--out", default=None, help="work folder (default: a temporary one, removed)")
    ap.add_argument("--repeat", type=int, default=2,
                    help="rounds of (every --jobs run, then the floor); the fastest of each is kept")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.lower().split("x"))
    jobs_list = [int(j) for j in args.jobs.split(",")]
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="vpskit-bench-"))
    dl = work / "download"
    try:
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        t = time.perf_counter()
        if not (dl / "cityscapes_vps").is_dir():
            synthesize(dl, videos=args.videos, size=(w, h), seed=0, jobs=max(jobs_list), progress=False)
        print(f"synthetic download: {args.videos} videos at {w}x{h} ({time.perf_counter() - t:.1f} s)")
        ref = work / f"root-j{jobs_list[0]}"
        times: dict[int, dict[str, float]] = {}
        floor: dict[str, float] = {}
        for _ in range(max(1, args.repeat)):  # interleaved, so that other load hits both alike
            for j in jobs_list:
                got = run_stages(work / f"root-j{j}", dl, j)
                times[j] = {k: min(v, times.get(j, got)[k]) for k, v in got.items()}
            got = floors(ref, dl, work / "scratch")
            floor = {k: min(v, floor.get(k, v)) for k, v in got.items()}
        n = labelled_frames(ref)
        print(f"labelled frames: {n} (train + val); seconds per labelled frame:")
        head = f"{'stage':<9}" + "".join(f" {'jobs=' + str(j):>9}" for j in jobs_list)
        head += f" {'floor':>9} {'ratio':>6}"
        if len(jobs_list) > 1:
            head += f" {'speed-up':>9}"
        print(head)
        print("-" * len(head))
        first = jobs_list[0]
        for stage in STAGES:
            row = f"{stage:<9}" + "".join(f" {times[j][stage] / n:>9.4f}" for j in jobs_list)
            row += f" {floor[stage] / n:>9.4f} {times[first][stage] / floor[stage]:>6.2f}"
            if len(jobs_list) > 1:
                row += f" {times[first][stage] / times[jobs_list[-1]][stage]:>9.2f}"
            print(row)
        total = {j: sum(times[j].values()) for j in jobs_list}
        row = f"{'all':<9}" + "".join(f" {total[j] / n:>9.4f}" for j in jobs_list)
        row += f" {sum(floor.values()) / n:>9.4f} {total[first] / sum(floor.values()):>6.2f}"
        if len(jobs_list) > 1:
            row += f" {total[first] / total[jobs_list[-1]]:>9.2f}"
        print(row)
        print(f"ratio = jobs={first} time / floor (floor: decode every input + encode every output "
              "once; fetch, merge: read + write every file once)")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.out:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
